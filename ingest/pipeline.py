"""Incremental, idempotent ingestion.

For each release found under the given paths:

- unchanged (same content and chunking settings): skipped, nothing embedded;
- new or changed: chunked, embedded in batches, written so that the old
  version stays searchable until the new one is complete;
- ``prune``: releases whose source under those paths disappeared are removed;
- stored but missing some of its chunks (deleted behind the registry's back): written
  again ("repaired"), found when the store holds fewer chunks than its index.

Writers take turns on this machine (the search index's lock, waited for up to
QA_BOT_WRITE_WAIT), and announce themselves to the store, whose sweep then spares
their chunks (writers on other machines of a Chroma server).

A bad file or line is reported with its reason and never stops the run: any
exception while loading, parsing, chunking or storing one release rejects that
release (the store removes what it had written of it) and the run goes on. Only
the store itself failing (lost server, read-only or damaged store) stops a run,
with a :class:`~qa_bot.errors.StoreError`.

Release ids: a record's own ``id``, else one derived from the file name. A file
whose derived id is taken by another file is the same release when it holds the
same content (a copy of the corpus elsewhere) or when the other file is gone (it
moved); otherwise it gets an id of its own (the name and a hash of its path).
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa_bot.app import App
from qa_bot.embedders import Embedder, OpenAIEmbedder
from qa_bot.errors import QaBotError
from qa_bot.store import ChromaStore
from qa_bot.store.index import SearchIndex
from qa_bot.store.indexing import SegmentBuilder, Vocab, commit, rebuild, tokens_of
from qa_bot.types import Chunk, IngestReport, Rejection, Release, ReleaseInfo

from .chunking import Chunker
from .embedding import WorkAhead
from .loaders import MB, Limits, RawRelease, discover, display_path, load_file
from .metadata import METADATA_VERSION, derive_id

MAX_AHEAD = 16
"""Batches parsed and queued for embedding ahead of the writer, so the embedder never waits."""


def usable_cores(cgroup: Path = Path("/sys/fs/cgroup"), own: str | None = None) -> int:
    """The cores this process may keep busy: those of its CPU affinity (a container's
    cpuset), fewer when a CPU quota caps its cgroup or one above it (cgroup v2
    ``cpu.max``, v1 ``cpu.cfs_*``; ``docker run --cpus 2`` on a 16-core host gives 2).
    ``own`` is the process's cgroup path (read from ``/proc/self/cgroup`` when None)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = cores or 1
    path = Path((own if own is not None else _own_cgroup()).strip("/"))
    for root in (cgroup, cgroup / "cpu"):  # v2, then v1's cpu hierarchy
        for level in (path, *path.parents):
            quota = _quota(root / level, v2=root == cgroup)
            if quota:
                cores = min(cores, max(1, math.ceil(quota)))
    return cores


def _quota(directory: Path, *, v2: bool) -> float | None:
    """The CPUs a cgroup directory's quota allows, or None (none set, or unreadable)."""
    try:
        if v2:
            limit, _, period = (directory / "cpu.max").read_text().partition(" ")
            return None if limit.strip() == "max" else int(limit) / int(period or 100_000)
        quota = int((directory / "cpu.cfs_quota_us").read_text())
        return quota / int((directory / "cpu.cfs_period_us").read_text()) if quota > 0 else None
    except (OSError, ValueError, ZeroDivisionError):
        return None


def _own_cgroup() -> str:
    """This process's cgroup (v2, else v1's cpu controller), as ``/proc/self/cgroup`` says."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return "/"
    found = "/"
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            return path
        if "cpu" in controllers.split(","):
            found = path
    return found


EMBED_WORKERS = min(usable_cores(), 3)
"""Worker processes of a large run with a local embedder: one per core this process may
keep busy, at most 3."""
PREPARE_RELEASES = 32
"""Releases built and chunked per worker job."""
PREPARE_AHEAD = 8
"""Such jobs submitted ahead of the batches being formed (256 releases, about 1,800 chunks)."""
WRITE_CHUNKS = 1024
"""Chunks per store write (whole batches, up to this): a Chroma write costs 20-45 ms
besides its records, 256-chunk writes spent about a fifth of the ingest's store time on it."""
_Item = tuple["_Todo", Release, list[Chunk]]
Progress = Callable[[int, int], None]
"""Called with (releases done, releases to embed)."""


@dataclass(frozen=True)
class _Todo:
    raw: RawRelease
    release_id: str
    version: str
    is_new: bool
    repair: bool = False


