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
_MD_ACTIVE = re.compile(r"([\\`*_\[\]<>$])")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def _md(text: str) -> str:
    """Text as written in Markdown: what would make a link, a footnote, HTML, code, maths or
    emphasis of a release's title or a question ("[click](javascript:...)", "[^1]") escaped."""
    return _MD_ACTIVE.sub(r"\\\1", text)


def _xml(text: str) -> str:
    """Text Word can hold: control characters (a vertical tab pasted from Word, a NUL) as
    spaces; python-docx refuses them."""
    return _NOT_XML.sub(" ", text)


def _source(c: Citation, escape: bool = False) -> str:
    when = c.date.isoformat() if c.date else "undated"
    shown = _md if escape else str
    url = c.url or ""
    if url and escape and not re.fullmatch(r"https?://[^\s<>\[\]()]+", url):
        url = _md(url)  # a link only when it is one: never a javascript: or data: address
    link = f" {url}" if url else ""
    # the id tells a release among hundreds with one file and no link (ISAF's records)
    return f"{shown(c.title)}, {when}, {shown(c.release_id)}{link} — “{shown(c.quote)}”"


def _footnoted(
    answer: Answer, offset: int, escape: bool = False
) -> tuple[str, list[tuple[int, Citation]]]:
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

    out, at = [], 0
    for m in MARKER.finditer(answer.text):
        out += [_md(answer.text[at : m.start()]) if escape else answer.text[at : m.start()]]
        out += [mark(m)]
        at = m.end()
    rest = answer.text[at:]
    return "".join([*out, _md(rest) if escape else rest]), notes


def to_markdown(
    turns: Sequence[Turn], *, title: str = "Briefing note", today: dt.date | None = None
) -> str:
    today = today or dt.date.today()
    lines = [f"# {title}", "", f"_Prepared {today.isoformat()} from the press releases._", ""]
    footnotes: list[str] = []
    offset = 0
    for turn in turns:
        text, notes = _footnoted(turn.answer, offset, escape=True)
        lines += [f"## {_md(' '.join(turn.question.split()))}", "", text, ""]
        if turn.answer.notice:
            lines += [f"> **Note:** {_md(turn.answer.notice)}", ""]
        footnotes += [f"[^{n}]: {_source(c, escape=True)}" for n, c in notes]
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
    document.add_heading(_xml(title), level=0)
    document.add_paragraph(f"Prepared {today.isoformat()} from the press releases.")
    sources: list[str] = []
    offset = 0
    for turn in turns:
        text, notes = _footnoted(turn.answer, offset)
        document.add_heading(_xml(turn.question), level=1)
        document.add_paragraph(_xml(re.sub(r"\[\^(\d+)\]", r"[\1]", text)))
        if turn.answer.notice:
            document.add_paragraph().add_run(_xml(f"Note: {turn.answer.notice}")).italic = True
        sources += [_xml(f"[{n}] {_source(c)}") for n, c in notes]
        offset += max((c.n for c in turn.answer.citations), default=0)
    if sources:
        document.add_heading("Sources", level=1)
        for line in sources:
            document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
