"""Several writers on one store (issue 8): they take turns on this machine, one that cannot
get the store in time says so, runs own their chunks on a server written from several
machines, and a release whose chunks went missing is repaired by the next ingest.

The end-to-end stress (3 ingests at once, a reader, SIGKILL) is `bench/stress.py`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.pipeline import Ingestor
from qa_bot.retrieval import Retriever
from qa_bot.store import ChromaStore
from qa_bot.store.index import SearchIndex
from tests.conftest import EXAMPLES, run_qa_bot
from tests.fakes import FakeEmbedder
from tests.helpers import chunked, chunker, release

TEXT = (
    "KABUL, Afghanistan (July 14, 2010) - Coalition forces met elders in Kunduz province.\n"
    "The elders asked for a new school and a clinic in the district."
)


class Holder:
    """Another process holding the store's write lock until told to let go."""

    def __init__(self, lock: Path, tmp: Path) -> None:
        self.release = tmp / f"let-go-{uuid.uuid4().hex[:6]}"
        held = tmp / f"held-{uuid.uuid4().hex[:6]}"
        script = textwrap.dedent(
            f"""
            import pathlib, time
            from filelock import FileLock
            lock = FileLock({str(lock)!r})
            lock.acquire()
            pathlib.Path({str(held)!r}).touch()
            while not pathlib.Path({str(self.release)!r}).exists():
                time.sleep(0.05)
            lock.release()
            """
        )
        lock.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen([sys.executable, "-c", script])
        deadline = time.monotonic() + 30
        while not held.exists():
            assert self.proc.poll() is None and time.monotonic() < deadline, "holder failed"
            time.sleep(0.05)

    def let_go(self) -> None:
        self.release.touch()
        self.proc.wait(timeout=30)


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[type[Holder]]:
    made: list[Holder] = []

    def make(lock: Path, tmp: Path = tmp_path) -> Holder:
        h = Holder(lock, tmp)
        made.append(h)
        return h

    yield make  # type: ignore[misc]
    for h in made:
        if h.proc.poll() is None:
            h.let_go()


def _ingestor(store: ChromaStore, embedder: FakeEmbedder, index: Path, tmp: Path) -> Ingestor:
    return Ingestor(
        store=store,
        embedder=embedder,
        chunker=chunker(tmp),
        index=SearchIndex(directory=index, wait=60),
    )


# ---------------------------------------------------------------------- taking turns
def test_a_writer_waits_for_the_one_writing_then_runs(
    tmp_path: Path, fake_embedder: FakeEmbedder, holder
) -> None:  # type: ignore[no-untyped-def]
    store = ChromaStore(embedder=fake_embedder, collection="releases", path=tmp_path / "store")
    index = tmp_path / "store" / "index"
    busy = holder(index / "write.lock")
    reports = []
    worker = threading.Thread(
        target=lambda: reports.append(
            _ingestor(store, fake_embedder, index, tmp_path).run([EXAMPLES])
        )
    )
    worker.start()
    time.sleep(1.5)
    assert worker.is_alive() and not reports  # waiting for its turn
    assert store.count_releases() == 0  # nothing written meanwhile
    busy.let_go()
    worker.join(timeout=120)
    assert reports and reports[0].added == store.count_releases() > 0


