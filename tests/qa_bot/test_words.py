"""The word-vector matcher's cache: fast tier, a fake embedder."""

from __future__ import annotations

import numpy as np

from qa_bot.words import WordMatcher


def _embed(words: list[str]) -> list[list[float]]:
    return [list(np.eye(8)[hash(w) % 8] + 0.1) for w in words]


def test_a_full_cache_keeps_the_words_being_compared() -> None:
    """When the cache is full it starts over, and the words of the comparison that were
    already cached stay: a word asked for twice is no KeyError."""
    matcher = WordMatcher(_embed, limit=4)
    assert matcher.nearest(["a", "b"], ["c", "d"]) == matcher.nearest(["a", "b"], ["c", "d"])
    near = matcher.nearest(["a", "e"], ["f", "g"])  # 3 new words: over the limit of 4
    assert len(near) == 2
    assert matcher.similarities(["a"], ["e", "f"]).shape == (1, 2)
