"""Deterministic stand-ins at our own seams (never for third-party internals)."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence


class FakeEmbedder:
    """Bag-of-words hashing embedder: same text, same vector; shared words, closer vectors."""

    def __init__(self, name: str = "fake", dim: int = 64) -> None:
        self.name = name
        self.dim = dim
        self.calls: list[int] = []

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(len(texts))
        out = []
        for text in texts:
            vec = [0.0] * self.dim
            for word in text.lower().split():
                h = int(hashlib.md5(word.encode()).hexdigest(), 16)
                vec[h % self.dim] += 1.0
            norm = math.sqrt(sum(v * v for v in vec)) or 1.0
            out.append([v / norm for v in vec])
        return out

    @property
    def embedded(self) -> int:
        return sum(self.calls)
