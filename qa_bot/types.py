"""Domain types, shared by ingest, retrieval, answering and the UI.

Frozen dataclasses: they are values. Character offsets (``start``/``end``)
always refer to ``Release.text``, so a citation can quote and highlight the
exact sentence in its release.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


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
    unread_date: str | None = None
    """A date line under the title that could not be read (the release is then undated)."""

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
    repaired: int = 0
    """Releases whose chunks had gone missing from the store, written again."""
    warnings: tuple[Rejection, ...] = ()
    """Releases stored with something left out (a date that could not be read), and
    releases ``--prune`` kept because their file could not be read in full."""
    removed_ids: tuple[str, ...] = ()
    """The releases ``--prune`` removed."""

    def as_json(self) -> dict[str, object]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "repaired": self.repaired,
            "removed": self.removed,
            "removed_ids": list(self.removed_ids),
            "rejected": [{"path": r.path, "reason": r.reason} for r in self.rejected],
            "skipped": list(self.skipped),
            "warnings": [{"path": w.path, "reason": w.reason} for w in self.warnings],
            "releases": self.releases,
            "chunks": self.chunks,
            "embedded": self.embedded,
            "seconds": round(self.seconds, 3),
        }


# ---------------------------------------------------------------------- retrieval
@dataclass(frozen=True)
class Filters:
    """Hard filters, applied in every retrieval branch."""

    since: dt.date | None = None
    until: dt.date | None = None
    languages: tuple[str, ...] = ()
    """Languages of the releases (a French release with an English title is French)."""
    release_ids: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.since or self.until or self.languages or self.release_ids)

    def as_json(self) -> dict[str, object]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "languages": list(self.languages),
            "release_ids": list(self.release_ids),
        }

    @classmethod
    def from_json(cls, data: Any) -> Filters:
        """The filters ``as_json`` wrote; ValueError for anything else."""
        if not isinstance(data, Mapping):
            raise ValueError(f"filters are an object, not {type(data).__name__}")
        try:
            return cls(
                since=dt.date.fromisoformat(data["since"]) if data.get("since") else None,
                until=dt.date.fromisoformat(data["until"]) if data.get("until") else None,
                languages=tuple(str(x) for x in data.get("languages") or ()),
                release_ids=tuple(str(x) for x in data.get("release_ids") or ()),
            )
        except TypeError as exc:
            raise ValueError(f"unreadable filters: {exc}") from None

    def describe(self, language: str = "en") -> str:
        """What the filters leave to search, for a refusal made under them."""
        fr = language == "fr"
        parts = []
        if self.since or self.until:
            low = self.since.isoformat() if self.since else "…"
            high = self.until.isoformat() if self.until else "…"
            parts.append(f"du {low} au {high}" if fr else f"from {low} to {high}")
        if self.languages:
            parts.append(("en " if fr else "in ") + ", ".join(self.languages))
        if self.release_ids:
            n = len(self.release_ids)
            parts.append(
                (f"parmi les {n} choisis" if n > 1 else "parmi le seul choisi")
                if fr
                else (f"among the {n} chosen" if n > 1 else "among the one chosen")
            )
        if fr:
            return (
                f"Seuls les communiqués {', '.join(parts)} ont été consultés : retirez les "
                "filtres pour chercher dans tous."
            )
        return (
            f"Only the releases {', '.join(parts)} were searched: clear the filters to search "
            "them all."
        )

    def admits(self, release_id: str, date: dt.date | None, language: str) -> bool:
        """Whether a release passes the filters (an undated one is in no period)."""
        if self.release_ids and release_id not in self.release_ids:
            return False
        if self.languages and language not in self.languages:
            return False
        if (self.since or self.until) and date is None:
            return False
        if self.since and date is not None and date < self.since:
            return False
        return not (self.until and date is not None and date > self.until)


@dataclass(frozen=True)
class Sentence:
    """A sentence of a release (a chunk), as retrieval saw it."""

    chunk_id: str
    text: str
    start: int
    end: int
    language: str
    score: float = 0.0
    """Fused retrieval score (0 for sentences of the passage that did not match)."""
    similarity: float = 0.0
    """Cosine similarity to the question, where the dense branch found the sentence."""


@dataclass(frozen=True)
class Passage:
    """A paragraph-sized passage of one release, with the sentences that matched."""

    release_id: str
    title: str
    date: dt.date | None
    url: str | None
    language: str
    text: str
    start: int
    end: int
    score: float
    sentences: tuple[Sentence, ...]
    """Every sentence of the passage, with the retrieval score of those that matched."""
    source: str = ""


@dataclass(frozen=True)
class Citation:
    n: int
    release_id: str
    title: str
    date: dt.date | None
    url: str | None
    quote: str
    start: int
    end: int
    supported: bool = True

    @classmethod
    def of(cls, n: int, passage: Passage, sentence: Sentence, supported: bool = True) -> Citation:
        """Marker ``n`` quoting ``sentence`` of ``passage``'s release."""
        return cls(
            n=n,
            release_id=passage.release_id,
            title=passage.title,
            date=passage.date,
            url=passage.url,
            quote=sentence.text,
            start=sentence.start,
            end=sentence.end,
            supported=supported,
        )

    def as_json(self) -> dict[str, object]:
        return {
            "n": self.n,
            "release_id": self.release_id,
            "title": self.title,
            "date": self.date.isoformat() if self.date else None,
            "url": self.url,
            "quote": self.quote,
            "start": self.start,
            "end": self.end,
            "supported": self.supported,
        }


