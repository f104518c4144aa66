"""The ingestion pipeline with real loaders, chunker and Chroma; the fake embedder
only where the embedder is not what is being tested."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ingest.pipeline import Ingestor
from qa_bot.store import ChromaStore
from tests.conftest import EXAMPLES, ISAF
from tests.fakes import FakeEmbedder
from tests.helpers import chunker


@pytest.fixture
def ingestor(tmp_path: Path, fake_embedder: FakeEmbedder) -> Ingestor:
    store = ChromaStore(embedder=fake_embedder, collection="releases", path=tmp_path / "store")
    return Ingestor(store=store, embedder=fake_embedder, chunker=chunker(tmp_path))


def test_a_newcomer_with_a_stored_id_is_rejected_not_the_stored_release(
    ingestor: Ingestor, tmp_path: Path
) -> None:
    """A file that reuses the id of a release already stored (from another file) is the one
    rejected, whichever file comes first: nothing stored is lost."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "one.json").write_text(
        json.dumps({"id": "json-one", "title": "Original", "body": ORIGINAL}), encoding="utf-8"
    )
    assert ingestor.run([data]).added == 1
    (data / "dup.jsonl").write_text(  # sorts before one.json
        json.dumps({"id": "json-one", "title": "Conflicting", "body": "Another text."}) + "\n",
        encoding="utf-8",
    )
    report = ingestor.run([data])
    assert (report.added, report.updated, report.unchanged) == (0, 0, 1)
    assert [r.path for r in report.rejected] == [f"{data / 'dup.jsonl'}:1"]
    assert "also in" in report.rejected[0].reason and "one.json" in report.rejected[0].reason
    stored = ingestor.store.get_releases(["json-one"])["json-one"]
    assert stored.title == "Original" and ORIGINAL in stored.text


def test_a_record_naming_another_file_s_stored_id_is_rejected(
    ingestor: Ingestor, tmp_path: Path
) -> None:
    """Ingested on its own, a record reusing the id of a release stored from another file
    (still there) replaced it with no word (found by a helper probing the CLI); a record
    that moved to another file still replaces the stored one."""
    data, other = tmp_path / "data", tmp_path / "other"
    data.mkdir()
    other.mkdir()
    one = data / "one.json"
    one.write_text(
        json.dumps({"id": "json-one", "title": "Original", "body": ORIGINAL}), encoding="utf-8"
    )
    assert ingestor.run([data]).added == 1
    clash = other / "clash.jsonl"
    clash.write_text(
        json.dumps({"id": "json-one", "title": "Draft note", "body": "Another text."}) + "\n",
        encoding="utf-8",
    )
    report = ingestor.run([other])
    assert (report.added, report.updated) == (0, 0)
    assert [r.path for r in report.rejected] == [f"{clash}:1"]
    assert "one.json" in report.rejected[0].reason and "qa-bot delete" in report.rejected[0].reason
    assert ingestor.store.get_releases(["json-one"])["json-one"].title == "Original"

    one.write_text("{broken")  # read in part: it may still hold the release
    assert ingestor.run([data, other]).updated == 0
    assert ingestor.store.get_releases(["json-one"])["json-one"].title == "Original"
    one.write_text(json.dumps({"id": "json-two", "title": "Another", "body": "Other text."}))
    moved = ingestor.run([data, other])  # one.json no longer holds it: the record moved
    assert moved.rejected == () and moved.updated == 1
    assert ingestor.store.get_releases(["json-one"])["json-one"].title == "Draft note"


ORIGINAL = "The original release says the bridge at Ghent reopened on Monday after repairs."


