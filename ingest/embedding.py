"""Parsing and embedding ahead of the writer, in worker processes.

Chroma's writes and the default embedder's tokenizer both hold the GIL, so
threads cannot overlap them. For large runs worker processes parse and chunk
the coming releases and embed the next batches while this process writes the
last ones to the store. Small runs (an upload of a few files) work in-process,
where the model is often already loaded.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from qa_bot.embedders import Embedder
from qa_bot.types import Chunk, Release

from .chunking import Chunker
from .loaders import RawRelease
from .metadata import build_release

Job = tuple[RawRelease, str, str]
"""A release to prepare: what its loader found, its id, its version."""
Prepared = tuple[Release | None, list[Chunk], str]
"""The release and its chunks, or (None, [], why it could not be split)."""

WORKER_NICE = 10
"""The workers yield the CPU to the writer: Chroma's write hands each record between its
own threads, and on busy cores every hand-off waits for one (corpus and 3 copies, 2 cores:
27.9-28.1 s at the writer's priority, 26.1-26.5 s at 10, 25.8-26.5 s at 19)."""

_worker_embedder: Embedder | None = None
_worker_chunker: Chunker | None = None


def _single_threaded(embedder: Embedder) -> Embedder:
    # one BLAS thread per worker: workers and the writer share the cores
    # without BLAS threads spinning against each other
    if hasattr(embedder, "threads"):
        embedder.threads = 1
    return embedder


def _init(embedder: Embedder, chunker: Chunker) -> None:
    global _worker_embedder, _worker_chunker
    with contextlib.suppress(OSError, AttributeError):  # no os.nice on Windows
        os.nice(WORKER_NICE)
    _worker_embedder = _single_threaded(embedder)
    _worker_chunker = chunker


def _embed(texts: list[str]) -> Any:
    import numpy as np

    assert _worker_embedder is not None
    return np.asarray(_worker_embedder.embed(texts), dtype=np.float32)


def _prepare(jobs: list[Job]) -> list[Prepared]:
    assert _worker_chunker is not None
    return prepare(_worker_chunker, jobs)


def prepare(chunker: Chunker, jobs: Sequence[Job]) -> list[Prepared]:
    """Each release built from what its loader found, and chunked."""
    out: list[Prepared] = []
    for raw, release_id, version in jobs:
        try:
            release = build_release(raw, release_id=release_id)
            out.append((release, chunker.chunk(release, version), ""))
        except Exception as exc:  # one release only: the caller rejects it
            out.append((None, [], f"{type(exc).__name__}: {str(exc)[:200]}"))
    return out


class WorkAhead:
    """``submit(texts)`` and ``prepare(jobs)`` return a ticket; ``result(ticket)`` the
    vectors (in order) or the prepared releases. Jobs run in the order submitted."""

    def __init__(self, embedder: Embedder, chunker: Chunker, *, workers: int = 0) -> None:
        self.embedder = embedder
        self.chunker = chunker
        self._pool: ProcessPoolExecutor | None = None
        self._futures: dict[int, Future[Any]] = {}
        self._next = 0
        if workers:
            self._pool = ProcessPoolExecutor(
                max_workers=workers,
                # spawn: forking a process that runs Chroma's and lingua's threads is unsafe
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init,
                initargs=(embedder, chunker),
            )
            for _ in range(workers):  # load the model now, while the caller reads files
                self._pool.submit(_embed, ["warm-up"])

    def submit(self, texts: Sequence[str]) -> int:
        if self._pool is not None:
            return self._add(self._pool.submit(_embed, list(texts)))
        return self._add(self._run_here(self.embedder.embed, list(texts)))

    def prepare(self, jobs: Sequence[Job]) -> int:
        if self._pool is not None:
            return self._add(self._pool.submit(_prepare, list(jobs)))
        return self._add(self._run_here(lambda js: prepare(self.chunker, js), list(jobs)))

    def done(self, ticket: int) -> bool:
        return self._futures[ticket].done()

    def result(self, ticket: int) -> Any:
        return self._futures.pop(ticket).result()

    def _add(self, future: Future[Any]) -> int:
        ticket = self._next
        self._next += 1
        self._futures[ticket] = future
        return ticket

    @staticmethod
    def _run_here(work: Any, arg: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(work(arg))
        except Exception as exc:  # handed to the caller through the future (Ctrl-C is not:
            future.set_exception(exc)  # it stops the run now, not batches later)
        return future

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> WorkAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
