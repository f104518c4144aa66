"""Words that mean the same across languages, by the embedder's word vectors.

The multilingual sentence embedder places single words close to their
translations ("opened"/"ouvert" 0.87, "meeting"/"réunion" 0.93,
"killed"/"tués" 0.84), so a question's words can be found in a sentence of
another language without a dictionary. Vectors are cached per word.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable

from ..embedders import Embedder

SAME = 0.75
"""Similarity from which two words count as translations of each other."""


class WordMatcher:
    def __init__(self, embedder: Embedder, *, limit: int = 200_000) -> None:
        self.embedder = embedder
        self.limit = limit
        self._vectors: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _ensure(self, words: Iterable[str]) -> None:
        missing = [w for w in dict.fromkeys(words) if w not in self._vectors]
        if not missing:
            return
        vectors = self.embedder.embed(missing)
        with self._lock:
            if len(self._vectors) + len(missing) > self.limit:
                self._vectors.clear()
            for w, v in zip(missing, vectors, strict=True):
                norm = math.sqrt(sum(x * x for x in v)) or 1.0
                self._vectors[w] = [x / norm for x in v]

    def prepare(self, words: Iterable[str]) -> None:
        """Embed, in one batch, the words about to be compared."""
        self._ensure(words)

    def matched(
        self, question: Iterable[str], words: Iterable[str], *, threshold: float = SAME
    ) -> set[str]:
        """The question words that have a translation (or themselves) among ``words``."""
        q = list(dict.fromkeys(question))
        w = list(dict.fromkeys(words))
        self._ensure(q + w)
        found = set()
        for t in q:
            vt = self._vectors[t]
            for x in w:
                if (
                    x == t
                    or sum(a * b for a, b in zip(vt, self._vectors[x], strict=True)) >= threshold
                ):
                    found.add(t)
                    break
        return found