VERDICTS = ("supported", "unsupported", "uncited")


@dataclass(frozen=True)
class Claim:
    """One sentence of a model's answer and whether the releases back it.

    ``supported``: a passage it cites holds a sentence that backs it; ``unsupported``: it
    cites passages, none of which backs it; ``uncited``: it cites no passage given to the
    model (no marker, or only numbers that name none)."""

    text: str
    """The sentence as the model wrote it, without its markers."""
    verdict: str
    citations: tuple[int, ...] = ()
    """Numbers of the Answer's citations it carries (empty when uncited)."""
    score: float = 0.0
    """Probability of support by the best sentence checked (fitted, ``support.json``)."""
    shown: bool = True
    """In the answer the user reads (unbacked sentences are dropped or marked)."""

    def as_json(self) -> dict[str, object]:
        return {
            "text": self.text,
            "verdict": self.verdict,
            "citations": list(self.citations),
            "score": round(self.score, 3),
            "shown": self.shown,
        }


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    abstained: bool
    citations: tuple[Citation, ...]
    passages: tuple[Passage, ...]
    generator: str
    timings: Mapping[str, float] = field(default_factory=dict)
    """Milliseconds per stage (retrieval, answer, total)."""
    notice: str | None = None
    """A one-line notice for the user (e.g. the model failed and the offline answer is shown)."""
    sentences: tuple[Claim, ...] = ()
    """A model's sentences with their verdicts, shown or not (empty for the offline answerer,
    which only quotes release sentences). When the model's answer was replaced by the offline
    one, they are kept here, none shown."""

    def as_json(self) -> dict[str, object]:
        return {
            "question": self.question,
            "text": self.text,
            "abstained": self.abstained,
            "citations": [c.as_json() for c in self.citations],
            "passages": [
                {
                    "release_id": p.release_id,
                    "title": p.title,
                    "date": p.date.isoformat() if p.date else None,
                    "url": p.url,
                    "language": p.language,
                    "score": round(p.score, 4),
                    "start": p.start,
                    "end": p.end,
                    "text": p.text,
                }
                for p in self.passages
            ],
            "generator": self.generator,
            "notice": self.notice,
            "sentences": [c.as_json() for c in self.sentences],
            "timings": {k: round(v, 1) for k, v in self.timings.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Answer:
        """The Answer :meth:`as_json` wrote (its passages without their sentences)."""

        def day(value: Any) -> dt.date | None:
            return dt.date.fromisoformat(value) if value else None

        return cls(
            question=str(data["question"]),
            text=str(data["text"]),
            abstained=bool(data["abstained"]),
            citations=tuple(
                Citation(**{**c, "date": day(c.get("date"))}) for c in data.get("citations", [])
            ),
            passages=tuple(
                Passage(
                    release_id=p["release_id"],
                    title=p["title"],
                    date=day(p.get("date")),
                    url=p.get("url"),
                    language=p["language"],
                    text=p["text"],
                    start=int(p["start"]),
                    end=int(p["end"]),
                    score=float(p.get("score", 0.0)),
                    sentences=(),
                )
                for p in data.get("passages", [])
            ),
            generator=str(data["generator"]),
            timings=dict(data.get("timings") or {}),
            notice=data.get("notice"),
            sentences=tuple(
                Claim(**{**c, "citations": tuple(c.get("citations", []))})
                for c in data.get("sentences", [])
            ),
        )


@dataclass(frozen=True)
class Turn:
    """One exchange of a conversation, for follow-up questions."""

    question: str
    answer: Answer
