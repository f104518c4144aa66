"""A conversation as a briefing note: Markdown (footnotes) or DOCX.

Each question and its answer; every marker ``[n]`` becomes a footnote giving the
cited release's title, date, link and the quoted sentence. An answer's notice (a model's
sentences dropped or marked as not backed by the releases, or its answer replaced by the
offline one, naming the model and why) follows it, so the note says what the chat said.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Sequence

from .types import Answer, Citation, Turn

MARKER = re.compile(r"\s*\[(\d+)\]")


def _source(c: Citation) -> str:
    when = c.date.isoformat() if c.date else "undated"
    link = f" {c.url}" if c.url else ""
    return f"{c.title}, {when}{link} — “{c.quote}”"


def _footnoted(answer: Answer, offset: int) -> tuple[str, list[tuple[int, Citation]]]:
    by_n = {c.n: c for c in answer.citations}
    notes: list[tuple[int, Citation]] = []

    def mark(m: re.Match[str]) -> str:
        c = by_n.get(int(m.group(1)))
        if c is None:
            return ""
        number = offset + c.n
        if all(n != number for n, _ in notes):
            notes.append((number, c))
        return f"[^{number}]"

    return MARKER.sub(mark, answer.text), notes


def to_markdown(
    turns: Sequence[Turn], *, title: str = "Briefing note", today: dt.date | None = None
) -> str:
    today = today or dt.date.today()
    lines = [f"# {title}", "", f"_Prepared {today.isoformat()} from the press releases._", ""]
    footnotes: list[str] = []
    offset = 0
    for turn in turns:
        text, notes = _footnoted(turn.answer, offset)
        lines += [f"## {turn.question}", "", text, ""]
        if turn.answer.notice:
            lines += [f"> **Note:** {turn.answer.notice}", ""]
        footnotes += [f"[^{n}]: {_source(c)}" for n, c in notes]
        offset += max((c.n for c in turn.answer.citations), default=0)
    if footnotes:
        lines += ["---", "", *footnotes, ""]
    return "\n".join(lines)


def to_docx(
    turns: Sequence[Turn], *, title: str = "Briefing note", today: dt.date | None = None
) -> bytes:
    import docx

    today = today or dt.date.today()
    document = docx.Document()
    document.add_heading(title, level=0)
    document.add_paragraph(f"Prepared {today.isoformat()} from the press releases.")
    sources: list[str] = []
    offset = 0
    for turn in turns:
        text, notes = _footnoted(turn.answer, offset)
        document.add_heading(turn.question, level=1)
        document.add_paragraph(re.sub(r"\[\^(\d+)\]", r"[\1]", text))
        if turn.answer.notice:
            document.add_paragraph().add_run(f"Note: {turn.answer.notice}").italic = True
        sources += [f"[{n}] {_source(c)}" for n, c in notes]
        offset += max((c.n for c in turn.answer.citations), default=0)
    if sources:
        document.add_heading("Sources", level=1)
        for line in sources:
            document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
