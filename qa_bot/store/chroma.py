"""The release store on Chroma: embedded (PersistentClient) or a server (HttpClient).

Two collections:

- ``<collection>``: one record per sentence-sized chunk, with its embedding and
  metadata (release, version, date and ``date_int`` for range filters, language,
  spans, parent passage);
- ``<collection>.docs``: one record per release: its text and metadata,
  including the ``version`` whose chunks are current. It is the registry that
  makes ingestion incremental, and the place passages are cut from.

- ``<collection>.runs``: one record per writer at work (host, process, last
  heartbeat), so that writers on other machines leave its chunks alone.

Replacing a release never leaves it unsearchable: new chunks are written
first, then the registry switches to the new version, then the chunks of the
version it replaced are deleted. A crash in between leaves extra chunks of a
version the registry does not name; readers ignore them and
:meth:`ChromaStore.sweep` removes them. A write that fails (a record Chroma
refuses) removes the chunks it had added.

Several writers may share a store (on one machine they also take turns, see
:meth:`qa_bot.store.index.SearchIndex.lock`; on a server they may write at once
from several machines). Every chunk names the run that wrote it, and each
writer only ever deletes what it owns or what the registry no longer names:
a write deletes only the version it replaced, and the sweep spares the chunks
of runs still at work (heartbeat within :data:`LEASE`, and, on this host, the
process alive). :meth:`ChromaStore.audit` also finds releases whose chunks went
missing behind the registry's back, so that an ingest writes them again.

What Chroma, SQLite or the connection to a server raise (read-only or damaged
store, a server lost mid-session) reaches callers as a :class:`StoreError`
naming the fix; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

from ..embedders import Embedder
from ..errors import EmbedderMismatchError, QaBotError, StoreError
from ..types import Chunk, Paragraph, Release, ReleaseInfo, StoreStats

SCHEMA = 1
PAGE = 5000
CHUNK_HNSW = {"space": "cosine", "ef_construction": 32, "max_neighbors": 12, "ef_search": 400}
"""Chroma's own vector index of the chunks. qa-bot searches its own exact index beside the
store (``store/index.py``); Chroma's serves other clients of the collection (LangChain's
``Chroma``). A lighter graph than Chroma's default (100, 16, 100) costs a third less to write
(Chroma's write was two thirds of the ingest at 100k chunks) and, searched wider, finds as
much: recall@10 against exact search over the 120 shared questions 0.96 at 724 releases and
0.76 at 105k chunks, against 0.96 and 0.75 for the default (``bench/chroma_recall.py``). A
lighter one still (16, 8) wrote faster but fell to 0.54 at 105k chunks."""
_DUMMY = [1.0]  # registry records are looked up by id, never by vector
LEASE = 300.0
"""Seconds after its last heartbeat (each write) that a writer on another host counts as
gone, and its unregistered chunks as left over. One write (one batch) takes seconds."""
HOST = socket.gethostname()


def date_int(value: dt.date | None) -> int:
    return value.year * 10000 + value.month * 100 + value.day if value else 0


F = TypeVar("F", bound=Callable[..., Any])


def _guarded(method: F) -> F:
    """Turn what the store's back end raises into a StoreError that names the fix."""

    @functools.wraps(method)
    def wrapper(self: ChromaStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except QaBotError:
            raise
        except Exception as exc:
            error = self._store_error(exc)
            if error is None:
                raise
            raise error from exc

    return wrapper  # type: ignore[return-value]


class ChromaStore:
    def __init__(
        self,
        *,
        embedder: Embedder,
        collection: str = "releases",
        path: Path | None = None,
        url: str | None = None,
        create: bool = True,
    ) -> None:
        if (path is None) == (url is None):
            raise StoreError("Give the store a directory or a Chroma server URL (one of them).")
        if path is not None and path.exists() and not path.is_dir():
            raise StoreError(
                f"{path} is a file, not a store directory: give --store (or QA_BOT_STORE) a "
                "directory; ingest creates it if it does not exist."
            )
        self.create = create
        """False: an embedded store directory that does not exist is an error, not made."""
        self.embedder = embedder
        self.collection_name = collection
        self.path = path
        self.url = url
        self._client: Any = None
        self._chunks: Any = None
        self._docs: Any = None
        self.run_id = uuid.uuid4().hex[:16]
        """Tags every chunk this client writes: its owner."""
        self._runs: Any = None
        self._writing = 0
        self._beat = 0.0
        self._bumps: list[tuple[str | None, str]] = []

    # ------------------------------------------------------------------ opening
    @property
    def location(self) -> str:
        return self.url or str(self.path)

    def _connect(self) -> Any:
        if self._client is not None:
            return self._client
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        if self.url:
            parsed = urlparse(self.url)
            try:
                self._client = chromadb.HttpClient(
                    host=parsed.hostname or "127.0.0.1",
                    port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                    ssl=parsed.scheme == "https",
                    settings=chroma_settings,
                )
                self._client.heartbeat()
            except Exception as exc:
                self._client = None
                raise StoreError(
                    f"Cannot reach the Chroma server at {self.url} ({type(exc).__name__}). "
                    "Start it with `chroma run --path DIR --port PORT`, or unset "
                    "QA_BOT_CHROMA_URL / --chroma-url to use the embedded store."
                ) from exc
        else:
            assert self.path is not None
            if not self.create and not (self.path / "chroma.sqlite3").is_file():
                raise StoreError(
                    f"No store at {self.path}: check the path given with --store or "
                    f"QA_BOT_STORE, or ingest releases there first (`qa-bot ingest PATH "
                    f"--store {self.path}`)."
                )
            try:
                self.path.mkdir(parents=True, exist_ok=True)
                self._client = chromadb.PersistentClient(
                    path=str(self.path), settings=chroma_settings
                )
            except OSError as exc:
                raise StoreError(
                    f"Cannot open the store directory {self.path}: {exc.strerror}. "
                    "Choose a writable directory with --store or QA_BOT_STORE."
                ) from exc
        return self._client

    def _open(self, create: bool = True) -> tuple[Any, Any] | None:
        if self._chunks is not None:
            return self._chunks, self._docs
        from chromadb.errors import NotFoundError

        from .functions import function_for  # registers qa-bot's embedding functions

        client = self._connect()
        ef = function_for(self.embedder)
        try:
            chunks = client.get_collection(self.collection_name, embedding_function=ef)
        except NotFoundError:
            if not create:
                self._no_such_collection(client)
                return None
            chunks = client.create_collection(
                self.collection_name,
                embedding_function=ef,
                configuration={"hnsw": CHUNK_HNSW},
                metadata={"qa_bot.embedder": self.embedder.name, "qa_bot.schema": SCHEMA},
            )
        except ValueError as exc:  # Chroma refuses a different embedding function
            raise self._mismatch(self._stored_embedder(client) or str(exc)) from None
        stored = (chunks.metadata or {}).get("qa_bot.embedder")
        if stored is None:
            raise StoreError(
                f"The collection {self.collection_name!r} at {self.location} was not made by "
                "qa-bot. Choose another name with QA_BOT_COLLECTION."
            )
        if stored != self.embedder.name:
            raise self._mismatch(stored)
        docs = client.get_or_create_collection(
            f"{self.collection_name}.docs",
            embedding_function=None,
            configuration={"hnsw": {"space": "l2"}},
            metadata={"qa_bot.schema": SCHEMA},
        )
        self._chunks, self._docs = chunks, docs
        return chunks, docs

    def _no_such_collection(self, client: Any) -> None:
        """Reading a collection an embedded store lacks while it holds others of qa-bot's is a
        typo in QA_BOT_COLLECTION, not an empty store: say which it holds. (On a server that
        teams share, a reader may well open a collection before its first ingest.)"""
        if self.url:
            return
        try:
            others = sorted(
                c.name
                for c in client.list_collections()
                if (c.metadata or {}).get("qa_bot.embedder") is not None
            )
        except Exception:
            return
        if others:
            raise StoreError(
                f"The store at {self.location} holds no collection {self.collection_name!r}; "
                f"it holds {', '.join(repr(o) for o in others)}. Set QA_BOT_COLLECTION to "
                "one of them, or ingest releases into this one first."
            )

    def _store_error(self, exc: Exception) -> StoreError | None:
        """A StoreError for what the back end raised, or None when it is not the store's."""
        import sqlite3

        import httpx
        from chromadb.errors import ChromaError

        name = type(exc).__name__
        text = " ".join(str(exc).split())[:200] or name
        lower = text.lower()
        if self.url and isinstance(exc, httpx.TransportError | ConnectionError):
            return StoreError(
                f"Lost the Chroma server at {self.url} ({name}: {text}). Check that `chroma "
                "run` is still running there (restart it if not), then try again."
            )
        if not isinstance(exc, ChromaError | sqlite3.Error | OSError | httpx.HTTPError):
            return None
        where = self.location
        if "readonly" in lower or "read-only" in lower or isinstance(exc, PermissionError):
            return StoreError(
                f"The store at {where} is read-only ({text}): qa-bot writes to its store even "
                "to answer (Chroma opens it for writing). Give this user write access, or copy "
                "the store to a writable place and point --store or QA_BOT_STORE at the copy."
            )
        if any(m in lower for m in ("not a database", "malformed", "corrupt", "disk i/o")):
            return StoreError(
                f"The store at {where} is damaged ({text}): restore it from a backup, or move "
                f"it away and ingest the releases again (`qa-bot ingest PATH --store {where}`)."
            )
        if "disk is full" in lower or "no space" in lower:
            return StoreError(
                f"The disk holding the store at {where} is full ({text}): free some space, "
                "then run the command again."
            )
        return StoreError(
            f"The store at {where} failed ({name}: {text}). Run `qa-bot stats` to check it; "
            "if it keeps failing, restore it from a backup or ingest the releases again into "
            "a new --store."
        )

    def _stored_embedder(self, client: Any) -> str | None:
        try:
            col = client.get_collection(self.collection_name)
        except Exception:
            return None
        value = (col.metadata or {}).get("qa_bot.embedder")
        return str(value) if value else None

    def _mismatch(self, stored: str) -> EmbedderMismatchError:
        return EmbedderMismatchError(
            f"The store at {self.location} (collection {self.collection_name!r}) was built with "
            f"the embedder {stored!r}, but the embedder now configured is {self.embedder.name!r}. "
            f"Embedders cannot be mixed: set QA_BOT_EMBEDDER={stored} to use this store, or "
            "choose a new --store or QA_BOT_COLLECTION and ingest again."
        )

    @property
    def exists(self) -> bool:
        return self._exists()

    @_guarded
    def _exists(self) -> bool:
        return self._open(create=False) is not None

    def _cols(self) -> tuple[Any, Any]:
        opened = self._open()
        assert opened is not None
        return opened

    # ------------------------------------------------------------------ reading
    @_guarded
    def release_index(self) -> dict[str, ReleaseInfo]:
        """Every release's metadata (no text), by release id."""
        if self._open(create=False) is None:
            return {}
        _, docs = self._cols()
        out: dict[str, ReleaseInfo] = {}
        for rid, meta, _ in _paged(docs, include=["metadatas"]):
            out[rid] = _info_from_meta(rid, meta)
        return out

    @_guarded
    def release_infos(self, release_ids: Sequence[str]) -> dict[str, ReleaseInfo]:
        """The metadata of the releases among ``release_ids`` that are stored, by id."""
        if not release_ids or self._open(create=False) is None:
            return {}
        _, docs = self._cols()
        got = docs.get(ids=list(release_ids), include=["metadatas"])
        return {
            rid: _info_from_meta(rid, meta)
            for rid, meta in zip(got["ids"], got["metadatas"], strict=True)
        }

    @_guarded
    def get_releases(self, release_ids: Sequence[str]) -> dict[str, Release]:
        if not release_ids or self._open(create=False) is None:
            return {}
        _, docs = self._cols()
        got = docs.get(ids=list(release_ids), include=["metadatas", "documents"])
        return {
            rid: _release_from_record(rid, meta, text)
            for rid, meta, text in zip(got["ids"], got["metadatas"], got["documents"], strict=True)
        }

    @_guarded
    def get_versioned(self, release_ids: Sequence[str]) -> dict[str, tuple[Release, str]]:
        """Releases with the version the registry names, by id."""
        if not release_ids or self._open(create=False) is None:
            return {}
        _, docs = self._cols()
        got = docs.get(ids=list(release_ids), include=["metadatas", "documents"])
        return {
            rid: (_release_from_record(rid, meta, text), str(meta.get("version", "")))
            for rid, meta, text in zip(got["ids"], got["metadatas"], got["documents"], strict=True)
        }

    @_guarded
    def count_releases(self) -> int:
        return 0 if self._open(create=False) is None else int(self._cols()[1].count())

    @_guarded
    def count_chunks(self) -> int:
        return 0 if self._open(create=False) is None else int(self._cols()[0].count())

    @_guarded
    def stats(self) -> StoreStats:
        index = self.release_index()
        languages: dict[str, int] = {}
        dates = [i.date for i in index.values() if i.date]
        for info in index.values():
            languages[info.language] = languages.get(info.language, 0) + 1
        embedder = None
        if self._open(create=False) is not None:
            embedder = (self._cols()[0].metadata or {}).get("qa_bot.embedder")
        return StoreStats(
            releases=len(index),
            chunks=self.count_chunks(),
            languages=dict(sorted(languages.items(), key=lambda kv: (-kv[1], kv[0]))),
            date_min=min(dates) if dates else None,
            date_max=max(dates) if dates else None,
            embedder=embedder,
            location=self.location,
        )

    # ------------------------------------------------------------------ writing
    @contextlib.contextmanager
    def writer(self) -> Iterator[None]:
        """Announce this client as a writer at work while the block runs, from its first
        write on (other writers' sweeps spare its chunks); withdrawn at the end."""
        self._writing += 1
        if self._writing == 1:
            self.run_id = uuid.uuid4().hex[:16]  # each run owns what it writes
        try:
            yield
        finally:
            self._writing -= 1
            if self._writing == 0 and self._beat:
                self._beat = 0.0
                with contextlib.suppress(Exception):  # else it expires after LEASE
                    self._runs_col().delete(ids=[self.run_id])

    def _runs_col(self) -> Any:
        if self._runs is None:
            self._runs = self._connect().get_or_create_collection(
                f"{self.collection_name}.runs",
                embedding_function=None,
                configuration={"hnsw": {"space": "l2"}},
                metadata={"qa_bot.schema": SCHEMA},
            )
        return self._runs

    @_guarded
    def _heartbeat(self) -> None:
        now = time.time()
        if not self._writing or now - self._beat < LEASE / 10:
            return
        self._runs_col().upsert(
            ids=[self.run_id],
            embeddings=[_DUMMY],
            metadatas=[{"host": HOST, "pid": os.getpid(), "beat": now}],
        )
        self._beat = now

    @_guarded
    def live_runs(self) -> set[str]:
        """The runs still at work (this one included, while it writes); records of runs
        gone are removed."""
        live = {self.run_id} if self._writing else set()
        runs = self._runs_col()
        got = runs.get(include=["metadatas"])
        now = time.time()
        gone = []
        for rid, meta in zip(got["ids"], got["metadatas"], strict=True):
            if rid == self.run_id:
                continue
            alive = now - float(meta.get("beat", 0)) < LEASE
            if meta.get("host") == HOST and not _pid_alive(int(meta.get("pid", 0))):
                alive = False  # killed on this machine: no need to wait for its lease
            if alive:
                live.add(rid)
            else:
                gone.append(rid)
        if gone:
            runs.delete(ids=gone)
        return live

    @_guarded
    def write(
        self,
        items: Sequence[tuple[Release, str, Sequence[Chunk]]],
        embeddings: Sequence[Sequence[float]],
    ) -> None:
        """Store releases with their chunks (``embeddings`` line up with all chunks in order).

        Each item is ``(release, version, chunks)``. Chunks go first, then the
        registry switches to the new version, then the version it replaced goes.
        A release written again with the version the registry names (its chunks went
        missing) gets back the chunks it lacks.
        """
        chunks_col, docs = self._cols()
        all_chunks = [c for _, _, chunks in items for c in chunks]
        if len(all_chunks) != len(embeddings):
            raise StoreError("internal: chunks and embeddings do not line up")
        self._heartbeat()
        by_id = {release.release_id: release for release, _, _ in items}
        got = docs.get(ids=list(by_id), include=["metadatas"])
        replaced = {
            rid: str(meta.get("version", ""))
            for rid, meta in zip(got["ids"], got["metadatas"], strict=True)
        }
        import numpy as np

        vectors = np.asarray(embeddings, dtype=np.float32)
        step = self._max_batch()
        added: list[Chunk] = []
        registered: set[str] = set()
        try:
            for i in range(0, len(all_chunks), step):
                part = all_chunks[i : i + step]
                # `upsert` (as fast as `add` here): a chunk id names its version, so an id
                # already stored holds the same chunk, and this run becomes its owner
                chunks_col.upsert(
                    ids=[c.chunk_id for c in part],
                    embeddings=vectors[i : i + step],
                    documents=[c.text for c in part],
                    metadatas=[chunk_meta(c, by_id[c.release_id], self.run_id) for c in part],
                )
                added.extend(part)
            for method, group in (
                (docs.add, [it for it in items if it[0].release_id not in replaced]),
                (docs.upsert, [it for it in items if it[0].release_id in replaced]),
            ):
                if group:
                    method(
                        ids=[release.release_id for release, _, _ in group],
                        embeddings=[_DUMMY] * len(group),
                        documents=[release.text for release, _, _ in group],
                        metadatas=[
                            _release_meta(r, v, len(chunks), replacing=method == docs.upsert)
                            for r, v, chunks in group
                        ],
                    )
                    registered.update(release.release_id for release, _, _ in group)
        except Exception:
            # no orphans: the chunks this run added for releases the registry does not name
            # in that version are removed (a release another run registered meanwhile with
            # the same chunks keeps them)
            with contextlib.suppress(Exception):  # else the next run's sweep removes them
                pending = {c.release_id for c in added} - registered
                now = docs.get(ids=sorted(pending), include=["metadatas"]) if pending else None
                named = (
                    {
                        (rid, str(meta.get("version", "")))
                        for rid, meta in zip(now["ids"], now["metadatas"], strict=True)
                    }
                    if now
                    else set()
                )
                orphans = [
                    c.chunk_id
                    for c in added
                    if c.release_id in pending and (c.release_id, c.version) not in named
                ]
                for i in range(0, len(orphans), PAGE):
                    chunks_col.delete(ids=orphans[i : i + PAGE], where={"run": self.run_id})
            if registered:
                with contextlib.suppress(Exception):
                    self._bump()
            raise
        self._bump()
        # only the version each release had before this write: chunks of any other version
        # may be another run's, still to be registered (older left-overs go in a sweep)
        superseded = [
            {"$and": [{"release_id": rid}, {"version": replaced[rid]}]}
            for release, version, _ in items
            if (rid := release.release_id) in replaced and replaced[rid] != version
        ]
        for i in range(0, len(superseded), 100):
            wheres = superseded[i : i + 100]
            chunks_col.delete(where=wheres[0] if len(wheres) == 1 else {"$or": wheres})

    @_guarded
    def delete(self, release_ids: Iterable[str]) -> list[str]:
        """Delete releases and their chunks; returns the ids that existed."""
        ids = list(release_ids)
        if not ids or self._open(create=False) is None:
            return []
        chunks_col, docs = self._cols()
        found = docs.get(ids=ids, include=[])["ids"]
        if found:
            chunks_col.delete(where={"release_id": {"$in": list(found)}})
            docs.delete(ids=list(found))
            self._bump()
        return list(found)

    def sweep(self, index: Mapping[str, ReleaseInfo] | None = None) -> int:
        """Remove chunks no registry record names, left by an interrupted write (not those
        of runs still at work); how many."""
        return self.audit(index)[0]

    @_guarded
    def audit(self, index: Mapping[str, ReleaseInfo] | None = None) -> tuple[int, set[str]]:
        """Sweep (see :meth:`sweep`), and find the releases that lack some of the chunks
        the registry counts for them (deleted behind its back). Returns (chunks removed,
        ids of releases to write again)."""
        if self._open(create=False) is None:
            return 0, set()
        index = self.release_index() if index is None else index
        chunks_col, _ = self._cols()
        if chunks_col.count() == sum(i.chunks for i in index.values()):
            return 0, set()
        live = self.live_runs()
        stale = []
        found: dict[str, int] = {}
        for cid, meta, _ in _paged(chunks_col, include=["metadatas"]):
            info = index.get(str(meta.get("release_id")))
            if info is not None and info.version == meta.get("version"):
                found[info.release_id] = found.get(info.release_id, 0) + 1
            elif meta.get("run") not in live:
                stale.append(cid)
        spare = {"run": {"$nin": sorted(live)}} if live else None  # if one got to work since
        for i in range(0, len(stale), PAGE):
            chunks_col.delete(ids=stale[i : i + PAGE], where=spare)
        damaged = {rid for rid, info in index.items() if found.get(rid, 0) < info.chunks}
        return len(stale), damaged

    def _bump(self) -> None:
        """Mark the store as changed, for readers that cache what they read."""
        _, docs = self._cols()
        before = self.generation()
        after = uuid.uuid4().hex
        docs.modify(metadata={"qa_bot.schema": SCHEMA, "qa_bot.generation": after})
        self._bumps.append((before, after))

    def mark(self) -> int:
        """A mark in this client's history of writes, for :meth:`alone_since`."""
        return len(self._bumps)

    def alone_since(self, mark: int, base: str | None, current: str | None) -> bool:
        """Whether the store went from generation ``base`` to ``current`` through this
        client's writes since ``mark`` only (no other process or machine wrote between)."""
        generation = base
        for before, after in self._bumps[mark:]:
            if before != generation:
                return False
            generation = after
        return generation == current

    @_guarded
    def generation(self) -> str | None:
        """Changes whenever releases are written or deleted (by any process or client)."""
        from chromadb.errors import NotFoundError

        try:
            docs = self._connect().get_collection(f"{self.collection_name}.docs")
        except NotFoundError:
            if not self.create:  # before anything is made beside the store for it
                self._no_such_collection(self._connect())
            return None
        value = (docs.metadata or {}).get("qa_bot.generation")
        return str(value) if value else None

    def all_chunks(self) -> Iterable[tuple[dict[str, Any], str]]:
        """Every chunk's metadata (with its id as ``chunk_id``) and text."""
        return self._each(self._all_chunks())

    def _each(self, items: Iterator[Any]) -> Iterator[Any]:
        """``items`` with each step guarded (a lost server raises StoreError, not a
        Chroma error, however far the reader has gone)."""
        while True:
            try:
                item = self._next(items)
            except StopIteration:
                return
            yield item

    @_guarded
    def _next(self, items: Iterator[Any]) -> Any:
        return next(items)

    def _all_chunks(self) -> Iterator[tuple[dict[str, Any], str]]:
        if self._open(create=False) is None:
            return
        chunks_col, _ = self._cols()
        for cid, meta, text in _paged(chunks_col, include=["metadatas", "documents"]):
            yield {**meta, "chunk_id": cid}, text

    def chunk_vectors(self) -> Iterable[tuple[dict[str, Any], str, Any]]:
        """Every chunk's metadata (with ``chunk_id``), text and vector, page by page (to
        rebuild the search index beside the store)."""
        return self._each(self._chunk_vectors())

    def _chunk_vectors(self) -> Iterator[tuple[dict[str, Any], str, Any]]:
        if self._open(create=False) is None:
            return
        chunks_col, _ = self._cols()
        offset = 0
        while True:
            got = chunks_col.get(
                include=["metadatas", "documents", "embeddings"], limit=PAGE, offset=offset
            )
            for cid, meta, text, vector in zip(
                got["ids"], got["metadatas"], got["documents"], got["embeddings"], strict=True
            ):
                yield {**meta, "chunk_id": cid}, text, vector
            if len(got["ids"]) < PAGE:
                return
            offset += PAGE

    @_guarded
    def query(
        self, embedding: Sequence[float], *, k: int, where: dict[str, Any] | None
    ) -> list[tuple[dict[str, Any], float]]:
        """The ``k`` nearest chunks: (metadata with ``chunk_id``, cosine similarity)."""
        if self._open(create=False) is None:
            return []
        chunks_col, _ = self._cols()
        got = chunks_col.query(
            query_embeddings=[list(embedding)],
            n_results=k,
            where=where or None,
            include=["metadatas", "distances"],
        )
        return [
            ({**meta, "chunk_id": cid}, 1.0 - float(dist))
            for cid, meta, dist in zip(
                got["ids"][0], got["metadatas"][0], got["distances"][0], strict=True
            )
        ]

    @_guarded
    def embeddings(self, chunk_ids: Sequence[str]) -> dict[str, list[float]]:
        """Stored vectors of chunks, by id."""
        if not chunk_ids or self._open(create=False) is None:
            return {}
        got = self._cols()[0].get(ids=list(chunk_ids), include=["embeddings"])
        return {cid: list(vec) for cid, vec in zip(got["ids"], got["embeddings"], strict=True)}

    @_guarded
    def all_releases(self) -> dict[str, Release]:
        """Every release with its text (for readers that keep them in memory)."""
        if self._open(create=False) is None:
            return {}
        _, docs = self._cols()
        return {
            rid: _release_from_record(rid, meta, text)
            for rid, meta, text in _paged(docs, include=["metadatas", "documents"])
        }

    def _max_batch(self) -> int:
        try:
            return max(1, min(PAGE, int(self._connect().get_max_batch_size())))
        except Exception:
            return 1000


# ---------------------------------------------------------------------- records
def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def _paged(col: Any, *, include: list[str]) -> Iterable[tuple[str, dict[str, Any], Any]]:
    offset = 0
    while True:
        got = col.get(include=include, limit=PAGE, offset=offset)
        ids = got["ids"]
        metas = got.get("metadatas") or [{}] * len(ids)
        docs = got.get("documents") or [None] * len(ids)
        yield from zip(ids, metas, docs, strict=True)
        if len(ids) < PAGE:
            return
        offset += PAGE


def chunk_meta(chunk: Chunk, release: Release, run: str = "") -> dict[str, Any]:
    meta: dict[str, Any] = {
        "release_id": chunk.release_id,
        "run": run,
        "version": chunk.version,
        "title": release.title,
        "language": chunk.language,
        "release_language": release.language,
        "position": chunk.position,
        "start": chunk.start,
        "end": chunk.end,
        "parent_id": chunk.parent_id,
        "parent_start": chunk.parent_start,
        "parent_end": chunk.parent_end,
        "date_int": date_int(release.date),
    }
    if release.date:
        meta["date"] = release.date.isoformat()
    if release.url:
        meta["url"] = release.url
    return meta


def _release_meta(
    release: Release, version: str, chunks: int, *, replacing: bool = False
) -> dict[str, Any]:
    """The registry record's metadata. Replacing a release, a field the new version lacks
    is written as None: Chroma's upsert merges metadata, and would keep the old date or
    link."""
    meta: dict[str, Any] = {
        "title": release.title,
        "language": release.language,
        "languages": json.dumps(release.languages),
        "paragraphs": json.dumps([[p.start, p.end, p.language] for p in release.paragraphs]),
        "titles": json.dumps(dict(release.titles), ensure_ascii=False),
        "extra": json.dumps(dict(release.extra), ensure_ascii=False),
        "source": release.source,
        "content_hash": release.content_hash,
        "version": version,
        "chunks": chunks,
        "date_int": date_int(release.date),
    }
    optional = {
        "date": release.date.isoformat() if release.date else None,
        "updated": release.updated.isoformat() if release.updated else None,
        "url": release.url or None,
    }
    meta.update({k: v for k, v in optional.items() if v is not None or replacing})
    return meta


def _info_from_meta(rid: str, meta: Mapping[str, Any]) -> ReleaseInfo:
    return ReleaseInfo(
        release_id=rid,
        title=str(meta.get("title", "")),
        date=dt.date.fromisoformat(meta["date"]) if meta.get("date") else None,
        language=str(meta.get("language", "")),
        chunks=int(meta.get("chunks", 0)),
        source=str(meta.get("source", "")),
        version=str(meta.get("version", "")),
        url=meta.get("url"),
        updated=dt.datetime.fromisoformat(meta["updated"]) if meta.get("updated") else None,
        languages=tuple(json.loads(meta.get("languages", "[]"))),
        titles=json.loads(meta.get("titles", "{}")),
    )


def _release_from_record(rid: str, meta: Mapping[str, Any], text: str) -> Release:
    info = _info_from_meta(rid, meta)
    return Release(
        release_id=rid,
        title=info.title,
        text=text,
        language=info.language,
        paragraphs=tuple(Paragraph(s, e, lang) for s, e, lang in json.loads(meta["paragraphs"])),
        date=info.date,
        updated=info.updated,
        url=info.url,
        source=info.source,
        content_hash=str(meta.get("content_hash", "")),
        titles=info.titles,
        extra=json.loads(meta.get("extra", "{}")),
    )
