"""The search index beside the Chroma store, as arrays on disk that readers memory-map.

It holds what a question needs besides the releases' texts: BM25 over sentences and over
whole passages, each sentence's vector (exact dense search in numpy), and where each
sentence and passage lies in its release. Nothing of it is rebuilt to answer: a reader
opens the files, and its memory holds arrays, not one Python object per chunk.

Layout of its directory::

    vocab.json                  every term ever indexed, append-only: a term's id is its place
    seg-<name>/                 a segment: the chunks of the releases one write added (immutable)
    manifest-<generation>.json  the segments (and the rows of each that are deleted) and the
                                corpus statistics that make the index of that store generation
    write.lock                  held by the one process that writes (flock, via filelock)

A write (an ingest run, an upload, a delete) adds one segment for what it added, marks the
rows of replaced or deleted releases in older segments, and writes the manifest for the
store's new generation: its cost follows what changed, not the corpus (small segments are
merged now and then, as in Lucene). Readers open the manifest that matches the store's
generation, so several processes (or several readers of one Chroma server on this machine)
share one index; one that finds none (the store was written from another machine, or
before the index existed) rebuilds it from the store once (:mod:`qa_bot.store.indexing`).

BM25 is Lucene's variant with bm25s's defaults (k1 1.5, b 0.75), computed at query time
from stored term frequencies and corpus statistics kept up to date on every write, so an
index built in many writes scores as one built at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

K1 = 1.5
B = 0.75
# columns of a segment's rows.npy (one row per sentence chunk)
RELEASE, DATE, START, END, POSITION, PASSAGE, LANG, RLANG = range(8)
ROW_COLUMNS = 8
RESCORE = 10
"""The dense search rescores exactly this many times ``k`` candidates of a projection."""
# columns of passages.npy: first row, end row (exclusive), start and end in the release text
FIRST, LAST, PSTART, PEND = range(4)


def atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class Segment:
    """One immutable segment, memory-mapped."""

    def __init__(self, directory: Path) -> None:
        import numpy as np

        self.name = directory.name
        meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
        self.releases: list[str] = meta["releases"]
        self.versions: list[str] = meta["versions"]
        self._directory = directory
        self._titles: dict[str, list[list[str]]] | None = (
            {"titles": meta["titles"], "title_terms": meta["title_terms"]}
            if "titles" in meta  # written before titles.json
            else None
        )
        self.languages: list[str] = meta["languages"]
        self.release_rows: list[int] = meta["release_rows"]
        self.release_passages: list[int] = meta["release_passages"]
        self.dim: int = meta["dim"]
        self.n: int = meta["rows"]

        def load(name: str) -> Any:
            return np.load(directory / f"{name}.npy", mmap_mode="r")

        self.rows = load("rows")
        self.passages = load("passages")
        self.s_indptr, self.s_docs, self.s_tf, self.s_len = (
            load("s_indptr"),
            load("s_docs"),
            load("s_tf"),
            load("s_len"),
        )
        self.p_indptr, self.p_docs, self.p_tf, self.p_len = (
            load("p_indptr"),
            load("p_docs"),
            load("p_tf"),
            load("p_len"),
        )
        self.norms = load("norms")
        # large segments also keep their vectors projected on their main directions: the
        # dense search scans those (a quarter of the bytes), then rescores the best exactly
        self.basis: Any = load("basis") if (directory / "basis.npy").exists() else None
        self.coarse: Any = load("coarse") if self.basis is not None else None
        self.vectors = (
            np.memmap(
                directory / "vectors.f32", dtype=np.float32, mode="r", shape=(self.n, self.dim)
            )
            if self.n and self.dim
            else np.zeros((self.n, max(self.dim, 1)), dtype=np.float32)
        )

    @property
    def n_passages(self) -> int:
        return int(self.passages.shape[0])

    @property
    def titles(self) -> list[list[str]]:
        """Each release's titles (in every language it has one)."""
        return self._title_lists()["titles"]

    @property
    def title_terms(self) -> list[list[str]]:
        """The terms of each release's titles (counted in each of its passages)."""
        return self._title_lists()["title_terms"]

    def _title_lists(self) -> dict[str, list[list[str]]]:
        # read when first asked for: most of meta's bytes, and opening the index (every
        # fresh process) needs none of them
        if self._titles is None:
            text = (self._directory / "titles.json").read_text(encoding="utf-8")
            self._titles = json.loads(text)
        return self._titles


