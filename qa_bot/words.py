"""Words that mean the same across languages, by the embedder's word vectors.

The multilingual sentence embedder places single words close to their
translations ("opened"/"ouvert" 0.87, "meeting"/"réunion" 0.93,
"killed"/"tués" 0.84), so a question's words can be found in a sentence of
another language without a dictionary. Vectors are cached per word; how near
counts as "the same" is left to the fitted answerer (the similarities are features).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any


class WordMatcher:
    def __init__(
        self,
        embed: Callable[[list[str]], Sequence[Sequence[float]]],
        *,
        limit: int = 50_000,
        exact: bool = False,
    ) -> None:
        self.embed = embed
        self.limit = limit
        self.exact = exact
        """Embed each word on its own. A batch's vectors depend on the words beside them by
        about 1e-7 (BLAS sums in another order), so only one word at a time gives the same
        vector whatever came before: ``eval/fit.py`` needs that to rebuild params.json bit
        for bit. Five times slower (1.1 against 0.2 ms a word), so not for answering."""
        self._vectors: dict[str, Any] = {}
        self._lock = threading.Lock()

    def prepare(self, words: Iterable[str]) -> None:
        """Embed, in one batch, the words about to be compared."""
        import numpy as np

        wanted = list(dict.fromkeys(words))
        missing = [w for w in wanted if w not in self._vectors]
        if not missing:
            return
        if self.exact:
            vectors = np.asarray([self.embed([w])[0] for w in missing], dtype=np.float32)
        else:
            vectors = np.asarray(self.embed(missing), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        vectors = vectors / norms
        with self._lock:
            if len(self._vectors) + len(missing) > self.limit:
                # keep the words about to be compared: those already here are not in `missing`
                kept = {w: self._vectors[w] for w in wanted if w in self._vectors}
                self._vectors.clear()
                self._vectors.update(kept)
            for w, v in zip(missing, vectors, strict=True):
                self._vectors[w] = v

    def similarities(self, words: Sequence[str], among: Sequence[str]) -> Any:
        """The (len(words) x len(among)) matrix of word-vector similarities."""
        import numpy as np

        self.prepare([*words, *among])
        a = np.stack([self._vectors[w] for w in words])
        b = np.stack([self._vectors[w] for w in among])
        return a @ b.T

    def nearest(self, words: Sequence[str], among: Sequence[str]) -> list[float]:
        """For each of ``words``, its highest similarity to a word of ``among`` (1 for the
        word itself; 0 when ``among`` is empty)."""
        import numpy as np

        if not words:
            return []
        pool = list(dict.fromkeys(among))
        if not pool:
            return [0.0] * len(words)
        self.prepare([*words, *pool])
        a = np.stack([self._vectors[w] for w in words])
        b = np.stack([self._vectors[w] for w in pool])
        best = (a @ b.T).max(axis=1)
        return [1.0 if w in pool else float(s) for w, s in zip(words, best, strict=True)]
