"""Hybrid retrieval: dense sentences + BM25, fused, by passage, over the search index.

- **Dense**: the question's embedding against sentence chunks, an exact search over the
  index's vectors; cross-lingual by construction (an English question finds French
  sentences and the reverse).
- **Lexical**: BM25 over the same sentences, accent- and case-folded, English and
  French stop words, no stemming (one analysis for every language). Rare proper
  nouns carry most real questions, so this branch weighs more.
- **Fusion**: weighted reciprocal-rank fusion. Sentences are then grouped into their
  paragraph passages; a per-release cap keeps one long release from crowding out
  the rest.
- **Filters** (date range, languages, release ids) are hard, in both branches.
  **Time**: a period named in the question ("in July 2010", "en février 2024",
  "last year") boosts releases dated in it; it does not filter.

Nothing here grows with the corpus per question: the index (:mod:`qa_bot.store.index`) is
memory-mapped, and a release's text is read from the store only when one of its passages
is returned (a few recent ones are kept).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from collections import OrderedDict, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .embedders import Embedder
from .store import ChromaStore
from .store.index import SearchIndex, Snapshot, date_of
from .text import Period, find_periods, terms
from .types import Filters, Passage, Release, Sentence
from .words import WordMatcher

RELEASE_CACHE = 256
"""Releases (with their text) kept in memory, most recently used."""


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
    translated_weight: float = 0.0
    """Weight of BM25 over the releases in other languages than the question's, with the
    question's words translated (0: no such branch)."""
    translation_similarity: float = 0.8
    """A word of those releases translates a question word from this word-vector similarity."""
    translation_releases: int = 3
    """The vocabulary translated into is that of the releases, in each other language, that
    the question's embedding finds first."""

    @classmethod
    def fitted(cls) -> RetrievalConfig:
        """The weights in ``qa_bot/params.json``."""
        import dataclasses

        from .fitted import retrieval_weights

        fields = {f.name for f in dataclasses.fields(cls)}
        weights = {k: v for k, v in retrieval_weights().items() if k in fields}
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
        if not filters.since:  # an undated release (0) is in no period, as with --since
            conds.append({"date_int": {"$gt": 0}})
    if filters.languages:
        conds.append({"release_language": {"$in": list(filters.languages)}})
    if filters.release_ids:
        conds.append({"release_id": {"$in": list(filters.release_ids)}})
    if not conds:
        return None
    return conds[0] if len(conds) == 1 else {"$and": conds}


class Releases(Mapping[str, Release]):
    """The store's releases by id, read when asked for (the few most recent are kept)."""

    def __init__(self, retriever: Retriever) -> None:
        self._retriever = retriever
        self._cache: OrderedDict[str, Release] = OrderedDict()
        self._lock = threading.Lock()

    def __getitem__(self, release_id: str) -> Release:
        found = self.get_many([release_id]).get(release_id)
        if found is None:
            raise KeyError(release_id)
        return found

    def get_many(self, release_ids: Sequence[str]) -> dict[str, Release]:
        """The releases that are live in the index, with the text of the indexed version."""
        snap = self._retriever.snapshot
        wanted = {}
        for rid in dict.fromkeys(release_ids):
            found = snap.release(rid)
            if found is not None:
                wanted[rid] = found[0]
        out: dict[str, Release] = {}
        with self._lock:
            for rid, version in wanted.items():
                key = f"{rid}\x00{version}"
                if key in self._cache:
                    self._cache.move_to_end(key)
                    out[rid] = self._cache[key]
        missing = [rid for rid in wanted if rid not in out]
        if missing:
            got = self._retriever.store.get_versioned(missing)
            with self._lock:
                for rid, (release, version) in got.items():
                    if version != wanted[rid]:
                        continue  # being replaced: the index does not hold this version yet
                    out[rid] = release
                    self._cache[f"{rid}\x00{version}"] = release
                while len(self._cache) > RELEASE_CACHE:
                    self._cache.popitem(last=False)
        # in the order asked for, whatever was cached and whatever order the store returned
        # them in: callers read words from them in this order (ties between equally near
        # words go to the first)
        return {rid: out[rid] for rid in wanted if rid in out}

    def __contains__(self, release_id: object) -> bool:
        return isinstance(release_id, str) and release_id in self._retriever.snapshot.release_at

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._retriever.snapshot.release_at))

    def __len__(self) -> int:
        return len(self._retriever.snapshot.release_at)