@dataclass(frozen=True)
class Stats:
    """Corpus statistics over live rows: BM25's document frequencies and lengths."""

    s_df: Any
    p_df: Any
    s_n: int
    s_total: float
    p_n: int
    p_total: float


class Snapshot:
    """The index of one store generation: what retrieval and the answerer read."""

    def __init__(
        self,
        *,
        generation: str | None,
        segments: list[Segment],
        deleted: list[Any],
        stats: Stats,
        vocab: dict[str, int],
    ) -> None:
        import numpy as np

        self.generation = generation
        self.segments = segments
        self.stats = stats
        self.vocab = vocab
        self.row_offsets = np.cumsum([0] + [s.n for s in segments])
        self.passage_offsets = np.cumsum([0] + [s.n_passages for s in segments])
        self.n = int(self.row_offsets[-1])
        self.n_passages = int(self.passage_offsets[-1])
        self.live = np.concatenate([~d for d in deleted]) if segments else np.zeros(0, dtype=bool)
        # global language codes, so that a filter is one vectorised comparison
        self.languages: list[str] = sorted({lang for s in segments for lang in s.languages})
        code = {lang: i for i, lang in enumerate(self.languages)}
        dates, langs, rlangs = [], [], []
        for s in segments:
            remap = np.array([code[x] for x in s.languages] or [0], dtype=np.int16)
            dates.append(np.asarray(s.rows[:, DATE]))
            langs.append(remap[s.rows[:, LANG]] if s.n else np.zeros(0, np.int16))
            rlangs.append(remap[s.rows[:, RLANG]] if s.n else np.zeros(0, np.int16))
        empty = np.zeros(0, dtype=np.int32)
        self.date = np.concatenate(dates) if dates else empty
        self.lang = np.concatenate(langs) if langs else empty
        self.release_lang = np.concatenate(rlangs) if rlangs else empty
        # live releases: id -> (segment, local release number); per release, not per chunk
        self.release_at: dict[str, tuple[int, int]] = {}
        for si, s in enumerate(segments):
            for ri, rid in enumerate(s.releases):
                row = s.release_rows[ri]
                if row < s.n and not deleted[si][row]:
                    self.release_at[rid] = (si, ri)
        self._first_rows: Any = None
        self._keys: tuple[Any, Any] | None = None
        self._approx_kept: tuple[bytes, dict[int, Any]] | None = None
        live_dates = self.date[self.live] if self.n else empty
        self.newest_int = int(live_dates.max()) if live_dates.size else 0

    # ------------------------------------------------------------ rows and passages
    def _seg(self, row: int) -> tuple[int, int]:
        import numpy as np

        si = int(np.searchsorted(self.row_offsets, row, side="right")) - 1
        return si, row - int(self.row_offsets[si])

    def _pseg(self, passage: int) -> tuple[int, int]:
        import numpy as np

        si = int(np.searchsorted(self.passage_offsets, passage, side="right")) - 1
        return si, passage - int(self.passage_offsets[si])

    def row(self, row: int) -> tuple[str, str, int, int, int, int, str]:
        """(release id, version, start, end, position, passage, language) of a row."""
        si, local = self._seg(row)
        s = self.segments[si]
        r = s.rows[local]
        return (
            s.releases[r[RELEASE]],
            s.versions[r[RELEASE]],
            int(r[START]),
            int(r[END]),
            int(r[POSITION]),
            int(self.passage_offsets[si]) + int(r[PASSAGE]),
            s.languages[r[LANG]],
        )

    def release_of_row(self, row: int) -> str:
        si, local = self._seg(row)
        s = self.segments[si]
        return s.releases[int(s.rows[local, RELEASE])]

    def passage(self, passage: int) -> tuple[str, str, range, int, int]:
        """(release id, version, global rows, start, end) of a passage."""
        si, local = self._pseg(passage)
        s = self.segments[si]
        first, last, start, end = (int(x) for x in s.passages[local])
        rid = s.releases[int(s.rows[first, RELEASE])]
        version = s.versions[int(s.rows[first, RELEASE])]
        base = int(self.row_offsets[si])
        return rid, version, range(base + first, base + last), start, end

    def passage_first_rows(self) -> Any:
        """The first row of every passage (where a passage's filters are read)."""
        import numpy as np

        if self._first_rows is None:
            parts = [
                np.asarray(s.passages[:, FIRST]) + int(off)
                for s, off in zip(self.segments, self.row_offsets, strict=False)
            ]
            self._first_rows = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        return self._first_rows

    def order_keys(self) -> tuple[Any, Any]:
        """A key per row and per passage that does not depend on where it lies in the
        index: its release id's place among all ids, then its place in the release. Ties in
        a ranking go to the smaller key, so an index written in many steps (segments in the
        order of the writes, merged, with holes) ranks as one built at once."""
        import numpy as np

        if self._keys is None:
            ids = sorted({rid for s in self.segments for rid in s.releases})
            place = {rid: i for i, rid in enumerate(ids)}
            rows, passages = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
            for s in self.segments:
                rank = np.array([place[rid] for rid in s.releases] or [0], dtype=np.int64) << 32
                if s.n:
                    cols = np.asarray(s.rows[:, [RELEASE, POSITION]], dtype=np.int64)
                    rows.append(rank[cols[:, 0]] | cols[:, 1])
                if s.n_passages:
                    owner = np.asarray(s.rows[np.asarray(s.passages[:, FIRST]), RELEASE])
                    first = np.asarray(s.release_passages, dtype=np.int64)[owner]
                    passages.append(rank[owner] | (np.arange(s.n_passages) - first))
            self._keys = (np.concatenate(rows), np.concatenate(passages))
        return self._keys

    def release(self, release_id: str) -> tuple[str, list[str], range, range] | None:
        """(version, titles, global rows, global passages) of a live release."""
        found = self.release_at.get(release_id)
        if found is None:
            return None
        si, ri = found
        s = self.segments[si]
        rows = range(
            int(self.row_offsets[si]) + s.release_rows[ri],
            int(self.row_offsets[si]) + s.release_rows[ri + 1],
        )
        passages = range(
            int(self.passage_offsets[si]) + s.release_passages[ri],
            int(self.passage_offsets[si]) + s.release_passages[ri + 1],
        )
        return s.versions[ri], s.titles[ri], rows, passages

    def row_of_chunk(self, chunk_id: str) -> int | None:
        """The row of a chunk id (``release:version:position``), if it is live."""
        parts = chunk_id.rsplit(":", 2)
        if len(parts) != 3 or not parts[2].isdigit():
            return None
        found = self.release(parts[0])
        if found is None or found[0] != parts[1]:
            return None
        row = found[2].start + int(parts[2])
        return row if row in found[2] else None

    def vector(self, row: int) -> Any:
        si, local = self._seg(row)
        return self.segments[si].vectors[local]

    # ------------------------------------------------------------ statistics
    def df(self, term: str) -> int:
        t = self.vocab.get(term)
        return 0 if t is None or t >= len(self.stats.s_df) else int(self.stats.s_df[t])

    def idf(self, term: str) -> float:
        """Inverse document frequency of a folded term over sentences (high: rare)."""
        return math.log(1 + max(self.stats.s_n, 1) / (1 + self.df(term)))

    def rarity(self, term: str) -> float:
        """The IDF relative to that of a word no sentence holds (0-1]: it reads the same in a
        store of 40 releases and of 15,000, where raw IDFs top out at about 5.7 and 11.5."""
        return self.idf(term) / math.log(1 + max(self.stats.s_n, 1))

    # ------------------------------------------------------------ searching
    def bm25(self, terms: Sequence[str], *, k: int, mask: Any) -> list[tuple[int, float]]:
        """(row, score) of the best ``k`` sentences for the query terms (``mask`` per row)."""
        st = self.stats
        return self._bm25(terms, k, mask, st.s_df, st.s_n, st.s_total, passages=False)

    def bm25_passages(self, terms: Sequence[str], *, k: int, mask: Any) -> list[tuple[int, float]]:
        """(passage, score) of the best ``k`` passages (``mask`` per passage)."""
        st = self.stats
        return self._bm25(terms, k, mask, st.p_df, st.p_n, st.p_total, passages=True)

    def _bm25(
        self,
        terms: Sequence[str],
        k: int,
        mask: Any,
        df: Any,
        n: int,
        total: float,
        *,
        passages: bool,
    ) -> list[tuple[int, float]]:
        import numpy as np

        ids = [t for t in (self.vocab.get(x) for x in terms) if t is not None and t < len(df)]
        ids = [t for t in ids if df[t] > 0]
        size = self.n_passages if passages else self.n
        if not ids or not size or not n:
            return []
        avg = np.float64(total / n)
        scores = np.zeros(size, dtype=np.float32)
        offsets = self.passage_offsets if passages else self.row_offsets
        for t in ids:  # a repeated query word counts again, as in bm25s
            idf = np.float32(math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)))
            for s, off in zip(self.segments, offsets, strict=False):
                indptr, docs, tf, length = (
                    (s.p_indptr, s.p_docs, s.p_tf, s.p_len)
                    if passages
                    else (s.s_indptr, s.s_docs, s.s_tf, s.s_len)
                )
                if t + 1 >= len(indptr):
                    continue
                lo, hi = int(indptr[t]), int(indptr[t + 1])
                if lo == hi:
                    continue
                d = np.asarray(docs[lo:hi])
                f = np.asarray(tf[lo:hi])
                tfc = f / (K1 * ((1 - B) + B * np.asarray(length[d], dtype=np.float64) / avg) + f)
                scores[int(off) + d] += (idf * tfc).astype(np.float32)
        scores *= mask
        return top(scores, min(k, size), self.order_keys()[1 if passages else 0])

    def dense(self, vector: Sequence[float], *, k: int, mask: Any) -> list[tuple[int, float]]:
        """(row, cosine similarity) of the ``k`` nearest sentences among ``mask``: exact."""
        import numpy as np

        if not self.n or k <= 0:
            return []
        q = np.asarray(vector, dtype=np.float32)
        q = q / (np.linalg.norm(q) or 1.0)
        rows, sims = [], []
        for si, (s, off) in enumerate(zip(self.segments, self.row_offsets, strict=False)):
            lo = int(off)
            part = mask[lo : lo + s.n]
            if not s.n or not part.any():
                continue
            if s.coarse is not None:
                # approximate similarities over the projection; the best RESCORE * k
                # (filtered, with any tied with the last) are then scored exactly
                approx = self._approx(si, s, q)
                within = None if part.all() else np.flatnonzero(part)
                if within is not None:
                    approx = approx[within]
                n = min(RESCORE * k, approx.size)
                cut = np.partition(approx, approx.size - n)[approx.size - n]
                local = np.flatnonzero(approx >= cut)
                # NaN, or many values tied with the cut: exactly n of them
                if not local.size or local.size > 2 * n:
                    local = np.sort(np.argpartition(approx, approx.size - n)[approx.size - n :])
                if within is not None:
                    local = within[local]
                exact = _dot(s.vectors[local], q) / s.norms[local]
            else:
                local = np.flatnonzero(part)
                exact = _dot(s.vectors, q)[local] / s.norms[local]
            rows.append(local + lo)
            sims.append(exact.astype(np.float32))
        if not rows:
            return []
        found, sim = np.concatenate(rows), np.concatenate(sims)
        order = best(sim, k, self.order_keys()[0][found])
        return [(int(found[i]), float(sim[i])) for i in order]

    def _approx(self, si: int, segment: Segment, q: Any) -> Any:
        """The projected similarities of segment ``si``'s rows to the unit query ``q``;
        the last query's are kept, per segment: a question searches its vector again
        within the releases of each other language. Read-only: sessions share them."""
        key = q.tobytes()
        kept = self._approx_kept
        if kept is None or kept[0] != key:
            kept = (key, {})
            self._approx_kept = kept
        approx = kept[1].get(si)
        if approx is None:
            approx = _dot(segment.coarse, q @ segment.basis)
            approx.setflags(write=False)
            kept[1][si] = approx
        return approx


