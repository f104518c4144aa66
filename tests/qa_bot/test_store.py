"""The store behaves the same embedded and against a real `chroma run` server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from qa_bot.errors import EmbedderMismatchError, StoreError
from qa_bot.store import ChromaStore
from qa_bot.store.chroma import CHUNK_HNSW
from tests.fakes import FakeEmbedder
from tests.helpers import chunked, release

TEXT_V1 = (
    "KABUL, Afghanistan (July 14, 2010) - Coalition forces met elders in Kunduz province.\n"
    "The elders asked for a new school and a clinic in the district."
)
TEXT_V2 = TEXT_V1 + "\nWork on the clinic will start in August."


def _write(store: ChromaStore, embedder: FakeEmbedder, items: list) -> None:  # type: ignore[type-arg]
    texts = [c.text for _, _, chunks in items for c in chunks]
    store.write(items, embedder.embed(texts))


def test_write_read_and_stats(make_store, fake_embedder: FakeEmbedder, tmp_path: Path) -> None:
    store = make_store(fake_embedder)
    item = chunked(tmp_path, release(TEXT_V1, release_id="r1"), "v1")
    _write(store, fake_embedder, [item])

    index = store.release_index()
    assert index["r1"].version == "v1" and index["r1"].chunks == len(item[2])
    got = store.get_releases(["r1"])["r1"]
    assert got.text == item[0].text and got.paragraphs == item[0].paragraphs
    stats = store.stats()
    assert (stats.releases, stats.chunks) == (1, len(item[2]))
    assert stats.embedder == "fake" and str(stats.date_min) == "2010-07-14"


def test_chroma_keeps_a_light_graph_of_the_chunks(make_store, fake_embedder, tmp_path) -> None:
    # qa-bot searches its own exact index; Chroma's graph only serves other clients, so it
    # is built cheaply (Chroma's write was two thirds of a large ingest) and searched wide
    store = make_store(fake_embedder)
    _write(store, fake_embedder, [chunked(tmp_path, release(TEXT_V1, release_id="r1"), "v1")])
    hnsw = store._cols()[0].configuration_json["hnsw"]
    assert {k: hnsw[k] for k in CHUNK_HNSW} == CHUNK_HNSW
    # lighter than Chroma's default graph (ef_construction 100, 16 neighbours), searched wider
    assert hnsw["ef_construction"] < 100 and hnsw["max_neighbors"] < 16 and hnsw["ef_search"] > 100


def test_replace_keeps_one_version_and_delete(make_store, fake_embedder, tmp_path) -> None:
    store = make_store(fake_embedder)
    _write(store, fake_embedder, [chunked(tmp_path, release(TEXT_V1, release_id="r1"), "v1")])
    new = chunked(tmp_path, release(TEXT_V2, release_id="r1"), "v2")
    _write(store, fake_embedder, [new])
    assert store.release_index()["r1"].version == "v2"
    assert store.count_chunks() == len(new[2])
    assert store.delete(["r1", "nope"]) == ["r1"]
    assert store.count_chunks() == 0 and store.count_releases() == 0


def test_a_replaced_release_loses_the_fields_its_new_version_lacks(
    make_store, fake_embedder, tmp_path
) -> None:
    """Chroma's upsert merges metadata: the old date and link must not outlive them."""
    import dataclasses

    store = make_store(fake_embedder)
    old = dataclasses.replace(release(TEXT_V1, release_id="r1"), url="https://example.org/old")
    _write(store, fake_embedder, [chunked(tmp_path, old, "v1")])
    assert store.release_index()["r1"].url == "https://example.org/old"
    new = dataclasses.replace(release(TEXT_V2, release_id="r1"), date=None, updated=None)
    _write(store, fake_embedder, [chunked(tmp_path, new, "v2")])
    info = store.release_index()["r1"]
    assert (info.version, info.date, info.url) == ("v2", None, None)


def test_interrupted_replace_leaves_old_version_then_sweeps(
    make_store, fake_embedder, tmp_path
) -> None:
    """A crash after the new chunks were written but before the registry switched:
    the old version is still the one named, and the next sweep drops the orphans."""
    store = make_store(fake_embedder)
    old = chunked(tmp_path, release(TEXT_V1, release_id="r1"), "v1")
    _write(store, fake_embedder, [old])
    new = chunked(tmp_path, release(TEXT_V2, release_id="r1"), "v2")
    chunks_col, _ = store._cols()
    chunks_col.upsert(  # the first step of write(), alone
        ids=[c.chunk_id for c in new[2]],
        embeddings=fake_embedder.embed([c.text for c in new[2]]),
        documents=[c.text for c in new[2]],
        metadatas=[{"release_id": "r1", "version": "v2"} for _ in new[2]],
    )
    assert store.release_index()["r1"].version == "v1"
    assert store.sweep() == len(new[2])
    assert store.count_chunks() == len(old[2])


def test_embedders_cannot_be_mixed(make_store, tmp_path) -> None:
    first = make_store(FakeEmbedder("fake-a"))
    _write(
        first, FakeEmbedder("fake-a"), [chunked(tmp_path, release(TEXT_V1, release_id="r1"), "v1")]
    )
    other = make_store(FakeEmbedder("fake-b"))
    with pytest.raises(EmbedderMismatchError) as err:
        other.release_index()
    assert "fake-a" in str(err.value) and "fake-b" in str(err.value)
    assert "QA_BOT_EMBEDDER=fake-a" in str(err.value)
    assert first.count_releases() == 1  # nothing lost


def test_unreachable_server_names_the_fix() -> None:
    store = ChromaStore(embedder=FakeEmbedder(), url="http://127.0.0.1:9")
    with pytest.raises(StoreError, match="chroma run"):
        store.release_index()


def test_reopened_in_a_new_process_rebuilds_the_registered_embedder(tmp_path: Path) -> None:
    """The default embedder is a registered Chroma embedding function: a plain Chroma
    client in another process can query the collection by text."""
    from qa_bot.embedders import UseMultilingualEmbedder

    embedder = UseMultilingualEmbedder()
    store = ChromaStore(embedder=embedder, collection="releases", path=tmp_path / "store")
    item = chunked(tmp_path, release(TEXT_V1, release_id="r1"), "v1")
    store.write([item], embedder.embed([c.text for c in item[2]]))

    script = f"""
import chromadb
import qa_bot.store.functions  # registers qa-bot's embedding functions
client = chromadb.PersistentClient(path={str(tmp_path / "store")!r})
col = client.get_collection("releases")
print(type(col.configuration["embedding_function"]).__name__)
hits = col.query(query_texts=["Which school did the elders ask for?"], n_results=1)
print(hits["documents"][0][0])
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[0] == "UseMultilingualFunction"
    assert "school" in out[1]
