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


def test_large_run_embeds_in_a_worker_process_with_the_same_result(tmp_path: Path) -> None:
    """The worker-process path (runs of 100+ releases) stores what the in-process path does."""
    results = {}
    for workers in (0, 1):
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
        report = ing.run([ISAF])
        assert report.added == 723
        got = store._cols()[0].get(
            where={"release_id": "isaf-2009-11-CA-056"}, include=["embeddings", "documents"]
        )
        order = sorted(range(len(got["ids"])), key=lambda i: got["ids"][i])
        results[workers] = (
            report.chunks,
            [got["documents"][i] for i in order],
            [[round(float(x), 6) for x in got["embeddings"][i]] for i in order],
        )
    assert results[0] == results[1]


def test_lexical_index_follows_every_run(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    """The BM25 index beside the store is updated by each run (incrementally), and a
    reader finds what the last run wrote."""
    from qa_bot.retrieval import Retriever
    from qa_bot.store.lexical import LexicalIndex

    store = ChromaStore(embedder=fake_embedder, collection="releases", path=tmp_path / "store")
    lexical = LexicalIndex(directory=tmp_path / "store" / "lexical")
    ing = Ingestor(store=store, embedder=fake_embedder, chunker=chunker(tmp_path), lexical=lexical)
    data = tmp_path / "data"
    shutil.copytree(EXAMPLES, data)
    ing.run([data])
    (data / "new.txt").write_text(
        "Bridge reopened\n\nEngineers reopened the Zardalu bridge in Baghlan province on Tuesday.",
        encoding="utf-8",
    )
    ing.run([data])
    reader = Retriever(
        store=store,
        embedder=fake_embedder,
        lexical=LexicalIndex(directory=tmp_path / "store" / "lexical"),
    )
    found = reader.search("Zardalu bridge", k=3)
    assert found.passages[0].release_id == "new"
    assert reader.lexical.generation == store.generation()
    assert len(reader.lexical.docs) == store.count_chunks()