def _dot(matrix: Any, vector: Any) -> Any:
    """``matrix @ vector`` without BLAS: OpenBLAS's threads, woken after the embedder's
    own, cost milliseconds per call even on a small matrix."""
    import numpy as np

    return np.einsum("ij,j->i", matrix, vector)


def top(scores: Any, k: int, keys: Any) -> list[tuple[int, float]]:
    """The ``k`` best positive scores, best first, ties by ``keys``; selected over the rows
    that hold a query word (few, at any size)."""
    import numpy as np

    hits = np.flatnonzero(scores > 0)
    order = best(scores[hits], k, keys[hits])
    return [(int(hits[i]), float(scores[hits[i]])) for i in order]


def best(values: Any, k: int, keys: Any) -> Any:
    """Where the ``k`` highest ``values`` are, best first, equal values by ``keys`` (smallest
    first): which of several equal values make the cut does not depend on where they lie."""
    import numpy as np

    if k <= 0 or not values.size:
        return np.zeros(0, dtype=np.int64)
    candidates = np.arange(values.size)
    if values.size > k:
        cut = np.partition(values, values.size - k)[values.size - k]
        candidates = np.flatnonzero(values >= cut)  # with every value tied with the k-th
    order = np.lexsort((keys[candidates], -values[candidates]))[:k]
    return candidates[order]


