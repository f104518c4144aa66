"""Markers in a model's answer: parsed, checked against their passages, renumbered.

A marker ``[n]`` (or ``[n, m]``) cites passage *n* as given to the model. Numbers
that name no passage are dropped; the rest are renumbered by first appearance.
Each citation quotes the passage sentence that best supports the claim it follows,
and is flagged unsupported when no sentence shares enough of the claim's words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..text import terms
from ..types import Citation, Passage

MARKER = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")
SUPPORT = 0.3
"""Share of a claim's words (matched on a shared stem) its cited sentence must hold."""
STEM = 5


def _overlap(claim: str, sentence: str) -> float:
    c = set(terms(claim))
    if not c:
        return 1.0
    s = set(terms(sentence))
    stems = {w[:STEM] for w in s}
    return sum(1 for w in c if w in s or w[:STEM] in stems) / len(c)


def parse(text: str, passages: Sequence[Passage]) -> tuple[str, list[Citation]]:
    """The text with markers renumbered (unknown ones removed) and its citations."""
    numbering: dict[int, int] = {}
    citations: list[Citation] = []
    out: list[str] = []
    last = 0
    for m in MARKER.finditer(text):
        claim_start = max(text.rfind(". ", 0, m.start()), text.rfind("]", 0, m.start()), -1) + 1
        claim = text[claim_start : m.start()]
        kept = []
        for raw in re.split(r"\s*[,;]\s*", m.group(1)):
            n = int(raw)
            if not 1 <= n <= len(passages):
                continue  # a number that names no passage: dropped
            if n not in numbering:
                numbering[n] = len(numbering) + 1
                p = passages[n - 1]
                best = max(p.sentences, key=lambda s: _overlap(claim, s.text), default=None)
                quote, start, end = (
                    (best.text, best.start, best.end) if best else (p.text, p.start, p.end)
                )
                citations.append(
                    Citation(
                        n=numbering[n],
                        release_id=p.release_id,
                        title=p.title,
                        date=p.date,
                        url=p.url,
                        quote=quote,
                        start=start,
                        end=end,
                        supported=_overlap(claim, quote) >= SUPPORT,
                    )
                )
            kept.append(numbering[n])
        out.append(text[last : m.start()])
        if kept:
            out.append(" " + "".join(f"[{k}]" for k in dict.fromkeys(kept)))
        last = m.end()
    out.append(text[last:])
    return "".join(out).strip(), citations
