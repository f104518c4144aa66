"""Writing the search index (:mod:`qa_bot.store.index`): segments, manifests, merges.

A writer collects what it stored in a :class:`SegmentBuilder` (releases with their chunks,
the chunks' terms and vectors), then :func:`commit` writes the segment, marks the rows of
releases that were replaced or deleted, updates the statistics and writes the manifest of
the store's new generation. :func:`rebuild` makes the whole index from the store (when none
matches it); that, and an occasional merge of small segments, are the only steps whose cost
follows the corpus.
"""

from __future__ import annotations

import json
import shutil
import uuid
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import text as _text
from ..text import terms
from ..types import Chunk, Release
from .index import (
    DATE,
    END,
    FIRST,
    LANG,
    PASSAGE,
    PEND,
    POSITION,
    PSTART,
    RLANG,
    ROW_COLUMNS,
    START,
    SearchIndex,
    Segment,
    atomic_write,
)

KEEP_MANIFESTS = 4
"""Manifests kept for readers still on an older generation."""
MAX_SEGMENTS = 8
"""More segments than this: the small ones are merged into one."""
PROJECT_FROM = 20_000
"""Segments of at least this many rows keep their vectors projected (see :func:`project`)."""
PROJECTION = 128
"""Dimensions of that projection."""


def tokens_of(text: str) -> list[str]:
    """What the index keeps of a chunk's text."""
    return terms(text)


def title_terms(release: Release) -> list[str]:
    """A release's titles (every language), counted in each of its passages."""
    return terms(" ".join([release.title, *release.titles.values()]))


class Vocab:
    """The index's append-only term list, extended by a writer."""

    def __init__(self, index: SearchIndex) -> None:
        path = index.directory / "vocab.json"
        self.path = path
        self.terms: list[str] = (
            json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
        )
        self.ids = {t: i for i, t in enumerate(self.terms)}
        self.saved = len(self.terms)

    def id(self, term: str) -> int:
        found = self.ids.get(term)
        if found is None:
            found = self.ids[term] = len(self.terms)
            self.terms.append(term)
        return found

    def save(self) -> None:
        if len(self.terms) != self.saved:
            atomic_write(self.path, json.dumps(self.terms, ensure_ascii=False).encode())
            self.saved = len(self.terms)


@dataclass(frozen=True)
class Row:
    """What the index keeps of one chunk besides its terms and vector."""

    passage: str
    passage_start: int
    passage_end: int
    start: int
    end: int
    position: int
    language: str