def _kept(ids: list[str]) -> str:
    shown = ", ".join(sorted(ids)[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
    return (
        f"not pruned: the file could not be read in full, so its stored release"
        f"{'s' if len(ids) != 1 else ''} {shown} stay; fix the file (see the rejection above) "
        "and ingest again, or delete them with `qa-bot delete`"
    )


class Ingestor:
    def __init__(
        self,
        *,
        store: ChromaStore,
        embedder: Embedder,
        chunker: Chunker,
        batch_size: int = 256,
        index: SearchIndex | None = None,
        embed_workers: int = 0,
        workers_from: int = 100,
        limits: Limits | None = None,
    ) -> None:
        self.limits = limits or Limits()
        self.store = store
        self.embedder = embedder
        self.chunker = chunker
        self.batch_size = batch_size
        self.index = index
        """The search index beside the store, kept up to date by every run."""
        self.embed_workers = embed_workers
        """Worker processes that build, chunk and embed while this one writes (0: in-process)."""
        self.workers_from = workers_from
        """Runs with fewer releases to embed than this embed in-process."""

    def version_of(self, raw: RawRelease) -> str:
        key = f"{raw.fingerprint}|{self.chunker.signature}|meta{METADATA_VERSION}"
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    def run(
        self, paths: Sequence[Path], *, prune: bool = False, progress: Progress | None = None
    ) -> IngestReport:
        started = time.perf_counter()
        if self.index is None:
            with self.store.writer():
                return self._run(paths, prune, progress, started, None)
        # one writer at a time on this machine; readers keep their index meanwhile
        with self.index.lock(), self.store.writer():
            # what this run writes goes into a new segment of the index, unless the index
            # does not match the store (then it is rebuilt at the end)
            segment = None
            generation = self.store.generation()
            if generation is None or self.index.has(generation):  # None: nothing stored yet
                segment = SegmentBuilder(self.index, Vocab(self.index))
            try:
                return self._run(paths, prune, progress, started, segment)
            finally:
                if segment is not None:
                    segment.abandon()  # nothing left behind when the run failed

    def _run(
        self,
        paths: Sequence[Path],
        prune: bool,
        progress: Progress | None,
        started: float,
        segment: SegmentBuilder | None,
    ) -> IngestReport:
        files, rejected, skipped = discover(paths)
        self._generation_before = self.store.generation()
        self._mark = self.store.mark()
        # the whole registry is read only to prune, or to sweep the chunks an interrupted
        # run left (seen as more chunks than the index holds); otherwise the releases met
        # are looked up by id, so that adding one file costs the same at any size
        everything = None
        if (
            prune
            or segment is None
            or (
                self.store.count_chunks() != self.index.chunks(self._generation_before)  # type: ignore[union-attr]
            )
        ):
            everything = self.store.release_index()
            damaged = self.store.audit(everything)[1]
        else:
            damaged = set()
        unread: set[str] = set()  # files that could not be read in full
        raws = list(self._load(files, rejected, unread))
        index = _Known(self.store, everything)
        index.prefetch([derive_id(raw) for raw in raws])
        _stored_first(raws, index)

        todo: list[_Todo] = []
        read = {raw.source for raw in raws} - unread  # read in full
        warnings: list[Rejection] = []
        seen: dict[str, RawRelease] = {}  # id -> the first release met with it
        versions: dict[str, str] = {}
        unchanged = 0
        for raw in raws:
            version = self.version_of(raw)
            rid = self._unique_id(raw, version, index, seen, versions)
            if rid in seen and versions[rid] == version:
                skipped.append(f"{raw.where} (the same release as {seen[rid].where})")
                continue
            if rid in seen:
                rejected.append(
                    Rejection(
                        raw.where,
                        f"duplicate release id {rid!r} (also in {seen[rid].where}): "
                        "give each release its own 'id'",
                    )
                )
                continue
            known = index.get(rid)
            if (
                known is not None
                and known.version != version
                and known.source != raw.source
                and known.source not in read  # read whole in this run without it: it moved
                and Path(known.source).exists()
            ):  # a record naming the id of another file's release (exports number from "001")
                rejected.append(
                    Rejection(
                        raw.where,
                        f"release id {rid!r} is already stored from {known.source}, which is "
                        "still there: give this release its own 'id', or delete the stored "
                        f"one first (qa-bot delete {rid})",
                    )
                )
                continue
            seen[rid] = raw
            versions[rid] = version
            repair = rid in damaged
            if known is not None and known.version == version and not repair:
                unchanged += 1
                if raw.date and known.date is None:  # said again until the file is fixed
                    warnings.append(_undated(raw))
                continue
            todo.append(_Todo(raw, rid, version, is_new=known is None, repair=repair))

        added = updated = repaired = embedded = done = 0
        written: list[str] = []
        # identical sentences (boilerplate lines) are embedded once per run; once written,
        # a vector is read back from the index segment when the sentence comes again
        vectors: dict[str, Any] = {}
        rows: dict[str, int] = {}

        def vector_of(text: str) -> Any:
            found = vectors.get(text)
            return found if found is not None else segment.vector(rows[text])  # type: ignore[union-attr]

        in_flight: deque[tuple[list[_Item], list[str], int]] = deque()

        def write_ready(wait: bool) -> None:
            """Write the oldest batch (waiting for its vectors when ``wait``, else only when
            they are there) with the batches after it already embedded, up to WRITE_CHUNKS:
            written as soon as embedded, so the run ends soon after the embedding does."""
            nonlocal added, updated, repaired, embedded, done
            if not in_flight or not (wait or ahead.done(in_flight[0][2])):
                return
            batch: list[_Item] = []
            fresh: list[str] = []
            size = 0
            while in_flight and (
                not batch or (size < WRITE_CHUNKS and ahead.done(in_flight[0][2]))
            ):
                part, part_fresh, ticket = in_flight.popleft()
                vectors.update(zip(part_fresh, ahead.result(ticket), strict=True))
                batch += part
                fresh += part_fresh
                size += sum(len(chunks) for _, _, chunks in part)
            texts = {c.text for _, _, chunks in batch for c in chunks}
            batch = self._write(batch, {t: vector_of(t) for t in texts}, rejected)
            items = [(release, t.version, chunks) for t, release, chunks in batch]
            written.extend(r.release_id for r, _, _ in items)
            if segment is not None:  # tokenised here, while the worker embeds ahead
                for release, version, chunks in items:
                    first = segment.n
                    segment.add(
                        release,
                        version,
                        chunks,
                        [tokens_of(c.text) for c in chunks],
                        [vector_of(c.text) for c in chunks],
                    )
                    for i, c in enumerate(chunks):
                        rows.setdefault(c.text, first + i)
                for text in texts:
                    if text in rows:
                        vectors.pop(text, None)
            embedded += len(fresh)
            added += sum(t.is_new for t, _, _ in batch)
            updated += sum(not t.is_new and not t.repair for t, _, _ in batch)
            repaired += sum(t.repair for t, _, _ in batch)
            done += len(batch)
            if progress:
                progress(done, len(todo))

        workers = self.embed_workers if len(todo) >= self.workers_from else 0
        submitted: set[str] = set()
        with WorkAhead(self.embedder, self.chunker, workers=workers) as ahead:
            for batch in self._batches(todo, rejected, warnings, ahead):
                fresh = list(
                    dict.fromkeys(
                        c.text for _, _, chunks in batch for c in chunks if c.text not in submitted
                    )
                )
                submitted.update(fresh)
                in_flight.append((batch, fresh, ahead.submit(fresh)))
                write_ready(wait=len(in_flight) > MAX_AHEAD)
            while in_flight:
                write_ready(wait=True)
        if progress:
            progress(len(todo), len(todo))

        removed = 0
        deleted: list[str] = []
        if prune:
            roots = [p.resolve() for p in paths if p.exists()]
            assert everything is not None
            missing = [
                info
                for info in everything.values()
                if info.release_id not in seen and _under(info.source, roots)
            ]
            # a file that could not be read in full (a broken line, emptied half-way through
            # a save) may still hold its releases: only what it no longer holds when read
            # whole, or what a file that is gone held, is removed
            kept: dict[str, list[str]] = {}
            for info in missing:
                if info.source in unread:
                    kept.setdefault(info.source, []).append(info.release_id)
            warnings += [Rejection(source, _kept(ids)) for source, ids in sorted(kept.items())]
            gone = [info.release_id for info in missing if info.source not in unread]
            deleted = list(self.store.delete(gone))
            removed = len(deleted)
        if self.index is not None:
            self._update_index(segment, written, deleted)

        return IngestReport(
            added=added,
            updated=updated,
            unchanged=unchanged,
            removed=removed,
            removed_ids=tuple(sorted(deleted)),
            rejected=tuple(sorted(rejected, key=_file_order)),
            skipped=tuple(skipped),
            warnings=tuple(sorted(warnings, key=_file_order)),
            releases=self.store.count_releases(),
            chunks=self.store.count_chunks(),
            seconds=time.perf_counter() - started,
            embedded=embedded,
            repaired=repaired,
        )

    # -------------------------------------------------------------- helpers
    def _write(
        self, batch: list[_Item], vectors: dict[str, Any], rejected: list[Rejection]
    ) -> list[_Item]:
        """Write a batch; when it fails for something other than the store itself, write
        its releases one by one and reject those that fail. Returns what was written."""

        def write(items: list[_Item]) -> None:
            self.store.write(
                [(release, t.version, chunks) for t, release, chunks in items],
                [vectors[c.text] for _, _, chunks in items for c in chunks],
            )

        try:
            write(batch)
            return batch
        except QaBotError:
            raise  # the store failed (lost server, read-only, damaged): stop the run
        except Exception:
            if len(batch) == 1:
                return self._write_one(batch[0], write, rejected)
        ok: list[_Item] = []
        for item in batch:
            ok.extend(self._write_one(item, write, rejected))
        return ok

    @staticmethod
    def _write_one(
        item: _Item, write: Callable[[list[_Item]], None], rejected: list[Rejection]
    ) -> list[_Item]:
        try:
            write([item])
        except QaBotError:
            raise
        except Exception as exc:  # the store removed what it had written of this release
            rejected.append(
                Rejection(
                    item[0].raw.where,
                    f"could not be stored ({type(exc).__name__}: {str(exc)[:200]}); "
                    "what was stored before is kept",
                )
            )
            return []
        return [item]

    def _update_index(
        self, segment: SegmentBuilder | None, written: list[str], deleted: list[str]
    ) -> None:
        """Bring the search index beside the store up to date: a segment of what this run
        wrote, and the releases it replaced or removed marked, unless the index did not
        match the store before the run (then it is rebuilt from the store)."""
        assert self.index is not None
        generation = self.store.generation()
        # another process or machine wrote the store meanwhile: this index misses its writes
        foreign = not self.store.alone_since(self._mark, self._generation_before, generation)
        if generation == self._generation_before and self.index.has(generation):
            if segment is not None:
                segment.abandon()
            return
        done = (
            not foreign
            and segment is not None
            and commit(
                self.index,
                base=self._generation_before,
                generation=generation,
                vocab=segment.vocab,
                added=segment,
                removed=written + list(deleted),
                fresh=self._generation_before is None,
            )
        )
        if not done:
            # another process or client wrote the store without this index, or the store
            # predates it: rebuild it from the store
            if segment is not None:
                segment.abandon()
            rebuild(self.index, self.store)

    def _load(
        self, files: Iterable[Path], rejected: list[Rejection], unread: set[str]
    ) -> Iterable[RawRelease]:
        for path in files:
            path = path.resolve()
            for loaded in load_file(path, self.limits):
                if isinstance(loaded, Rejection):
                    rejected.append(loaded)
                    unread.add(display_path(path))
                else:
                    yield loaded

    @staticmethod
    def _unique_id(
        raw: RawRelease,
        version: str,
        index: _Known,
        seen: dict[str, RawRelease],
        versions: dict[str, str],
    ) -> str:
        """A derived id that is taken by another file gets a suffix from its path, unless
        that file holds the same content (a copy) or is gone (the file moved)."""
        rid = derive_id(raw)
        if raw.release_id:
            return rid
        if rid in seen:
            taken = seen[rid].source != raw.source and versions[rid] != version
        else:
            other = index.get(rid)
            taken = (
                other is not None
                and other.source != raw.source
                and other.version != version
                and Path(other.source).exists()
            )
        if taken:
            rid = f"{rid}-{hashlib.sha1(raw.source.encode()).hexdigest()[:6]}"
        return rid

    def _prepared(
        self, todo: list[_Todo], ahead: WorkAhead
    ) -> Iterator[tuple[_Todo, Release | None, list[Chunk], str]]:
        """``todo``'s releases built and chunked (by the workers, PREPARE_AHEAD jobs ahead
        of the caller), in order."""
        pending: deque[tuple[list[_Todo], int]] = deque()

        def ready(ahead_at_most: int) -> Iterator[tuple[_Todo, Release | None, list[Chunk], str]]:
            while len(pending) > ahead_at_most:
                group, ticket = pending.popleft()
                for t, (release, chunks, error) in zip(group, ahead.result(ticket), strict=True):
                    yield t, release, chunks, error

        for i in range(0, len(todo), PREPARE_RELEASES):
            group = todo[i : i + PREPARE_RELEASES]
            pending.append(
                (group, ahead.prepare([(t.raw, t.release_id, t.version) for t in group]))
            )
            yield from ready(PREPARE_AHEAD)
        yield from ready(0)

    def _batches(
        self,
        todo: list[_Todo],
        rejected: list[Rejection],
        warnings: list[Rejection],
        ahead: WorkAhead,
    ) -> Iterable[list[_Item]]:
        batch: list[_Item] = []
        size = 0
        limit = self.limits.release_chunks
        for t, release, chunks, error in self._prepared(todo, ahead):
            if release is None:  # one release only; nothing of it was stored yet
                rejected.append(
                    Rejection(
                        t.raw.where,
                        f"could not be split into sentences ({error}): re-save it as plain text",
                    )
                )
                continue
            if not chunks:
                rejected.append(Rejection(t.raw.where, "no sentences to index in the text"))
                continue
            if len(chunks) > limit:
                rejected.append(
                    Rejection(
                        t.raw.where,
                        f"too many chunks ({len(chunks):,}; the limit is {limit:,} per release, "
                        "QA_BOT_MAX_RELEASE_CHUNKS): split the release, or raise "
                        "QA_BOT_MAX_RELEASE_CHUNKS",
                    )
                )
                continue
            if release.date is None and (t.raw.date or release.unread_date):
                warnings.append(_undated(t.raw, release.unread_date))
            batch.append((t, release, chunks))
            size += len(chunks)
            if size >= self.batch_size:
                yield batch
                batch, size = [], 0
        if batch:
            yield batch


class _Known:
    """The stored releases' metadata, looked up by id (all of it when already read)."""

    def __init__(self, store: ChromaStore, everything: dict[str, ReleaseInfo] | None) -> None:
        self.store = store
        self.everything = everything
        self._found: dict[str, ReleaseInfo | None] = {}

    def prefetch(self, ids: Sequence[str]) -> None:
        if self.everything is not None:
            return
        wanted = [rid for rid in dict.fromkeys(ids) if rid not in self._found]
        for i in range(0, len(wanted), 1000):
            part = wanted[i : i + 1000]
            got = self.store.release_infos(part)
            self._found.update({rid: got.get(rid) for rid in part})

    def get(self, rid: str) -> ReleaseInfo | None:
        if self.everything is not None:
            return self.everything.get(rid)
        if rid not in self._found:
            self.prefetch([rid])
        return self._found[rid]


def build_ingestor(app: App) -> Ingestor:
    """The ingestor for an app's store, embedder and chunking settings."""
    chunker = Chunker(
        tokens=app.tokens,
        chunk_tokens=app.settings.chunk_tokens,
        passage_tokens=app.settings.passage_tokens,
    )
    return Ingestor(
        store=app.store,
        embedder=app.embedder,
        chunker=chunker,
        batch_size=app.settings.batch_size,
        index=app.index,
        # local models are CPU-bound: parse, chunk and embed in worker processes while this
        # one writes. One per core (2 cores, 19k sentences: 37 s with one worker, 29 s with
        # two); past three the writer, about a third of the work, could not keep up
        embed_workers=0 if isinstance(app.embedder, OpenAIEmbedder) else EMBED_WORKERS,
        limits=Limits(
            file_bytes=int(app.settings.max_file_mb * MB),
            unpacked_bytes=int(app.settings.max_unpacked_mb * MB),
            release_chars=app.settings.max_release_chars,
            release_chunks=app.settings.max_release_chunks,
        ),
    )


def _undated(raw: RawRelease, line: str | None = None) -> Rejection:
    """The warning for a release whose declared date (or date line) could not be read."""
    return Rejection(
        raw.where,
        f"date {raw.date or line!r} not understood: stored undated (write it as 2010-07-31 "
        "or 31 July 2010 and ingest the file again)",
    )


def _file_order(rejection: Rejection) -> tuple[str, int]:
    """Rejections by file, then by line (``path:12``): the same order at every run, though
    workers and the writer find them in an order that depends on timing."""
    path, _, line = rejection.path.rpartition(":")
    return (path, int(line)) if path and line.isascii() and line.isdigit() else (rejection.path, -1)


def _under(source: str, roots: list[Path]) -> bool:
    path = Path(source).resolve()
    return any(path == root or root in path.parents for root in roots)


def _stored_first(raws: list[RawRelease], index: _Known) -> None:
    """Where files of this run give one id to several releases, the one the store holds from
    the same file comes first: it is kept, and the newcomer is the one rejected (the first
    met wins)."""
    where: dict[str, list[int]] = {}
    for i, raw in enumerate(raws):
        where.setdefault(derive_id(raw), []).append(i)
    for rid, places in where.items():
        known = index.get(rid) if len(places) > 1 else None
        if known is None:
            continue
        stored = next((i for i in places if raws[i].source == known.source), None)
        if stored is not None and stored != places[0]:
            raws[places[0]], raws[stored] = raws[stored], raws[places[0]]
