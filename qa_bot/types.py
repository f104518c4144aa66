"""Domain types, shared by ingest, retrieval, answering and the UI.

Frozen dataclasses: they are values. Character offsets (``start``/``end``)
always refer to ``Release.text``, so a citation can quote and highlight the
exact sentence in its release.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Paragraph:
    start: int
    end: int
    language: str


@dataclass(frozen=True)
class Release:
    release_id: str
    title: str
    text: str
    language: str
    paragraphs: tuple[Paragraph, ...]
    date: dt.date | None = None
    updated: dt.datetime | None = None
    url: str | None = None
    source: str = ""
    content_hash: str = ""
    titles: Mapping[str, str] = field(default_factory=dict)
    """The title in other languages found in the text, e.g. ``{"en": "..."}``."""
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def languages(self) -> list[str]:
        seen: dict[str, int] = {}
        for p in self.paragraphs:
            seen[p.language] = seen.get(p.language, 0) + (p.end - p.start)
        return sorted(seen, key=lambda lang: -seen[lang])


@dataclass(frozen=True)
class Chunk:
    """A sentence-sized unit that is embedded, inside a paragraph-sized passage."""

    chunk_id: str
    release_id: str
    version: str
    text: str
    position: int
    start: int
    end: int
    language: str
    parent_id: str
    parent_start: int
    parent_end: int

    @property
    def spans(self) -> tuple[tuple[int, int], ...]:
        """Character spans of its sentences in the release text (a chunk is one sentence,
        or one token window of a sentence too long to embed whole)."""
        return ((self.start, self.end),)


@dataclass(frozen=True)
class ReleaseInfo:
    """What the store keeps about a release, without its text."""

    release_id: str
    title: str
    date: dt.date | None
    language: str
    chunks: int
    source: str
    version: str
    url: str | None = None
    updated: dt.datetime | None = None
    languages: tuple[str, ...] = ()
    titles: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Rejection:
    path: str
    reason: str


@dataclass(frozen=True)
class StoreStats:
    releases: int
    chunks: int
    languages: Mapping[str, int]
    date_min: dt.date | None
    date_max: dt.date | None
    embedder: str | None
    location: str


@dataclass(frozen=True)
class IngestReport:
    added: int
    updated: int
    unchanged: int
    removed: int
    rejected: tuple[Rejection, ...]
    skipped: tuple[str, ...]
    releases: int
    chunks: int
    seconds: float
    embedded: int = 0

    def as_json(self) -> dict[str, object]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "rejected": [{"path": r.path, "reason": r.reason} for r in self.rejected],
            "skipped": list(self.skipped),
            "releases": self.releases,
            "chunks": self.chunks,
            "embedded": self.embedded,
            "seconds": round(self.seconds, 3),
        }