def test_incremental_update_and_prune(
    ingestor: Ingestor, tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    data = tmp_path / "data"
    shutil.copytree(EXAMPLES, data)
    first = ingestor.run([data])
    assert (first.added, first.rejected) == (41, ())
    embedded = fake_embedder.embedded

    again = ingestor.run([data])
    assert (again.added, again.updated, again.unchanged) == (0, 0, 41)
    assert fake_embedder.embedded == embedded  # nothing re-embedded

    nato = data / "2024-02-28-partners-meeting.fr.txt"
    nato.write_text(
        nato.read_text(encoding="utf-8") + "\n\nUn paragraphe ajouté à la fin.", encoding="utf-8"
    )
    changed = ingestor.run([data])
    assert (changed.added, changed.updated, changed.unchanged) == (0, 1, 40)
    rel = ingestor.store.get_releases(["2024-02-28-partners-meeting.fr"])
    assert rel["2024-02-28-partners-meeting.fr"].text.endswith("Un paragraphe ajouté à la fin.")
    index = ingestor.store.release_index()
    assert ingestor.store.count_chunks() == sum(i.chunks for i in index.values())

    nato.unlink()
    kept = ingestor.run([data])
    assert kept.removed == 0 and kept.releases == 41  # without --prune nothing is removed
    pruned = ingestor.run([data], prune=True)
    assert pruned.removed == 1 and pruned.releases == 40
    assert ingestor.store.count_chunks() == sum(
        i.chunks for i in ingestor.store.release_index().values()
    )


def test_prune_keeps_the_releases_of_a_file_it_could_not_read_in_full(
    ingestor: Ingestor, tmp_path: Path
) -> None:
    """--prune removes what a file no longer holds, or what a file that is gone held; a
    broken line or a file emptied half-way through a save removed releases that were still
    there (found by a helper probing the CLI)."""
    data = tmp_path / "data"
    data.mkdir()
    lines = ISAF.read_text(encoding="utf-8").split("\n")[:3]
    jsonl = data / "three.jsonl"
    jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")
    note = data / "note.txt"
    note.write_text("Depot opened\n\nEngineers opened a depot in Kunduz on 3 March 2012.")
    first = ingestor.run([data])
    assert first.added == 4
    ids = {json.loads(line)["id"] for line in lines}

    jsonl.write_text("\n".join([lines[0], "{broken", lines[2]]) + "\n", encoding="utf-8")
    note.write_bytes(b"")
    broken = ingestor.run([data], prune=True)
    assert broken.removed == 0 and broken.removed_ids == ()
    assert {Path(w.path).name for w in broken.warnings} >= {"three.jsonl", "note.txt"}
    assert all("not pruned" in w.reason for w in broken.warnings)
    assert ids <= set(ingestor.store.release_index())
    assert ingestor.store.count_releases() == 4

    jsonl.write_text("\n".join([lines[0], lines[2]]) + "\n", encoding="utf-8")  # one left out
    note.unlink()
    pruned = ingestor.run([data], prune=True)
    gone = json.loads(lines[1])["id"]
    assert pruned.removed == 2 and gone in pruned.removed_ids
    assert set(ingestor.store.release_index()) == ids - {gone}


def test_bad_files_never_abort_and_nothing_stored_is_lost(
    ingestor: Ingestor, tmp_path: Path
) -> None:
    ingestor.run([EXAMPLES])
    before = ingestor.store.release_index()

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    (bad / "binary.txt").write_bytes(bytes(range(256)))
    lines = ISAF.read_text(encoding="utf-8").split("\n")[100:103]
    (bad / "mixed.jsonl").write_text(
        "\n".join([lines[0], "{not json", lines[1], lines[2]]), encoding="utf-8"
    )
    (bad / "latin1.txt").write_bytes(
        "Communiqué\n\nLe général est arrivé à Kaboul hier soir.".encode("latin-1")
    )
    report = ingestor.run([bad])
    assert sorted(Path(r.path).name for r in report.rejected) == [
        "binary.txt",
        "empty.txt",
        "mixed.jsonl:2",
    ]
    assert report.added == 4  # 3 good JSONL lines + the Latin-1 text
    after = ingestor.store.release_index()
    assert all(after[rid].version == info.version for rid, info in before.items())
    assert len(after) == len(before) + 4


def test_same_file_name_in_two_folders_gets_two_ids(ingestor: Ingestor, tmp_path: Path) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "news.txt").write_text(
            f"Title {folder}\n\nThe text of {folder} is long enough to be a sentence."
        )
    report = ingestor.run([tmp_path / "a", tmp_path / "b"])
    assert report.added == 2 and report.releases == 2
    again = ingestor.run([tmp_path / "a", tmp_path / "b"])
    assert again.unchanged == 2


