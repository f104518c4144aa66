"""A model's answer, sentence by sentence: markers parsed, support checked, renumbered.

A marker ``[n]`` (or ``[n, m]``) after a sentence cites passage *n* as given to the model.
Numbers that name no passage are dropped. Each sentence is then checked
(:mod:`.support`) against the sentences of the passages it cites and gets a verdict:
``supported``, ``unsupported`` (it cites, but what it cites does not back it) or
``uncited``. A supported sentence cites the release sentence that backs it best; the
others are dropped, or shown marked as not backed by the releases (``mark``), as the
setting says. Citations are numbered by first appearance in what is shown, one per release
sentence quoted.

:class:`Draft` takes the model's text as it streams and hands back each sentence, checked
and rendered, as soon as the next one has begun, so nothing unchecked is ever shown.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..types import Citation, Claim, Passage, Sentence
from .support import SupportSession

MARKER = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_LEADING_MARKERS = re.compile(r"^(?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+")
_OPEN_MARKER = re.compile(r"\[[\d\s,;]*$")
MODES = ("drop", "mark")
UNBACKED = "(not backed by the releases)"
"""Follows a sentence shown although no release backs it (mode ``mark``)."""


@dataclass(frozen=True)
class Written:
    """A sentence as the model wrote it: its words and the passages it names (1-based)."""

    text: str
    cited: tuple[int, ...]
    invented: tuple[int, ...]


def read(segment: str, passages: int) -> Written:
    """A sentence with its markers taken out: the valid numbers and the invented ones."""
    cited: list[int] = []
    invented: list[int] = []
    for m in MARKER.finditer(segment):
        for raw in re.split(r"\s*[,;]\s*", m.group(1)):
            n = int(raw)
            (cited if 1 <= n <= passages else invented).append(n)
    text = re.sub(r"\s+([.!?;:,])", r"\1", MARKER.sub("", segment)).strip()
    return Written(text, tuple(dict.fromkeys(cited)), tuple(dict.fromkeys(invented)))


def segments(text: str, language: str = "en") -> list[str]:
    """The text cut into sentences, markers that open a sentence given to the one before."""
    import sentencex

    out: list[str] = []
    for piece in sentencex.segment(language, text):
        lead = _LEADING_MARKERS.match(piece)
        if lead and out:
            out[-1] += lead.group()
            piece = piece[lead.end() :]
        if piece.strip():
            out.append(piece)
        elif out:
            out[-1] += piece
    return out


class Draft:
    """The answer being written: sentences are checked and rendered as they complete."""

    def __init__(
        self, passages: Sequence[Passage], session: SupportSession, *, mode: str = "drop"
    ) -> None:
        self.passages = list(passages)
        self.session = session
        self.mode = mode
        self.text = ""
        self.done = 0
        """Characters of ``text`` already cut into finished sentences."""
        self.claims: list[Claim] = []
        self.citations: list[Citation] = []
        self._numbers: dict[tuple[str, int, int], int] = {}
        self.language = "en"

    # ------------------------------------------------------------ streaming
    def feed(self, piece: str) -> list[str]:
        """Take more of the model's text; the finished sentences, rendered, that are shown."""
        self.text += piece
        rest = self.text[self.done :]
        pending = _OPEN_MARKER.search(rest)  # "[1" may become "[12]": wait for it
        cut = segments(rest[: pending.start()] if pending else rest, self.language)
        shown: list[str] = []
        for seg in cut[:-1]:  # the last one may still grow
            self.done += len(seg)
            shown += self._add(seg)
        return shown

    def finish(self) -> list[str]:
        """The model has finished: the rest of its text, checked and rendered."""
        shown: list[str] = []
        for seg in segments(self.text[self.done :], self.language):
            shown += self._add(seg)
        self.done = len(self.text)
        return shown

    # ------------------------------------------------------------ one sentence
    def _add(self, segment: str) -> list[str]:
        written = read(segment, len(self.passages))
        if not written.text or not any(ch.isalnum() for ch in written.text):
            return []
        evidence = self.session.best(written.text, [n - 1 for n in written.cited])
        if written.cited:
            verdict = "supported" if evidence and evidence.supported else "unsupported"
        else:
            verdict = "uncited"
        shown = verdict == "supported" or self.mode == "mark"
        numbers: tuple[int, ...] = ()
        if shown and written.cited and evidence is not None:
            numbers = (self._cite(evidence.passage, evidence.sentence, verdict == "supported"),)
        claim = Claim(
            text=written.text,
            verdict=verdict,
            citations=numbers,
            score=evidence.probability if evidence else 0.0,
            shown=shown,
        )
        self.claims.append(claim)
        return [render(claim)] if shown else []

    def _cite(self, index: int, sentence: Sentence, supported: bool) -> int:
        p = self.passages[index]
        key = (p.release_id, sentence.start, sentence.end)
        if key not in self._numbers:
            self._numbers[key] = len(self._numbers) + 1
            self.citations.append(Citation.of(self._numbers[key], p, sentence, supported))
        elif supported:  # the same sentence backs another claim: it does support
            n = self._numbers[key]
            self.citations[n - 1] = dataclasses.replace(self.citations[n - 1], supported=True)
        return self._numbers[key]

    # ------------------------------------------------------------ the result
    @property
    def answer_text(self) -> str:
        return answer_text(self.claims)

    def notice(self, model: str) -> str | None:
        """What the user is told about sentences that were dropped or marked."""
        unbacked = [c for c in self.claims if c.verdict != "supported"]
        if not unbacked:
            return None
        total = len(self.claims)
        uncited = sum(1 for c in unbacked if c.verdict == "uncited")
        why = ", ".join(
            part
            for part in (
                f"{uncited} cite no release" if uncited else "",
                f"{len(unbacked) - uncited} not backed by the passage they cite"
                if len(unbacked) > uncited
                else "",
            )
            if part
        )
        if self.mode == "mark":
            return (
                f"{len(unbacked)} of the {total} sentences the model {model} wrote are not "
                f"backed by the releases ({why}); they are marked {UNBACKED}."
            )
        return (
            f"{len(unbacked)} of the {total} sentences the model {model} wrote were dropped: {why}."
        )


def render(claim: Claim) -> str:
    """A shown sentence as plain text: its markers, or the unbacked mark."""
    text = claim.text
    if claim.citations:
        text += " " + "".join(f"[{n}]" for n in claim.citations)
    if claim.verdict != "supported":
        text += " " + UNBACKED
    return text


def answer_text(claims: Sequence[Claim]) -> str:
    return " ".join(render(c) for c in claims if c.shown)
