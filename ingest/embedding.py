"""Embedding ahead of the writer, in a worker process.

Chroma's writes and the default embedder's tokenizer both hold the GIL, so
threads cannot overlap them. For large runs a worker process embeds the next
batches while this process parses releases and writes the last one. Small
runs (an upload of a few files) embed in-process, where the model is often
already loaded.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from qa_bot.embedders import Embedder

_worker_embedder: Embedder | None = None


def _single_threaded(embedder: Embedder) -> Embedder:
    # one BLAS thread per worker: workers and the writer share the cores
    # without BLAS threads spinning against each other
    if hasattr(embedder, "threads"):
        embedder.threads = 1
    return embedder


def _init(embedder: Embedder) -> None:
    global _worker_embedder
    _worker_embedder = _single_threaded(embedder)


def _embed(texts: list[str]) -> Any:
    import numpy as np

    assert _worker_embedder is not None
    return np.asarray(_worker_embedder.embed(texts), dtype=np.float32)


class EmbedAhead:
    """``submit(texts)`` returns a ticket; ``result(ticket)`` the vectors, in order."""

    def __init__(self, embedder: Embedder, *, workers: int = 0) -> None:
        self.embedder = embedder
        self._pool: ProcessPoolExecutor | None = None
        self._futures: dict[int, Future[Any]] = {}
        self._texts: dict[int, list[str]] = {}
        self._next = 0
        if workers:
            self._pool = ProcessPoolExecutor(
                max_workers=workers,
                # spawn: forking a process that runs Chroma's and lingua's threads is unsafe
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init,
                initargs=(embedder,),
            )
            for _ in range(workers):  # load the model now, while the caller parses
                self._pool.submit(_embed, ["warm-up"])

    def submit(self, texts: Sequence[str]) -> int:
        ticket = self._next
        self._next += 1
        self._texts[ticket] = list(texts)
        if self._pool is not None:
            self._futures[ticket] = self._pool.submit(_embed, self._texts[ticket])
        else:
            self._futures[ticket] = self._run_here(self.embedder, self._texts[ticket])
        return ticket

    def result(self, ticket: int) -> Any:
        del self._texts[ticket]
        return self._futures.pop(ticket).result()

    @staticmethod
    def _run_here(embedder: Embedder, texts: list[str]) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(embedder.embed(texts))
        except BaseException as exc:  # handed to the caller through the future
            future.set_exception(exc)
        return future

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> EmbedAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
