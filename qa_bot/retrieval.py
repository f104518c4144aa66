"""Hybrid retrieval: dense sentences (Chroma) + BM25 (bm25s), fused, by passage.

- **Dense**: the question's embedding against sentence chunks; cross-lingual by
  construction (an English question finds French sentences and the reverse).
- **Lexical**: BM25 over the same sentences, accent- and case-folded, English and
  French stop words, no stemming (one analysis for every language). Rare proper
  nouns carry most real questions, so this branch weighs more.
- **Fusion**: weighted reciprocal-rank fusion. Sentences are then grouped into their
  paragraph passages; a per-release cap keeps one long release from crowding out
  the rest.
- **Filters** (date range, languages, release ids) are hard, in both branches.
  **Time**: a period named in the question ("in July 2010", "en février 2024",
  "last year") boosts releases dated in it; it does not filter.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .embedders import Embedder
from .store import ChromaStore
from .store.lexical import LexicalIndex, rows_from
from .text import find_period
from .types import Filters, Passage, Release, Sentence


@dataclass(frozen=True)
class RetrievalConfig:
    """How retrieval fuses its branches. The weights in use are fitted by ``eval/fit.py``
    (:meth:`fitted`); the defaults here only start that fit."""

    dense_k: int = 40
    lexical_k: int = 40
    rrf_k: int = 20
    lexical_weight: float = 1.0
    dense_weight: float = 0.6
    time_boost: float = 0.5
    """Relative boost for a sentence dated in the period the question names."""
    prefer_boost: float = 0.5
    """Relative boost for releases of the previous answer (follow-up questions)."""
    passage_weight: float = 2.0
    """Weight of BM25 over whole passages in the fusion."""
    per_release: int = 2
    """At most this many passages of one release in the results."""

    @classmethod
    def fitted(cls) -> RetrievalConfig:
        """The weights in ``qa_bot/params.json``."""
        import dataclasses

        from .fitted import load

        fields = {f.name for f in dataclasses.fields(cls)}
        weights = {k: v for k, v in load().retrieval.items() if k in fields}
        return dataclasses.replace(cls(), **weights)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Retrieved:
    passages: tuple[Passage, ...]
    period: tuple[dt.date, dt.date] | None
    ms: float


def _date_int(day: dt.date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def chroma_where(filters: Filters) -> dict[str, Any] | None:
    """Filters as Chroma's structured ``where`` (never built from strings)."""
    conds: list[dict[str, Any]] = []
    if filters.since:
        conds.append({"date_int": {"$gte": _date_int(filters.since)}})
    if filters.until:
        conds.append({"date_int": {"$lte": _date_int(filters.until)}})
    if filters.languages:
        conds.append({"release_language": {"$in": list(filters.languages)}})
    if filters.release_ids:
        conds.append({"release_id": {"$in": list(filters.release_ids)}})
    if not conds:
        return None
    return conds[0] if len(conds) == 1 else {"$and": conds}