def test_duplicate_ids_in_one_run_are_rejected(ingestor: Ingestor, tmp_path: Path) -> None:
    record = json.loads(ISAF.read_text(encoding="utf-8").split("\n")[0])
    (tmp_path / "one.json").write_text(json.dumps(record))
    (tmp_path / "two.json").write_text(json.dumps(record | {"body": record["body"] + " More."}))
    report = ingestor.run([tmp_path])
    assert report.added == 1
    assert [("duplicate release id" in r.reason) for r in report.rejected] == [True]


def test_large_run_works_in_worker_processes_with_the_same_result(tmp_path: Path) -> None:
    """The worker processes (runs of 100+ releases: parsing, chunking and embedding in two
    workers, results in order) store what the in-process path does, and report the same
    rejections in the same order (by file and line)."""
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(ISAF, data / ISAF.name)
    bad = [
        record
        for k in range(4)
        for record in (
            {"id": f"dots-{k}", "title": "Dots", "body": ". . . ."},
            {"id": f"empty-{k}", "title": "Nothing"},
            {"id": f"dashes-{k}", "title": "Dashes", "body": "— — —"},
        )
    ]
    (data / "bad.jsonl").write_text("\n".join(json.dumps(r) for r in bad), encoding="utf-8")
    results = {}
    for workers in (0, 2):
        embedder = FakeEmbedder()
        store = ChromaStore(
            embedder=embedder, collection="releases", path=tmp_path / f"store{workers}"
        )
        ing = Ingestor(
            store=store,
            embedder=embedder,
            chunker=chunker(tmp_path),
            embed_workers=workers,
            workers_from=100,
        )
        report = ing.run([data])
        assert report.added == 723
        got = store._cols()[0].get(
            where={"release_id": "isaf-2009-11-CA-056"}, include=["embeddings", "documents"]
        )
        order = sorted(range(len(got["ids"])), key=lambda i: got["ids"][i])
        results[workers] = (
            report.rejected,
            report.chunks,
            [got["documents"][i] for i in order],
            [[round(float(x), 6) for x in got["embeddings"][i]] for i in order],
        )
    assert results[0] == results[2]
    rejected = results[2][0]
    assert [int(r.path.rpartition(":")[2]) for r in rejected] == list(range(1, 13))


def _reader(store: ChromaStore, embedder: FakeEmbedder, directory: Path):  # type: ignore[no-untyped-def]
    from qa_bot.retrieval import Retriever
    from qa_bot.store.index import SearchIndex

    return Retriever(store=store, embedder=embedder, index=SearchIndex(directory=directory))


def _index_files(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir() if p.name.startswith("seg-")}