class Retriever:
    def __init__(
        self,
        *,
        store: ChromaStore,
        embedder: Embedder,
        index: SearchIndex,
        config: RetrievalConfig | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.index = index
        self.config = config or RetrievalConfig.fitted()
        self._generation: str | None | bool = False  # False: never loaded
        self._lock = threading.Lock()
        self._recent: OrderedDict[str, list[float]] = OrderedDict()
        self._recent_lock = threading.Lock()
        self.words = WordMatcher(self.embed)
        self._snapshot: Snapshot | None = None
        self.releases: Releases = Releases(self)
        """Every live release by id (its text is read from the store when asked for)."""

    # ------------------------------------------------------------ freshness
    @property
    def snapshot(self) -> Snapshot:
        if self._snapshot is None:
            self.refresh()
        assert self._snapshot is not None
        return self._snapshot

    def refresh(self) -> None:
        """Open the index of the store's generation if the store changed (cheap otherwise):
        the one a writer left, or (none matching and nobody writing) one rebuilt now."""
        generation = self.store.generation()
        if generation == self._generation:
            return
        with self._lock:
            if generation == self._generation:
                return
            snap = self.index.open(generation)
            if snap is None:
                rebuilt = self._rebuild()
                if rebuilt is None:
                    self._await_writer()
                    return
                generation, snap = rebuilt
                assert snap is not None, "the index just written could not be opened"
            self._snapshot = snap
            self._generation = generation

    def _await_writer(self) -> None:
        """A writer is at work (its index is coming): keep answering from what we have, or
        from the newest index it left, rather than wait for it."""
        from .errors import StoreError

        if self._snapshot is None:
            self._snapshot = self.index.latest()
        if self._snapshot is None:
            raise StoreError(
                "Another qa-bot process is writing the first releases into this store and "
                "nothing is searchable yet: ask again when its ingest is done."
            )

    def _rebuild(self) -> tuple[str | None, Snapshot | None] | None:
        """The index of the store's generation, rebuilt now if none matches; None when a
        writer holds the index (it writes the one that matches)."""
        from .errors import StoreError, WriterBusyError
        from .store.indexing import rebuild

        try:
            with self.index.lock(wait=0):
                generation = self.store.generation()
                snap = self.index.open(generation)
                if snap is None:
                    generation = rebuild(self.index, self.store)
                    snap = self.index.open(generation)
        except WriterBusyError:
            return None
        except OSError as exc:
            raise StoreError(
                f"Cannot write the search index at {self.index.directory} ({exc.strerror or exc}): "
                "it is made once beside the store. Give this user write access there, or copy "
                "the store to a writable place and point --store or QA_BOT_STORE at the copy."
            ) from exc
        return generation, snap

    @property
    def newest(self) -> dt.date | None:
        return date_of(self.snapshot.newest_int)

    # ------------------------------------------------------------ search
    def _mask(self, snap: Snapshot, filters: Filters) -> Any:
        import numpy as np

        mask = snap.live.copy()
        if filters.since:
            mask &= snap.date >= _date_int(filters.since)
        if filters.until:  # an undated release (0) is in no period, as with --since
            mask &= (snap.date <= _date_int(filters.until)) & (snap.date > 0)
        if filters.languages:
            codes = [i for i, lang in enumerate(snap.languages) if lang in filters.languages]
            mask &= np.isin(snap.release_lang, codes)
        if filters.release_ids:
            only = np.zeros(snap.n, dtype=bool)
            for rid in filters.release_ids:
                found = snap.release(rid)
                if found is not None:
                    only[found[2].start : found[2].stop] = True
            mask &= only
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
        a follow-up rewritten with its context). For a question that asks several things
        (:func:`~qa_bot.answering.question.split_question`), the best passage for each
        thing comes right after the best for the whole: a question about two events often
        matches one of them far better than the other."""
        from .answering.question import split_question

        started = time.perf_counter()
        found = self._search(question, k, filters, prefer, query)
        parts = split_question(question) if query in (None, question) else ()
        if not parts:
            return found
        bests = [
            self._search(p.text, 1, filters, prefer, None, p.periods(self.newest)).passages
            for p in parts
        ]
        merged: dict[tuple[str, int], Passage] = {}
        for passage in [*found.passages[:1], *(b[0] for b in bests if b), *found.passages]:
            merged.setdefault((passage.release_id, passage.start), passage)
        return dataclasses.replace(
            found,
            passages=tuple(merged.values())[:k],
            ms=(time.perf_counter() - started) * 1000,
        )

    def _search(
        self,
        question: str,
        k: int,
        filters: Filters | None,
        prefer: Sequence[str],
        query: str | None,
        periods: tuple[Period, ...] = (),
    ) -> Retrieved:
        started = time.perf_counter()
        self.refresh()
        snap = self.snapshot
        filters = filters or Filters()
        cfg = self.config
        text = query or question
        periods = periods or find_periods(question, newest=self.newest)
        period = periods[0] if periods else None
        if not snap.n:
            return Retrieved((), period, (time.perf_counter() - started) * 1000)

        mask = self._mask(snap, filters)
        weights = mask.astype("float32")
        words = terms(text)
        scores: dict[int, float] = defaultdict(float)
        dense_sim: dict[int, float] = {}
        for rank, (pos, _) in enumerate(snap.bm25(words, k=cfg.lexical_k, mask=weights)):
            scores[pos] += cfg.lexical_weight / (cfg.rrf_k + rank + 1)
        vector = self.embed([text])[0]
        for rank, (pos, sim) in enumerate(snap.dense(vector, k=cfg.dense_k, mask=mask)):
            scores[pos] += cfg.dense_weight / (cfg.rrf_k + rank + 1)
            dense_sim[pos] = sim
        if cfg.translated_weight:
            for other, translated in self._translations(snap, mask, text, words, vector):
                for rank, (pos, _) in enumerate(
                    snap.bm25(translated, k=cfg.lexical_k, mask=other.astype("float32"))
                ):
                    scores[pos] += cfg.translated_weight / (cfg.rrf_k + rank + 1)

        prefer_set = set(prefer)
        spans = [(_date_int(a), _date_int(b)) for a, b in periods]

        def in_period(date: int) -> bool:
            return any(lo <= date <= hi for lo, hi in spans)

        if spans or prefer_set:
            for pos in scores:
                if spans and in_period(int(snap.date[pos])):
                    scores[pos] *= 1 + cfg.time_boost
                if prefer_set and snap.release_of_row(pos) in prefer_set:
                    scores[pos] *= 1 + cfg.prefer_boost

        # sentences → passages, with BM25 over whole passages as a third ranking
        by_passage: dict[int, list[int]] = defaultdict(list)
        for pos in scores:
            by_passage[snap.row(pos)[5]].append(pos)
        passage_score = {
            pid: max(scores[p] for p in members) + 0.1 * sum(scores[p] for p in members)
            for pid, members in by_passage.items()
        }
        first = snap.passage_first_rows()
        for prank, (pid, _) in enumerate(
            snap.bm25_passages(words, k=cfg.lexical_k, mask=weights[first])
        ):
            boost = cfg.passage_weight / (cfg.rrf_k + prank + 1)
            if spans and in_period(int(snap.date[first[pid]])):
                boost *= 1 + cfg.time_boost
            passage_score[pid] = passage_score.get(pid, 0.0) + boost
            by_passage.setdefault(pid, [])
        ranked = sorted(by_passage, key=lambda pid: -passage_score[pid])
        # the releases of the passages that can be returned, read from the store at once
        candidates: list[tuple[int, str]] = []
        per_release: dict[str, int] = defaultdict(int)
        for pid in ranked:
            rid = snap.release_of_row(int(first[pid]))
            if per_release[rid] >= cfg.per_release:
                continue
            per_release[rid] += 1
            candidates.append((pid, rid))
            if len(candidates) >= 2 * k:
                break
        texts = self.releases.get_many([rid for _, rid in candidates])
        passages: list[Passage] = []
        for pid, rid in candidates:
            if rid not in texts:
                continue  # deleted or being replaced since the index was opened
            passages.append(
                self._passage(snap, texts[rid], pid, scores, dense_sim, passage_score[pid])
            )
            if len(passages) >= k:
                break
        return Retrieved(tuple(passages), period, (time.perf_counter() - started) * 1000)

    def _translations(
        self, snap: Snapshot, mask: Any, text: str, words: list[str], vector: Sequence[float]
    ) -> Iterator[tuple[Any, list[str]]]:
        """For each language of the releases other than the question's: (the mask of its
        sentences, the question's words translated into the words of its releases that the
        question's embedding finds first). Across languages BM25 matches no word, and the
        embedding of a long sentence can miss what single words find ("opened the meeting"
        and "a ouvert la réunion")."""
        import numpy as np

        from .answering.question import language_of

        language = language_of(text)
        cfg = self.config
        for code, other in enumerate(snap.languages):
            if other == language:
                continue
            within = mask & (snap.lang == code)
            if not within.any():
                continue
            found = snap.dense(vector, k=cfg.dense_k, mask=within)
            rids = list(dict.fromkeys(snap.release_of_row(pos) for pos, _ in found))
            texts = self.releases.get_many(rids[: int(cfg.translation_releases)])
            vocabulary = list(dict.fromkeys(t for r in texts.values() for t in terms(r.text)))
            if not vocabulary or not words:
                continue
            self.words.prepare([*words, *vocabulary])
            near = self.words.similarities(words, vocabulary)
            best = np.argmax(near, axis=1)
            translated = [
                vocabulary[int(j)]
                for i, j in enumerate(best)
                if near[i, int(j)] >= cfg.translation_similarity
            ]
            if translated:
                yield within, translated

    # ------------------------------------------------------------ what the answerer reads
    def embed(self, texts: list[str]) -> list[list[float]]:
        """Embeddings; a question's is remembered, so that retrieval and the answerer
        embed it once between them."""
        if len(texts) != 1:
            return self.embedder.embed(texts)
        with self._recent_lock:
            found = self._recent.get(texts[0])
        if found is None:
            found = self.embedder.embed(texts)[0]
            with self._recent_lock:
                self._recent[texts[0]] = found
                while len(self._recent) > 32:
                    self._recent.popitem(last=False)
        return [found]

    def vectors(self, chunk_ids: Sequence[str]) -> dict[str, list[float]]:
        """Stored vectors of chunks, by id (those the index holds)."""
        snap = self.snapshot
        out: dict[str, list[float]] = {}
        for cid in chunk_ids:
            row = snap.row_of_chunk(cid)
            if row is not None:
                out[cid] = snap.vector(row).tolist()
        return out

    def titles(self, release_id: str) -> tuple[str, ...]:
        """A release's title in every language it has one."""
        found = self.snapshot.release(release_id)
        return tuple(found[1]) if found else ()

    def idf(self, term: str) -> float:
        """Inverse document frequency of a folded term over sentences (high: rare)."""
        return self.snapshot.idf(term)

    def rarity(self, term: str) -> float:
        """IDF relative to a word no sentence holds (0-1], whatever the store's size."""
        return self.snapshot.rarity(term)

    def df(self, term: str) -> int:
        """How many sentences hold the folded term."""
        return self.snapshot.df(term)

    def release_passages(self, release_id: str) -> list[Passage]:
        """Every passage of a release, in order (scores 0): context around a hit."""
        self.refresh()
        snap = self.snapshot
        found = snap.release(release_id)
        release = self.releases.get_many([release_id]).get(release_id)
        if found is None or release is None:
            return []
        return [self._passage(snap, release, pid, {}, {}) for pid in found[3]]

    def _passage(
        self,
        snap: Snapshot,
        release: Release,
        passage: int,
        scores: dict[int, float],
        dense_sim: dict[int, float],
        score: float = 0.0,
    ) -> Passage:
        _, _, rows, start, end = snap.passage(passage)
        sentences = []
        for i in rows:
            _, version, s_start, s_end, position, _, language = snap.row(i)
            sentences.append(
                Sentence(
                    chunk_id=f"{release.release_id}:{version}:{position}",
                    text=release.text[s_start:s_end],
                    start=s_start,
                    end=s_end,
                    language=language or release.language,
                    score=scores.get(i, 0.0),
                    similarity=dense_sim.get(i, 0.0),
                )
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
            sentences=tuple(sentences),
            source=release.source,
        )
