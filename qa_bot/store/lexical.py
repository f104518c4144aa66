"""The lexical (BM25) index beside the Chroma store, with bm25s.

One document per sentence chunk, tokenised by :func:`qa_bot.text.terms`
(accent and case folding, English and French stop words). Ingestion updates
it once per run (only changed releases are re-tokenised); queries never
rebuild it. It records the store generation it matches, so a reader can tell
when another process (or another client of a Chroma server) changed the store.
This is the only module that imports bm25s.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..text import terms

META_FIELDS = (
    "chunk_id",
    "release_id",
    "version",
    "date_int",
    "language",
    "release_language",
    "start",
    "end",
    "parent_id",
    "parent_start",
    "parent_end",
    "position",
)


def tokens_of(text: str) -> list[str]:
    """What the index keeps of a chunk's text."""
    return terms(text)


def rows_from(
    chunks: Iterable[tuple[dict[str, Any], str]],
) -> list[tuple[dict[str, Any], list[str]]]:
    """``(meta, text)`` chunks (as the store gives them) as index rows."""
    return [(meta, tokens_of(text)) for meta, text in chunks]


class LexicalIndex:
    def __init__(self, *, directory: Path) -> None:
        self.directory = directory
        self.docs: list[dict[str, Any]] = []
        self.tokens: list[list[str]] = []
        self.generation: str | None = None
        self._bm25: Any = None
        self._df: dict[str, int] | None = None
        self._passages: Any = None
        self._titles: dict[str, list[str]] = {}
        self._loaded = False

    # ------------------------------------------------------------ persistence
    def load(self) -> LexicalIndex:
        if self._loaded:
            return self
        self._loaded = True
        state = self.directory / "docs.jsonl"
        if not state.exists():
            return self
        with state.open(encoding="utf-8") as f:
            header = json.loads(f.readline())
            self.generation = header.get("generation")
            for line in f:
                row = json.loads(line)
                self.tokens.append(row.pop("tokens"))
                self.docs.append(row)
        self._bm25, self._df, self._passages = None, None, None
        return self

    def save(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps({"generation": self.generation, "docs": len(self.docs)}) + "\n")
            for doc, toks in zip(self.docs, self.tokens, strict=True):
                f.write(json.dumps({**doc, "tokens": toks}, ensure_ascii=False) + "\n")
        os.replace(tmp, self.directory / "docs.jsonl")

    def clear(self) -> None:
        self.docs, self.tokens, self._bm25, self._df, self._passages = [], [], None, None, None
        self._loaded = True
        shutil.rmtree(self.directory, ignore_errors=True)

    # ------------------------------------------------------------ updating
    def replace(
        self,
        *,
        remove_releases: Iterable[str],
        add: Sequence[tuple[dict[str, Any], list[str]]],
        generation: str | None,
    ) -> None:
        """Drop every chunk of ``remove_releases``, add ``(meta, tokens)`` chunks (tokens
        from :func:`tokens_of`), save."""
        self.load()
        gone = set(remove_releases)
        keep = [i for i, d in enumerate(self.docs) if d["release_id"] not in gone]
        self.docs = [self.docs[i] for i in keep]
        self.tokens = [self.tokens[i] for i in keep]
        for meta, toks in add:
            self.docs.append({k: meta[k] for k in META_FIELDS if k in meta})
            self.tokens.append(toks)
        self.generation = generation
        self._bm25, self._df, self._passages = None, None, None
        self.save()

    def share(self, language: str) -> float:
        """The share of sentences in ``language``."""
        if not self.docs:
            return 0.0
        return sum(d.get("language") == language for d in self.docs) / len(self.docs)

    def df(self, term: str) -> int:
        """How many sentences hold the folded term."""
        self.idf(term)
        assert self._df is not None
        return self._df.get(term, 0)

    def idf(self, term: str) -> float:
        """Inverse document frequency of a folded term (high: rare, telling)."""
        import math

        if self._df is None:
            df: dict[str, int] = {}
            for toks in self.tokens:
                for t in set(toks):
                    df[t] = df.get(t, 0) + 1
            self._df = df
        n = max(len(self.docs), 1)
        return math.log(1 + n / (1 + self._df.get(term, 0)))

    # ------------------------------------------------------------ searching
    def _index(self) -> Any:
        if self._bm25 is None and self.docs:
            import bm25s

            bm25 = bm25s.BM25()
            # an empty token list would be dropped by bm25s: keep doc positions aligned
            bm25.index([t or ["\x00"] for t in self.tokens], show_progress=False)
            self._bm25 = bm25
        return self._bm25

    def _passage_index(self) -> tuple[Any, list[str], Any]:
        """BM25 over whole passages (a passage's sentences together), for questions whose
        words are spread over several sentences."""
        if self._passages is None:
            import bm25s
            import numpy as np

            order: dict[str, list[int]] = {}
            for i, d in enumerate(self.docs):
                order.setdefault(d["parent_id"], []).append(i)
            ids = list(order)
            bm25 = bm25s.BM25()
            corpus = []
            for p in ids:
                title = self._titles.get(self.docs[order[p][0]]["release_id"], [])
                corpus.append([t for i in order[p] for t in self.tokens[i]] + title or ["\x00"])
            bm25.index(corpus, show_progress=False)
            first = np.array([order[p][0] for p in ids])
            self._passages = (bm25, ids, first)
        return self._passages

    def set_titles(self, titles: dict[str, str]) -> None:
        """Release titles (every language), counted in each of the release's passages:
        a passage is about what its release's title says."""
        self._titles = {rid: terms(text) for rid, text in titles.items()}
        self._passages = None

    def search_passages(self, query: str, *, k: int, mask: Any = None) -> list[tuple[str, float]]:
        """(parent id, BM25 score) of the best ``k`` passages; ``mask`` is per sentence."""
        self.load()
        q = terms(query)
        if not q or not self.docs:
            return []
        bm25, ids, first = self._passage_index()
        q = [t for t in q if t in bm25.vocab_dict]
        if not q:
            return []
        weight = None if mask is None else mask[first]
        docs, scores = bm25.retrieve(
            [q], k=min(k, len(ids)), show_progress=False, weight_mask=weight, n_threads=0
        )
        return [(ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]

    def search(self, query: str, *, k: int, mask: Any = None) -> list[tuple[int, float]]:
        """(doc position, BM25 score) of the best ``k`` documents, best first."""
        self.load()
        q = terms(query)
        bm25 = self._index()
        if not q or bm25 is None:
            return []
        vocab = bm25.vocab_dict
        q = [t for t in q if t in vocab]
        if not q:
            return []
        k = min(k, len(self.docs))
        docs, scores = bm25.retrieve([q], k=k, show_progress=False, weight_mask=mask, n_threads=0)
        return [(int(d), float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]