def test_the_index_follows_every_run_without_rebuilding(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    """Each run adds a segment for what it wrote and marks what it replaced; a reader in
    another process opens the index of the store's generation and rebuilds nothing."""
    from qa_bot.store.index import SearchIndex

    store = ChromaStore(embedder=fake_embedder, collection="releases", path=tmp_path / "store")
    directory = tmp_path / "store" / "index"
    ing = Ingestor(
        store=store,
        embedder=fake_embedder,
        chunker=chunker(tmp_path),
        index=SearchIndex(directory=directory),
    )
    data = tmp_path / "data"
    shutil.copytree(EXAMPLES, data)
    ing.run([data])
    reader = _reader(store, fake_embedder, directory)
    assert reader.search("Ariana hotel Kunduz", k=3).passages
    first = _index_files(directory)
    (data / "new.txt").write_text(
        "Bridge reopened\n\nEngineers reopened the Zardalu bridge in Baghlan province on Tuesday.",
        encoding="utf-8",
    )
    ing.run([data])
    assert len(_index_files(directory)) == len(first) + 1  # one small segment more
    found = reader.search("Zardalu bridge", k=3)  # the same reader, no restart
    assert found.passages[0].release_id == "new"
    assert reader.snapshot.generation == store.generation()
    assert reader.snapshot.live.sum() == store.count_chunks()

    (data / "new.txt").write_text(
        "Bridge closed\n\nEngineers closed the Qalat ferry in Zabul province on Friday.",
        encoding="utf-8",
    )
    ing.run([data])
    assert not any("Zardalu" in p.text for p in reader.search("Zardalu bridge", k=5).passages)
    assert reader.search("Qalat ferry", k=3).passages[0].release_id == "new"
    assert reader.df("zardalu") == 0 and reader.df("qalat") == 1
    assert reader.titles("new") == ("Bridge closed",)
    assert reader.snapshot.live.sum() == store.count_chunks()


def test_an_index_written_in_steps_scores_as_one_built_at_once(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    """Statistics are kept exact through adds, replacements and deletes, and ties are
    ranked the same wherever their rows lie: the same BM25 and dense rankings, passages
    and scores as an index rebuilt from the store."""
    from qa_bot.app import App
    from qa_bot.store.index import SearchIndex
    from qa_bot.store.indexing import rebuild
    from qa_bot.text import terms

    store = ChromaStore(embedder=fake_embedder, collection="releases", path=tmp_path / "store")
    directory = tmp_path / "index"
    index = SearchIndex(directory=directory)
    ing = Ingestor(store=store, embedder=fake_embedder, chunker=chunker(tmp_path), index=index)
    files = sorted(EXAMPLES.glob("*.txt")) + sorted(EXAMPLES.glob("*.json*"))
    data = tmp_path / "data"
    data.mkdir()
    for i, f in enumerate(files):  # many small runs: many segments, then merges
        shutil.copy(f, data / f.name)
        if i % 4 == 0:
            ing.run([data])
    ing.run([data])
    app = App(settings=None, embedder=fake_embedder, store=store, tokens=None, index=index)  # type: ignore[arg-type]
    victims = [
        p.release_id
        for p in _reader(store, fake_embedder, directory).search("Taliban commander", k=2).passages
    ]
    assert sorted(app.delete(victims)) == sorted(victims)  # in the order Chroma finds them
    stepwise = _reader(store, fake_embedder, directory)
    fresh_dir = tmp_path / "fresh"
    fresh = SearchIndex(directory=fresh_dir)
    with fresh.lock():
        rebuild(fresh, store)
    at_once = _reader(store, fake_embedder, fresh_dir)
    assert len(stepwise.snapshot.segments) <= 9 and len(at_once.snapshot.segments) == 1
    for question in ("Taliban commander killed", "Ariana hotel Kunduz", "réunion OTAN partenaires"):
        a, b = stepwise.search(question, k=5), at_once.search(question, k=5)
        assert [(p.release_id, p.start) for p in a.passages] == [
            (p.release_id, p.start) for p in b.passages
        ]
        assert [p.score for p in a.passages] == pytest.approx([p.score for p in b.passages])
        words = terms(question)
        sa, sb = stepwise.snapshot, at_once.snapshot
        for snap, other in ((sa, sb), (sb, sa)):
            assert [
                (snap.row(r)[0], snap.row(r)[4], s)
                for r, s in snap.bm25(words, k=40, mask=snap.live.astype("float32"))
            ] == [
                (other.row(r)[0], other.row(r)[4], s)
                for r, s in other.bm25(words, k=40, mask=other.live.astype("float32"))
            ]
        vector = fake_embedder.embed([question])[0]
        assert [(sa.row(r)[0], sa.row(r)[4]) for r, _ in sa.dense(vector, k=40, mask=sa.live)] == [
            (sb.row(r)[0], sb.row(r)[4]) for r, _ in sb.dense(vector, k=40, mask=sb.live)
        ]
    for term in ("taliban", "kunduz", "ariana"):
        assert stepwise.df(term) == at_once.df(term)
        assert stepwise.idf(term) == pytest.approx(at_once.idf(term))
    assert not set(victims) & set(stepwise.releases)
    assert len(stepwise.releases) == store.count_releases()

    # `qa-bot compact`: one segment, no holes, the same rankings and statistics
    before = len(stepwise.snapshot.segments)
    assert app.compact() == (before, int((~stepwise.snapshot.live).sum()))
    compacted = _reader(store, fake_embedder, directory)
    snap = compacted.snapshot
    assert len(snap.segments) == 1 and snap.live.all()
    assert (snap.stats.s_n, snap.stats.s_total) == (
        at_once.snapshot.stats.s_n,
        at_once.snapshot.stats.s_total,
    )
    for question in ("Taliban commander killed", "réunion OTAN partenaires"):
        a, b = compacted.search(question, k=5), at_once.search(question, k=5)
        assert [(p.release_id, p.start, p.score) for p in a.passages] == [
            (p.release_id, p.start, p.score) for p in b.passages
        ]
    assert [compacted.df(t) for t in ("taliban", "kunduz")] == [
        at_once.df(t) for t in ("taliban", "kunduz")
    ]
    assert app.compact() == (1, 0)  # nothing more to do


def test_a_missing_index_is_rebuilt_once_from_the_store(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    """A store written without this index (another machine, an older qa-bot) gets one
    at the first question, and keeps it."""
    store = ChromaStore(embedder=fake_embedder, collection="releases", path=tmp_path / "store")
    Ingestor(store=store, embedder=fake_embedder, chunker=chunker(tmp_path)).run([EXAMPLES])
    directory = tmp_path / "index"
    reader = _reader(store, fake_embedder, directory)
    assert (
        reader.search("Ariana hotel Kunduz", k=3).passages[0].release_id.startswith("isaf-2010-07")
    )
    built = _index_files(directory)
    again = _reader(store, fake_embedder, directory)
    assert again.search("Ariana hotel Kunduz", k=3).passages
    assert _index_files(directory) == built  # opened, not rebuilt


def test_an_index_written_with_other_terms_is_rebuilt(
    tmp_path: Path, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index keeps the terms it was written with: once the stop words change (a new
    qa-bot), its manifest no longer matches and the first reader rebuilds it."""
    from qa_bot import text
    from qa_bot.store.index import SearchIndex

    store = ChromaStore(embedder=fake_embedder, collection="releases", path=tmp_path / "store")
    Ingestor(store=store, embedder=fake_embedder, chunker=chunker(tmp_path)).run([EXAMPLES])
    directory = tmp_path / "index"
    assert _reader(store, fake_embedder, directory).search("Ariana hotel Kunduz", k=3).passages
    built = _index_files(directory)
    monkeypatch.setattr(text, "analyzer", lambda: "other-stop-words")
    stale = SearchIndex(directory=directory)
    assert stale.open(store.generation()) is None  # to be rebuilt...
    assert stale.latest() is not None  # ...and, meanwhile, what readers answer from
    again = _reader(store, fake_embedder, directory)
    assert again.search("Ariana hotel Kunduz", k=3).passages[0].release_id.startswith("isaf-2010")
    assert _index_files(directory) != built  # rebuilt, with the terms made now
    manifests = list(directory.glob("manifest-*.json"))
    assert manifests and all("other-stop-words" in m.read_text() for m in manifests)


def test_a_projected_segment_finds_what_an_exact_scan_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large segment is searched over a projection of its vectors first, and only the
    best candidates exactly; the projection of one question, per segment, serves every
    mask it is searched with (here: the whole store, then the releases of another
    language), and a search of nothing finds nothing."""
    import numpy as np

    from qa_bot.store import index as index_module
    from qa_bot.store import indexing
    from qa_bot.store.index import SearchIndex

    monkeypatch.setattr(indexing, "PROJECT_FROM", 100)  # every segment is a large one here
    embedder = FakeEmbedder(dim=256)  # wider than the projection (128)
    store = ChromaStore(embedder=embedder, collection="releases", path=tmp_path / "store")
    ingestor = Ingestor(
        store=store,
        embedder=embedder,
        chunker=chunker(tmp_path),
        index=SearchIndex(directory=tmp_path / "index"),
    )
    records = (EXAMPLES / "isaf-sample.jsonl").read_text(encoding="utf-8").strip().split("\n")
    first, second = tmp_path / "first", tmp_path / "second"
    for part, lines in ((first, records[:20]), (second, records[20:])):
        part.mkdir()
        (part / "isaf.jsonl").write_text("\n".join(lines), encoding="utf-8")
    shutil.copy(EXAMPLES / "2024-02-28-partners-meeting.fr.txt", first)
    ingestor.run([first])
    ingestor.run([second])  # a second segment, projected too
    snap = _reader(store, embedder, tmp_path / "index").snapshot
    assert [s.coarse is not None for s in snap.segments] == [True, True]
    projections = []
    real_dot = index_module._dot
    monkeypatch.setattr(
        index_module,
        "_dot",
        lambda m, v: projections.append(m.shape) or real_dot(m, v),
    )

    def exact(vector: list[float], mask: np.ndarray, k: int) -> list[int]:
        q = np.asarray(vector, dtype=np.float32)
        sims = np.array(
            [float(snap.vector(r) @ q) / np.linalg.norm(snap.vector(r)) for r in range(snap.n)]
        )
        return [int(r) for r in np.argsort(-np.where(mask, sims, -np.inf), kind="stable")[:k]]

    french = snap.lang == snap.languages.index("fr")
    for sentence in ("Taliban commander killed in Kunduz", "réunion des partenaires de l'OTAN"):
        vector = embedder.embed([sentence])[0]
        projections.clear()
        everywhere = snap.dense(vector, k=3, mask=snap.live)
        within = snap.dense(vector, k=3, mask=snap.live & french)
        again = snap.dense(vector, k=3, mask=snap.live)
        coarse = [shape for shape in projections if shape[1] == indexing.PROJECTION]
        assert len(coarse) == sum(s.coarse is not None for s in snap.segments)  # once each
        assert [r for r, _ in everywhere] == exact(vector, snap.live, 3)
        assert [r for r, _ in within] == exact(vector, snap.live & french, 3)
        assert all(french[r] for r, _ in within)
        assert again == everywhere
        assert snap.dense(vector, k=0, mask=snap.live) == []


def test_workers_follow_the_cpu_quota_of_a_container(tmp_path: Path) -> None:
    """A CPU quota (cgroup v2 or v1) caps the workers below the cores the process sees."""
    import os

    from ingest.pipeline import usable_cores

    seen = len(os.sched_getaffinity(0))
    assert usable_cores(tmp_path / "none", own="/") == seen  # no cgroup files: the affinity
    v2 = tmp_path / "v2"
    v2.mkdir()
    (v2 / "cpu.max").write_text("max 100000\n")
    assert usable_cores(v2, own="/") == seen
    (v2 / "cpu.max").write_text("150000 100000\n")  # 1.5 CPUs: 2 workers can use them
    assert usable_cores(v2, own="/") == min(seen, 2)
    (v2 / "cpu.max").write_text("50000 100000\n")
    assert usable_cores(v2, own="/") == 1
    (v2 / "cpu.max").write_text("garbage\n")
    assert usable_cores(v2, own="/") == seen
    v1 = tmp_path / "v1" / "cpu"
    v1.mkdir(parents=True)
    (v1 / "cpu.cfs_quota_us").write_text("100000\n")
    (v1 / "cpu.cfs_period_us").write_text("100000\n")
    assert usable_cores(v1.parent, own="/") == 1
    (v1 / "cpu.cfs_quota_us").write_text("-1\n")
    assert usable_cores(v1.parent, own="/") == seen
    # the quota of a cgroup above the process's own (systemd's CPUQuota=, a pod's)
    nested = tmp_path / "nested"
    (nested / "pod" / "container").mkdir(parents=True)
    (nested / "pod" / "cpu.max").write_text("100000 100000\n")
    (nested / "pod" / "container" / "cpu.max").write_text("max 100000\n")
    assert usable_cores(nested, own="/pod/container") == 1
    assert usable_cores(nested, own="/") == seen