class SegmentBuilder:
    """Collects releases with their chunks, terms and vectors, into a new segment."""

    def __init__(self, index: SearchIndex, vocab: Vocab) -> None:
        self.index = index
        self.vocab = vocab
        self.name = f"seg-{uuid.uuid4().hex[:12]}"
        self.tmp = index.directory / f".{self.name}.tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self._vectors = open(self.tmp / "vectors.f32", "wb")  # noqa: SIM115 (closed in finish)
        self.dim = 0
        self.releases: list[str] = []
        self.versions: list[str] = []
        self.titles: list[list[str]] = []
        self.title_terms: list[list[str]] = []
        self.languages: list[str] = []
        self._lang: dict[str, int] = {}
        self.release_rows = [0]
        self.release_passages = [0]
        self.rows = array("i")
        self.passages = array("i")
        self.s: tuple[array[int], array[int], array[float]] = (array("i"), array("i"), array("f"))
        self.p: tuple[array[int], array[int], array[float]] = (array("i"), array("i"), array("f"))
        self.s_len = array("f")
        self.p_len = array("f")
        self.norms = array("f")

    @property
    def n(self) -> int:
        return len(self.s_len)

    def _code(self, language: str) -> int:
        if language not in self._lang:
            self._lang[language] = len(self.languages)
            self.languages.append(language)
        return self._lang[language]

    def add(
        self,
        release: Release,
        version: str,
        chunks: Sequence[Chunk],
        tokens: Sequence[list[str]],
        vectors: Any,
    ) -> None:
        """One release: its chunks (in order), their terms and their vectors."""
        from .chroma import date_int

        rows = [
            Row(c.parent_id, c.parent_start, c.parent_end, c.start, c.end, c.position, c.language)
            for c in chunks
        ]
        self.add_rows(
            release_id=release.release_id,
            version=version,
            titles=list(dict.fromkeys([release.title, *release.titles.values()])),
            title_words=title_terms(release),
            day=date_int(release.date),
            language=release.language,
            rows=rows,
            tokens=tokens,
            vectors=vectors,
        )

    def add_rows(
        self,
        *,
        release_id: str,
        version: str,
        titles: list[str],
        title_words: list[str],
        day: int,
        language: str,
        rows: Sequence[Row],
        tokens: Sequence[list[str]],
        vectors: Any,
    ) -> None:
        import numpy as np

        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(rows), -1)
        if len(rows):
            self.dim = self.dim or int(vectors.shape[1])
        rel = len(self.releases)
        self.releases.append(release_id)
        self.versions.append(version)
        self.titles.append(titles)
        self.title_terms.append(title_words)
        rlang = self._code(language)
        first_passage = len(self.passages) // 4
        local: dict[str, int] = {}
        words: list[list[str]] = []
        for row, toks in zip(rows, tokens, strict=True):
            doc = self.n
            if row.passage not in local:
                local[row.passage] = first_passage + len(words)
                self.passages.extend([doc, doc + 1, row.passage_start, row.passage_end])
                words.append([])
            p = local[row.passage]
            self.passages[4 * p + 1] = doc + 1
            words[p - first_passage].extend(toks)
            self.rows.extend(
                [rel, day, row.start, row.end, row.position, p, self._code(row.language), rlang]
            )
            self._postings(self.s, doc, toks)
            self.s_len.append(len(toks) or 1)  # bm25s counts an empty document as one token
        for offset, toks in enumerate(words):
            text = toks + title_words
            self._postings(self.p, first_passage + offset, text)
            self.p_len.append(len(text) or 1)
        # each row's norm on its own, in float64: np.linalg.norm's float32 sums depend on
        # how many rows come together (a release re-added by a merge got other norms)
        wide = vectors.astype(np.float64)
        norms = np.sqrt(np.einsum("ij,ij->i", wide, wide))
        self.norms.extend(np.where(norms > 0, norms, 1.0).astype(np.float32).tolist())
        self._vectors.write(vectors.tobytes())
        self.release_rows.append(self.n)
        self.release_passages.append(len(self.passages) // 4)

    def vector(self, row: int) -> Any:
        """The vector of a row added so far (read back from the segment's file)."""
        import numpy as np

        self._vectors.flush()
        return np.fromfile(
            self.tmp / "vectors.f32", dtype=np.float32, count=self.dim, offset=row * self.dim * 4
        )

    def _postings(
        self, target: tuple[array[int], array[int], array[float]], doc: int, words: list[str]
    ) -> None:
        for term, tf in Counter(words).items():
            target[0].append(self.vocab.id(term))
            target[1].append(doc)
            target[2].append(tf)

    def finish(self) -> Segment | None:
        """Write the segment's files; None when nothing was added."""
        import numpy as np

        self._vectors.close()
        if not self.releases:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return None
        size = len(self.vocab.terms)
        for prefix, (term, doc, tf), length in (
            ("s", self.s, self.s_len),
            ("p", self.p, self.p_len),
        ):
            t = np.frombuffer(term, dtype=np.int32)
            d = np.frombuffer(doc, dtype=np.int32)
            order = np.lexsort((d, t))
            indptr = np.zeros(size + 1, dtype=np.int64)
            np.cumsum(np.bincount(t, minlength=size), out=indptr[1:])
            np.save(self.tmp / f"{prefix}_indptr.npy", indptr)
            np.save(self.tmp / f"{prefix}_docs.npy", d[order])
            np.save(self.tmp / f"{prefix}_tf.npy", np.frombuffer(tf, dtype=np.float32)[order])
            np.save(self.tmp / f"{prefix}_len.npy", np.frombuffer(length, dtype=np.float32))
        np.save(self.tmp / "rows.npy", np.frombuffer(self.rows, np.int32).reshape(-1, ROW_COLUMNS))
        np.save(self.tmp / "passages.npy", np.frombuffer(self.passages, np.int32).reshape(-1, 4))
        norms = np.frombuffer(self.norms, dtype=np.float32)
        np.save(self.tmp / "norms.npy", norms)
        if self.n >= PROJECT_FROM and self.dim > PROJECTION:
            project(self.tmp, self.n, self.dim, norms)
        meta = {
            "rows": self.n,
            "dim": self.dim,
            "releases": self.releases,
            "versions": self.versions,
            "languages": self.languages,
            "release_rows": list(self.release_rows),
            "release_passages": list(self.release_passages),
        }
        (self.tmp / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        titles = {"titles": self.titles, "title_terms": self.title_terms}
        (self.tmp / "titles.json").write_text(json.dumps(titles, ensure_ascii=False), "utf-8")
        self.tmp.rename(self.index.directory / self.name)
        return self.index.segment(self.name)

    def abandon(self) -> None:
        self._vectors.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def project(directory: Path, n: int, dim: int, norms: Any) -> None:
    """The main directions of the unit vectors in ``vectors.f32`` (uncentred, so that dot
    products keep most of their value) as ``basis.npy``, and the vectors projected on them
    as ``coarse.npy``. Read and written a block at a time: mapping the whole file would
    hold every vector in this process's memory at the end of a large ingest."""
    import numpy as np

    step = max(1, n // 20_000)
    gram = np.zeros((dim, dim), dtype=np.float64)
    for i, block in _blocks(directory / "vectors.f32", n, dim):
        first = -i % step  # the rows of this block that are in the sample (every step-th)
        sample = np.asarray(block[first::step], dtype=np.float64)
        sample /= np.asarray(norms[i + first : i + len(block) : step])[:, None]
        gram += sample.T @ sample
    _, directions = np.linalg.eigh(gram)
    basis = np.ascontiguousarray(directions[:, ::-1][:, :PROJECTION], dtype=np.float32)
    np.save(directory / "basis.npy", basis)
    with open(directory / "coarse.npy", "wb") as out:
        header = {"descr": "<f4", "fortran_order": False, "shape": (n, PROJECTION)}
        np.lib.format.write_array_header_1_0(out, header)
        for i, block in _blocks(directory / "vectors.f32", n, dim):
            unit = block / np.asarray(norms[i : i + len(block)])[:, None]
            out.write(np.ascontiguousarray(unit @ basis, dtype=np.float32).tobytes())


def _blocks(path: Path, n: int, dim: int, size: int = 8192) -> Iterator[tuple[int, Any]]:
    """(first row, rows) of a file of float32 vectors, ``size`` rows at a time."""
    import numpy as np

    with open(path, "rb") as f:
        for i in range(0, n, size):
            count = min(size, n - i)
            yield i, np.fromfile(f, dtype=np.float32, count=count * dim).reshape(count, dim)


def _term_ids(indptr: Any) -> Any:
    import numpy as np

    indptr = np.asarray(indptr)
    return np.repeat(np.arange(len(indptr) - 1, dtype=np.int64), np.diff(indptr))


def _deleted(index: SearchIndex, entry: dict[str, Any], seg: Segment) -> Any:
    import numpy as np

    if entry.get("deleted"):
        return np.load(index.directory / entry["deleted"]).copy()
    return np.zeros(seg.n, dtype=bool)


def commit(
    index: SearchIndex,
    *,
    base: str | None,
    generation: str | None,
    vocab: Vocab,
    added: SegmentBuilder | None,
    removed: Iterable[str],
    fresh: bool = False,
) -> bool:
    """Write the manifest of ``generation``: the index of ``base`` without the releases in
    ``removed`` (nor the older versions of those ``added`` holds), with ``added``'s segment.
    False (nothing written) when there is no index of ``base`` to start from: then
    :func:`rebuild`. ``fresh``: start from an empty index."""
    import numpy as np

    old = {"segments": [], "stats": None} if fresh else index.manifest(base)
    if old is None:
        if added is not None:
            added.abandon()
        return False
    segment = added.finish() if added is not None else None
    vocab.save()
    size = len(vocab.terms)
    gone = set(removed) | (set(segment.releases) if segment else set())

    def grow(a: Any) -> Any:
        out = np.zeros(size, dtype=np.int64)
        out[: len(a)] = a
        return out

    st = old["stats"]
    if st:
        s_df, p_df = (grow(np.load(index.directory / st[k])) for k in ("s_df", "p_df"))
        s_n, s_total, p_n, p_total = st["s_n"], st["s_total"], st["p_n"], st["p_total"]
    else:
        s_df, p_df, s_n, s_total, p_n, p_total = grow([]), grow([]), 0, 0.0, 0, 0.0
    entries = []
    for entry in old["segments"]:
        seg = index.segment(entry["name"])
        deleted = _deleted(index, entry, seg)
        rows = np.zeros(seg.n, dtype=bool)
        passages = np.zeros(seg.n_passages, dtype=bool)
        for i, rid in enumerate(seg.releases):
            if rid in gone:
                rows[seg.release_rows[i] : seg.release_rows[i + 1]] = True
                passages[seg.release_passages[i] : seg.release_passages[i + 1]] = True
        rows &= ~deleted
        passages &= ~deleted[np.asarray(seg.passages[:, FIRST])]
        name = entry.get("deleted")
        if rows.any():
            for df, indptr, docs, dead in (
                (s_df, seg.s_indptr, seg.s_docs, rows),
                (p_df, seg.p_indptr, seg.p_docs, passages),
            ):
                drop = dead[np.asarray(docs)]
                df[: len(indptr) - 1] -= np.bincount(
                    _term_ids(indptr)[drop], minlength=len(indptr) - 1
                )
            s_n -= int(rows.sum())
            s_total -= float(np.asarray(seg.s_len)[rows].sum())
            p_n -= int(passages.sum())
            p_total -= float(np.asarray(seg.p_len)[passages].sum())
            deleted |= rows
            name = f"del-{uuid.uuid4().hex[:12]}.npy"
            np.save(index.directory / name, deleted)
        if not deleted.all():  # a segment with nothing live is dropped
            entries.append({"name": entry["name"], "deleted": name})
    if segment is not None:
        s_df[: len(segment.s_indptr) - 1] += np.diff(np.asarray(segment.s_indptr))
        p_df[: len(segment.p_indptr) - 1] += np.diff(np.asarray(segment.p_indptr))
        s_n += segment.n
        s_total += float(np.asarray(segment.s_len).sum())
        p_n += segment.n_passages
        p_total += float(np.asarray(segment.p_len).sum())
        entries.append({"name": segment.name, "deleted": None})
    if len(entries) > MAX_SEGMENTS:
        entries = _merge_small(index, vocab, entries)
    tag = uuid.uuid4().hex[:12]
    np.save(index.directory / f"sdf-{tag}.npy", s_df.astype(np.int32))
    np.save(index.directory / f"pdf-{tag}.npy", p_df.astype(np.int32))
    manifest = {
        "generation": generation,
        "analyzer": _text.analyzer(),
        "vocab": size,
        "segments": entries,
        "stats": {
            "s_df": f"sdf-{tag}.npy",
            "p_df": f"pdf-{tag}.npy",
            "s_n": s_n,
            "s_total": s_total,
            "p_n": p_n,
            "p_total": p_total,
        },
    }
    atomic_write(index.manifest_path(generation), json.dumps(manifest).encode())
    _clean(index, keep=index.manifest_path(generation))
    return True


def _merge_small(
    index: SearchIndex, vocab: Vocab, entries: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Every segment but the largest, merged into one (their live rows only): the
    statistics do not change, only where the rows live."""
    import numpy as np

    sizes = [index.segment(e["name"]).n for e in entries]
    keep = int(np.argmax(sizes))
    segment = _merged(index, vocab, [e for i, e in enumerate(entries) if i != keep])
    merged = [entries[keep]]
    if segment is not None:
        merged.append({"name": segment.name, "deleted": None})
    return merged


def compact(index: SearchIndex, generation: str | None) -> tuple[int, int] | None:
    """Rewrite the index of ``generation`` as one segment of its live rows (the rows of
    replaced and deleted releases dropped): what a rebuild from the store would make,
    read from the index itself. The caller holds the index's lock. Returns (segments
    before, rows dropped), or None when there is no index of ``generation``."""
    import numpy as np

    manifest = index.manifest(generation)
    if manifest is None:
        return None
    entries = manifest["segments"]
    dropped = sum(int(_deleted(index, e, index.segment(e["name"])).sum()) for e in entries)
    if len(entries) <= 1 and not dropped:
        return len(entries), 0
    segment = _merged(index, Vocab(index), entries)
    manifest["segments"] = [] if segment is None else [{"name": segment.name, "deleted": None}]
    if segment is not None:  # the statistics (over live rows) stay as they are
        assert segment.n == manifest["stats"]["s_n"], "compaction lost rows"
        assert np.array_equal(
            np.diff(np.asarray(segment.s_indptr)),
            np.load(index.directory / manifest["stats"]["s_df"])[: len(segment.s_indptr) - 1],
        ), "compaction changed document frequencies"
    path = index.manifest_path(generation)
    atomic_write(path, json.dumps(manifest).encode())
    _clean(index, keep=path)
    return len(entries), dropped


def _merged(index: SearchIndex, vocab: Vocab, entries: list[dict[str, Any]]) -> Segment | None:
    """The live rows of ``entries``' segments, in order, as one new segment."""
    import numpy as np

    builder = SegmentBuilder(index, vocab)
    for entry in entries:
        seg = index.segment(entry["name"])
        deleted = _deleted(index, entry, seg)
        words = _forward(seg, vocab)
        for r, rid in enumerate(seg.releases):
            lo, hi = seg.release_rows[r], seg.release_rows[r + 1]
            if deleted[lo]:
                continue
            rows = []
            for x in np.asarray(seg.rows[lo:hi]):
                p = seg.passages[int(x[PASSAGE])]
                rows.append(
                    Row(
                        str(int(x[PASSAGE])),
                        int(p[PSTART]),
                        int(p[PEND]),
                        int(x[START]),
                        int(x[END]),
                        int(x[POSITION]),
                        seg.languages[int(x[LANG])],
                    )
                )
            builder.add_rows(
                release_id=rid,
                version=seg.versions[r],
                titles=seg.titles[r],
                title_words=seg.title_terms[r],
                day=int(seg.rows[lo, DATE]),
                language=seg.languages[int(seg.rows[lo, RLANG])],
                rows=rows,
                tokens=words[lo:hi],
                vectors=np.asarray(seg.vectors[lo:hi]),
            )
    return builder.finish()


def _forward(seg: Segment, vocab: Vocab) -> list[list[str]]:
    """Each row's terms again (as many times as it holds them), from the postings."""
    import numpy as np

    out: list[list[str]] = [[] for _ in range(seg.n)]
    tf = np.asarray(seg.s_tf).astype(np.int64)
    for t, d, f in zip(
        _term_ids(seg.s_indptr).tolist(), np.asarray(seg.s_docs).tolist(), tf.tolist(), strict=True
    ):
        out[d].extend([vocab.terms[t]] * f)
    return out


def _clean(index: SearchIndex, *, keep: Path) -> None:
    """Remove manifests beyond the newest few, and the files none of the rest names."""
    manifests = sorted(
        index.directory.glob("manifest-*.json"), key=lambda p: p.stat().st_mtime, reverse=True
    )
    kept = [keep] + [m for m in manifests if m != keep][: KEEP_MANIFESTS - 1]
    for m in manifests:
        if m not in kept:
            m.unlink(missing_ok=True)
    named: set[str] = set()
    for m in kept:
        try:
            data = json.loads(m.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        named.update(e["name"] for e in data["segments"])
        named.update(e["deleted"] for e in data["segments"] if e.get("deleted"))
        named.update([data["stats"]["s_df"], data["stats"]["p_df"]])
    for path in index.directory.iterdir():
        if path.name.startswith(("seg-", "del-", "sdf-", "pdf-")) and path.name not in named:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def rebuild(index: SearchIndex, store: Any, *, attempts: int = 3) -> str | None:
    """The whole index of the store's current generation, from the store (every chunk's
    text and vector, page by page): for an index that is missing or does not match the
    store. The caller holds the index's lock. Returns the generation it matches.

    A store written meanwhile (from another machine: chunks read page by page may then
    shift) is read again, up to ``attempts`` times; the last reading is kept."""
    for _ in range(attempts - 1):
        generation = _rebuild(index, store)
        if store.generation() == generation:
            return generation
    return _rebuild(index, store)


def _rebuild(index: SearchIndex, store: Any) -> str | None:
    generation = store.generation()
    infos = store.release_index()
    vocab = Vocab(index)
    builder = SegmentBuilder(index, vocab)
    pending: dict[str, list[tuple[dict[str, Any], str, Any]]] = {}

    def flush(ids: list[str]) -> None:
        releases = store.get_releases(ids)
        for rid in ids:
            got = sorted(pending.pop(rid), key=lambda item: int(item[0]["position"]))
            if rid not in releases:
                continue
            rows = [
                Row(
                    str(m["parent_id"]),
                    int(m["parent_start"]),
                    int(m["parent_end"]),
                    int(m["start"]),
                    int(m["end"]),
                    int(m["position"]),
                    str(m.get("language", "")),
                )
                for m, _, _ in got
            ]
            builder.add_rows(
                release_id=rid,
                version=infos[rid].version,
                titles=list(dict.fromkeys([releases[rid].title, *releases[rid].titles.values()])),
                title_words=title_terms(releases[rid]),
                day=int(got[0][0].get("date_int", 0)),
                language=releases[rid].language,
                rows=rows,
                tokens=[tokens_of(text) for _, text, _ in got],
                vectors=[vec for _, _, vec in got],
            )

    try:
        ready: list[str] = []
        for meta, text, vector in store.chunk_vectors():
            rid = str(meta.get("release_id"))
            info = infos.get(rid)
            if info is None or info.version != meta.get("version"):
                continue  # left by an interrupted write
            pending.setdefault(rid, []).append((meta, text, vector))
            if len(pending[rid]) == info.chunks:
                ready.append(rid)
            if len(ready) >= 200:
                flush(ready)
                ready = []
        flush(ready + [rid for rid in pending if rid not in ready])
    except BaseException:
        builder.abandon()
        raise
    commit(
        index, base=None, generation=generation, vocab=vocab, added=builder, removed=(), fresh=True
    )
    return generation