class Retriever:
    def __init__(
        self,
        *,
        store: ChromaStore,
        embedder: Embedder,
        lexical: LexicalIndex,
        config: RetrievalConfig | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.lexical = lexical
        self.config = config or RetrievalConfig.fitted()
        self._generation: str | None | bool = False  # False: never loaded
        self._lock = threading.Lock()
        self.releases: dict[str, Release] = {}
        self._versions: dict[str, str] = {}
        self._by_chunk: dict[str, int] = {}
        self._by_parent: dict[str, list[int]] = {}
        self._arrays: dict[str, Any] = {}

    # ------------------------------------------------------------ freshness
    def refresh(self) -> None:
        """Reload what is cached in memory if the store changed since (cheap otherwise)."""
        generation = self.store.generation()
        if generation == self._generation:
            return
        with self._lock:
            if generation == self._generation:
                return
            import numpy as np

            self.releases = self.store.all_releases()
            index = self.store.release_index()
            self._versions = {rid: info.version for rid, info in index.items()}
            lexical = self.lexical.load()
            if lexical.generation != generation:
                lexical.clear()
                lexical.replace(
                    remove_releases=(),
                    add=rows_from(self.store.all_chunks()),
                    generation=generation,
                )
            lexical.set_titles(
                {rid: " ".join([r.title, *r.titles.values()]) for rid, r in self.releases.items()}
            )
            docs = lexical.docs
            self._by_chunk = {d["chunk_id"]: i for i, d in enumerate(docs)}
            by_parent: dict[str, list[int]] = defaultdict(list)
            for i, d in enumerate(docs):
                by_parent[d["parent_id"]].append(i)
            for members in by_parent.values():
                members.sort(key=lambda i: docs[i]["start"])
            self._by_parent = dict(by_parent)
            self._arrays = {
                "date_int": np.array([d.get("date_int", 0) for d in docs], dtype=np.int64),
                "language": np.array(
                    [d.get("release_language", d.get("language", "")) for d in docs], dtype=object
                ),
                "release_id": np.array([d["release_id"] for d in docs], dtype=object),
                "current": np.array(
                    [self._versions.get(d["release_id"]) == d["version"] for d in docs],
                    dtype=bool,
                ),
            }
            self._generation = generation

    @property
    def newest(self) -> dt.date | None:
        dates = [r.date for r in self.releases.values() if r.date]
        return max(dates) if dates else None

    # ------------------------------------------------------------ search
    def _mask(self, filters: Filters) -> Any:
        import numpy as np

        a = self._arrays
        mask = a["current"].copy()
        if filters.since:
            mask &= a["date_int"] >= _date_int(filters.since)
        if filters.until:
            mask &= a["date_int"] <= _date_int(filters.until)
        if filters.languages:
            mask &= np.isin(a["language"], list(filters.languages))
        if filters.release_ids:
            mask &= np.isin(a["release_id"], list(filters.release_ids))
        return mask

    def search(
        self,
        question: str,
        *,
        k: int = 5,
        filters: Filters | None = None,
        prefer: Sequence[str] = (),
        query: str | None = None,
    ) -> Retrieved:
        """The ``k`` best passages for ``question`` (``query``, if given, is what is matched:
        a follow-up rewritten with its context)."""
        started = time.perf_counter()
        self.refresh()
        filters = filters or Filters()
        cfg = self.config
        text = query or question
        period = find_period(question, newest=self.newest)
        docs = self.lexical.docs
        if not docs:
            return Retrieved((), period, (time.perf_counter() - started) * 1000)

        mask = self._mask(filters)
        scores: dict[int, float] = defaultdict(float)
        dense_sim: dict[int, float] = {}
        for rank, (pos, _) in enumerate(
            self.lexical.search(text, k=cfg.lexical_k, mask=mask.astype("float32"))
        ):
            scores[pos] += cfg.lexical_weight / (cfg.rrf_k + rank + 1)
        vector = self.embedder.embed([text])[0]
        hits = self.store.query(vector, k=cfg.dense_k, where=chroma_where(filters))
        rank = 0
        for meta, sim in hits:
            found = self._by_chunk.get(meta["chunk_id"])
            if found is None or not mask[found]:
                continue  # a chunk of a version the registry no longer names
            scores[found] += cfg.dense_weight / (cfg.rrf_k + rank + 1)
            dense_sim[found] = sim
            rank += 1

        prefer_set = set(prefer)
        lo = _date_int(period[0]) if period else 0
        hi = _date_int(period[1]) if period else 0
        if period or prefer_set:
            for pos in scores:
                d = docs[pos]
                if period and lo <= d.get("date_int", 0) <= hi:
                    scores[pos] *= 1 + cfg.time_boost
                if d["release_id"] in prefer_set:
                    scores[pos] *= 1 + cfg.prefer_boost

        # sentences → passages, with BM25 over whole passages as a third ranking
        by_passage: dict[str, list[int]] = defaultdict(list)
        for pos in scores:
            by_passage[docs[pos]["parent_id"]].append(pos)
        passage_score = {
            pid: max(scores[p] for p in members) + 0.1 * sum(scores[p] for p in members)
            for pid, members in by_passage.items()
        }
        for prank, (pid, _) in enumerate(
            self.lexical.search_passages(text, k=cfg.lexical_k, mask=mask.astype("float32"))
        ):
            boost = cfg.passage_weight / (cfg.rrf_k + prank + 1)
            if period:
                d = docs[self._by_parent[pid][0]]
                if lo <= d.get("date_int", 0) <= hi:
                    boost *= 1 + cfg.time_boost
            passage_score[pid] = passage_score.get(pid, 0.0) + boost
            by_passage.setdefault(pid, [])
        ranked = sorted(by_passage.items(), key=lambda kv: -passage_score[kv[0]])
        passages: list[Passage] = []
        per_release: dict[str, int] = defaultdict(int)
        for parent_id, _ in ranked:
            rid = docs[self._by_parent[parent_id][0]]["release_id"]
            if per_release[rid] >= cfg.per_release or rid not in self.releases:
                continue
            per_release[rid] += 1
            passages.append(self._passage(parent_id, scores, dense_sim, passage_score[parent_id]))
            if len(passages) >= k:
                break
        return Retrieved(tuple(passages), period, (time.perf_counter() - started) * 1000)

    # ------------------------------------------------------------ what the answerer reads
    def embed(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed(texts)

    def vectors(self, chunk_ids: Sequence[str]) -> dict[str, list[float]]:
        return self.store.embeddings(chunk_ids)

    def titles(self, release_id: str) -> tuple[str, ...]:
        """A release's title in every language it has one."""
        release = self.releases.get(release_id)
        return tuple(dict.fromkeys([release.title, *release.titles.values()])) if release else ()

    def idf(self, term: str) -> float:
        return self.lexical.idf(term)

    def df(self, term: str) -> int:
        return self.lexical.df(term)

    def release_passages(self, release_id: str) -> list[Passage]:
        """Every passage of a release, in order (scores 0): context around a hit."""
        self.refresh()
        parents = dict.fromkeys(
            d["parent_id"] for d in self.lexical.docs if d["release_id"] == release_id
        )
        return [self._passage(pid, {}, {}) for pid in parents]

    def _passage(
        self,
        parent_id: str,
        scores: dict[int, float],
        dense_sim: dict[int, float],
        score: float = 0.0,
    ) -> Passage:
        docs = self.lexical.docs
        members = self._by_parent[parent_id]
        first = docs[members[0]]
        release = self.releases[first["release_id"]]
        start, end = int(first["parent_start"]), int(first["parent_end"])
        sentences = tuple(
            Sentence(
                chunk_id=docs[i]["chunk_id"],
                text=release.text[docs[i]["start"] : docs[i]["end"]],
                start=int(docs[i]["start"]),
                end=int(docs[i]["end"]),
                language=docs[i].get("language", release.language),
                score=scores.get(i, 0.0),
                similarity=dense_sim.get(i, 0.0),
            )
            for i in members
        )
        return Passage(
            release_id=release.release_id,
            title=release.title,
            date=release.date,
            url=release.url,
            language=release.language,
            text=release.text[start:end],
            start=start,
            end=end,
            score=score,
            sentences=sentences,
            source=release.source,
        )