class SearchIndex:
    """The index directory: opens the snapshot of a generation; writers hold its lock."""

    def __init__(self, *, directory: Path, wait: float = 600.0) -> None:
        self.directory = directory
        self.wait = wait
        """Seconds a writer waits for the lock (QA_BOT_WRITE_WAIT)."""
        self._segments: dict[str, Segment] = {}
        self._vocab: list[str] = []
        self._vocab_ids: dict[str, int] = {}

    def manifest_path(self, generation: str | None) -> Path:
        return self.directory / f"manifest-{generation or 'empty'}.json"

    def has(self, generation: str | None) -> bool:
        return self.manifest(generation) is not None

    def manifest(self, generation: str | None, *, stale: bool = False) -> dict[str, Any] | None:
        """The manifest of ``generation``; None when there is none, or when it was written
        with other terms (:func:`qa_bot.text.analyzer`) than this qa-bot makes (then it is
        rebuilt), unless ``stale``."""
        from ..text import analyzer

        try:
            found = dict(json.loads(self.manifest_path(generation).read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return None
        return found if stale or found.get("analyzer") == analyzer() else None

    def chunks(self, generation: str | None) -> int | None:
        """How many chunks the index of ``generation`` holds (None: no such index)."""
        manifest = self.manifest(generation)
        return None if manifest is None else int(manifest["stats"]["s_n"])

    def vocab(self, size: int) -> dict[str, int]:
        """The term ids, read again when a writer has added terms since."""
        if len(self._vocab) < size:
            self._vocab = json.loads((self.directory / "vocab.json").read_text(encoding="utf-8"))
            self._vocab_ids = {t: i for i, t in enumerate(self._vocab)}
        return self._vocab_ids

    def segment(self, name: str) -> Segment:
        if name not in self._segments:
            self._segments[name] = Segment(self.directory / name)
        return self._segments[name]

    def open(self, generation: str | None, *, stale: bool = False) -> Snapshot | None:
        """The snapshot of ``generation``, or None when no writer made it (``stale``: or
        made it with other terms)."""
        import numpy as np

        manifest = self.manifest(generation, stale=stale)
        if manifest is None:
            return None
        try:
            segments = [self.segment(s["name"]) for s in manifest["segments"]]
            deleted = [
                np.load(self.directory / s["deleted"])
                if s.get("deleted")
                else np.zeros(seg.n, dtype=bool)
                for s, seg in zip(manifest["segments"], segments, strict=True)
            ]
            st = manifest["stats"]
            stats = Stats(
                s_df=np.load(self.directory / st["s_df"]),
                p_df=np.load(self.directory / st["p_df"]),
                s_n=int(st["s_n"]),
                s_total=float(st["s_total"]),
                p_n=int(st["p_n"]),
                p_total=float(st["p_total"]),
            )
            vocab = self.vocab(int(manifest["vocab"]))
        except (OSError, ValueError, KeyError):
            return None  # removed meanwhile by a writer's clean-up: rebuilt by the caller
        return Snapshot(
            generation=generation, segments=segments, deleted=deleted, stats=stats, vocab=vocab
        )

    # ------------------------------------------------------------ writers
    @property
    def lock_path(self) -> Path:
        return self.directory / "write.lock"

    @contextlib.contextmanager
    def lock(self, wait: float | None = None) -> Iterator[None]:
        """Held while writing the store and this index: one writer at a time on this
        machine. Waits up to ``wait`` seconds (default: :attr:`wait`) for another writer,
        then raises a :class:`~qa_bot.errors.WriterBusyError`."""
        from filelock import FileLock, Timeout

        from ..errors import StoreError, WriterBusyError

        wait = self.wait if wait is None else wait
        lock = FileLock(self.lock_path)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            lock.acquire(timeout=wait)
        except Timeout:
            raise WriterBusyError(
                f"Another qa-bot process (an ingest, an upload or a delete) has been writing "
                f"this store for over {wait:g} s (it holds {self.lock_path}). Let it "
                "finish and run this again, or wait longer: raise QA_BOT_WRITE_WAIT (seconds)."
            ) from None
        except OSError as exc:  # a read-only store, or one this user may not write
            raise StoreError(
                f"Cannot write the store's lock {self.lock_path} ({exc.strerror or exc}): the "
                "store is read-only for this user. Give this user write access, or copy the "
                "store to a writable place and point --store or QA_BOT_STORE at the copy."
            ) from None
        try:
            yield
        finally:
            lock.release()

    def writing(self) -> bool:
        """Whether another writer holds the lock now (its manifest is coming)."""
        from filelock import FileLock, Timeout

        if not self.lock_path.exists():
            return False
        lock = FileLock(self.lock_path)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            return True
        lock.release()
        return False

    def latest(self) -> Snapshot | None:
        """The newest snapshot written (for a reader while a writer makes the next one, even
        one written with other terms: while another process rebuilds it after an upgrade)."""
        manifests = sorted(self.directory.glob("manifest-*.json"), key=_mtime, reverse=True)
        for path in manifests:
            generation = path.stem.removeprefix("manifest-")
            snap = self.open(None if generation == "empty" else generation, stale=True)
            if snap is not None:
                return snap
        return None


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # removed meanwhile by a writer's clean-up
        return 0.0


def date_of(value: int) -> dt.date | None:
    if not value:
        return None
    return dt.date(value // 10000, value // 100 % 100, value % 100)