def test_a_writer_that_cannot_get_the_store_in_time_says_so(tmp_path: Path, holder) -> None:  # type: ignore[no-untyped-def]
    store = tmp_path / "store"
    busy = holder(store / "index" / "releases" / "write.lock")
    done = run_qa_bot(
        "ingest", str(EXAMPLES), "--store", str(store), env={"QA_BOT_WRITE_WAIT": "1"}
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "QA_BOT_WRITE_WAIT" in done.stderr and "writing this store" in done.stderr
    busy.let_go()
    again = run_qa_bot("ingest", str(EXAMPLES), "--store", str(store))
    assert again.returncode == 0, again.stderr
    assert "41 added" in again.stdout


def test_a_reader_does_not_wait_for_a_writer(
    tmp_path: Path, fake_embedder: FakeEmbedder, holder
) -> None:  # type: ignore[no-untyped-def]
    """A fresh reader while a writer holds the store (and the index of the store's new
    generation is not written yet) answers from the index the last writer left."""
    store = ChromaStore(embedder=fake_embedder, collection="releases", path=tmp_path / "store")
    index = tmp_path / "store" / "index"
    _ingestor(store, fake_embedder, index, tmp_path).run([EXAMPLES])
    item = chunked(tmp_path, release(TEXT, release_id="kunduz"), "v1")
    busy = holder(index / "write.lock")
    store.write([item], fake_embedder.embed([c.text for c in item[2]]))  # as that writer would
    reader = Retriever(store=store, embedder=fake_embedder, index=SearchIndex(directory=index))
    found = reader.search("Ariana hotel Kunduz", k=3)
    assert found.passages and busy.proc.poll() is None  # answered while the writer holds on
    busy.let_go()


# ---------------------------------------------------------------------- runs own chunks
def _in_flight(store: ChromaStore, embedder: FakeEmbedder, item) -> None:  # type: ignore[no-untyped-def]
    """The first step of a write by ``store``'s run (its chunks), alone, as a writer on
    another machine is seen between its two steps."""
    from qa_bot.store.chroma import chunk_meta

    rel, _, chunks = item
    store._heartbeat()
    store._cols()[0].upsert(
        ids=[c.chunk_id for c in chunks],
        embeddings=embedder.embed([c.text for c in chunks]),
        documents=[c.text for c in chunks],
        metadatas=[chunk_meta(c, rel, store.run_id) for c in chunks],
    )


def test_a_sweep_spares_the_chunks_of_a_run_at_work(
    make_store, fake_embedder: FakeEmbedder, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    here, there = make_store(fake_embedder), make_store(fake_embedder)
    item = chunked(tmp_path, release(TEXT, release_id="r1"), "v1")
    with there.writer():
        _in_flight(there, fake_embedder, item)
        assert here.sweep() == 0  # another run's chunks, not yet registered
        assert here.count_chunks() == len(item[2])
    assert here.sweep() == len(item[2])  # that run is over: they are left-overs
    assert here.count_chunks() == 0


def test_a_killed_run_on_this_machine_is_swept_at_once(
    make_store, fake_embedder: FakeEmbedder, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    here, killed = make_store(fake_embedder), make_store(fake_embedder)
    item = chunked(tmp_path, release(TEXT, release_id="r1"), "v1")
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    with killed.writer():
        _in_flight(killed, fake_embedder, item)
        # its record now names a process of this host that no longer exists
        killed._runs_col().upsert(
            ids=[killed.run_id],
            embeddings=[[1.0]],
            metadatas=[{"host": os.uname().nodename, "pid": int(gone.stdout), "beat": time.time()}],
        )
        assert here.sweep() == len(item[2])


def test_a_write_deletes_only_the_version_it_replaced(
    make_store, fake_embedder: FakeEmbedder, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """Two machines replace the same release at once: neither deletes the other's new
    chunks, and the release the registry ends with has all of its chunks."""
    a, b = make_store(fake_embedder), make_store(fake_embedder)
    v1 = chunked(tmp_path, release(TEXT, release_id="r1"), "v1")
    v2 = chunked(tmp_path, release(TEXT + "\nThe school opens in May.", release_id="r1"), "v2")
    v3 = chunked(tmp_path, release(TEXT + "\nThe clinic opens in June.", release_id="r1"), "v3")
    a.write([v1], fake_embedder.embed([c.text for c in v1[2]]))
    with b.writer():
        _in_flight(b, fake_embedder, v2)  # b is between its two steps...
        a.write([v3], fake_embedder.embed([c.text for c in v3[2]]))  # ...while a replaces v1
        b.write([v2], fake_embedder.embed([c.text for c in v2[2]]))  # b finishes
    info = a.release_index()["r1"]
    assert info.version == "v2"
    chunks = [m for m, _ in a.all_chunks() if m["version"] == "v2"]
    assert len(chunks) == info.chunks == len(v2[2])
    assert a.count_chunks() == len(v2[2])  # v1 went with a's write, v3 with b's
    assert a.sweep() == 0


# ---------------------------------------------------------------------- repair
def test_reingest_repairs_a_release_whose_chunks_were_deleted(
    make_store, fake_embedder: FakeEmbedder, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    store = make_store(fake_embedder)
    index = tmp_path / "index"
    data = tmp_path / "data"
    shutil.copytree(EXAMPLES, data)
    ingestor = _ingestor(store, fake_embedder, index, tmp_path)
    first = ingestor.run([data])
    total = store.count_chunks()
    registry = store.release_index()
    whole, part = sorted(registry)[:2]
    chunks_col = store._cols()[0]
    chunks_col.delete(where={"release_id": whole})  # behind the registry's back
    some = chunks_col.get(where={"release_id": part}, include=[])["ids"]
    chunks_col.delete(ids=some[: max(1, len(some) // 2)])

    again = ingestor.run([data])
    assert again.repaired == 2
    assert again.unchanged == first.added - 2 and again.added == again.updated == 0
    assert store.count_chunks() == total
    for rid in (whole, part):
        got = chunks_col.get(where={"release_id": rid}, include=[])["ids"]
        assert len(got) == registry[rid].chunks
    reader = Retriever(store=store, embedder=fake_embedder, index=SearchIndex(directory=index))
    title = registry[whole].title
    assert whole in {p.release_id for p in reader.search(title, k=5).passages}
    assert ingestor.run([data]).unchanged == first.added  # nothing left to repair
