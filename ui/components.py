"""Rendering: answers with source cards, escaped (a release is untrusted input:
no HTML is ever let through, and Markdown is escaped)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePath

import streamlit as st

from qa_bot.answering.citations import UNBACKED
from qa_bot.answering.question import language_of
from qa_bot.types import Answer, Citation, Passage, Release

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=])")


def escape(text: str) -> str:
    """Text shown as it is written: Markdown and HTML characters escaped."""
    return _MD_SPECIAL.sub(r"\\\1", text).replace("\n", "  \n")


def answer_markdown(answer: Answer) -> str:
    """The answer, escaped; a model's sentences that no release backs (shown when
    QA_BOT_UNSUPPORTED=mark) in orange with the mark."""
    shown = [c for c in answer.sentences if c.shown]
    if not shown or answer.generator != "openai":
        return escape(answer.text)
    parts = []
    for c in shown:
        markers = "".join(f"\\[{n}\\]" for n in c.citations)
        text = escape(c.text) + (f" {markers}" if markers else "")
        parts.append(text if c.verdict == "supported" else f":orange[{text} *{escape(UNBACKED)}*]")
    return " ".join(parts)


def render_answer(answer: Answer, releases: Mapping[str, Release]) -> None:
    if answer.notice:
        st.warning(answer.notice)
    st.markdown(answer_markdown(answer))
    if not answer.abstained and (note := quoted_in(answer, releases)):
        st.caption(note)
    for cited, passage in cards(answer):
        source_card(cited, passage, releases.get(cited[0].release_id))


QUOTED = {
    ("en", "fr"): "Quoted as written, in French: the releases that answer are in French.",
    ("fr", "en"): "Cité tel quel, en anglais : les communiqués qui répondent sont en anglais.",
}


def quoted_in(answer: Answer, releases: Mapping[str, Release]) -> str | None:
    """Why an answer reads in another language than the question, when every release it
    cites is in that language (the offline answer quotes sentences as they are written)."""
    languages = {r.language for c in answer.citations if (r := releases.get(c.release_id))}
    if len(languages) != 1 or answer.generator != "extractive":
        return None
    return QUOTED.get((language_of(answer.question), languages.pop()))


def cards(answer: Answer) -> list[tuple[list[Citation], Passage | None]]:
    """The source cards: one per passage, with every citation quoting it (two sentences of
    one paragraph are one card with both highlighted, not the paragraph twice)."""
    grouped: dict[tuple[str, int], tuple[list[Citation], Passage | None]] = {}
    for c in answer.citations:
        passage = _passage_of(c, answer)
        key = (c.release_id, passage.start if passage else -c.n)
        grouped.setdefault(key, ([], passage))[0].append(c)
    return list(grouped.values())


def _passage_of(c: Citation, answer: Answer) -> Passage | None:
    return next(
        (p for p in answer.passages if p.release_id == c.release_id and p.start <= c.start < p.end),
        None,
    )


def highlighted(text: str, offset: int, spans: list[tuple[int, int]]) -> str | None:
    """``text`` (which starts at ``offset`` in its release) escaped, with the ``spans`` (in
    release offsets) highlighted; None when a span is not inside it."""
    out, at = [], 0
    for start, end in sorted(spans):
        a, b = start - offset, end - offset
        if not (0 <= a < b <= len(text)):
            return None
        if a < at:  # overlapping a span already highlighted
            continue
        out += [escape(text[at:a]), f" :orange-background[{escape(text[a:b])}] "]
        at = b
    return "".join(out) + escape(text[at:])


def source_card(cited: list[Citation], passage: Passage | None, release: Release | None) -> None:
    first = cited[0]
    with st.container(border=True):
        markers = " ".join(f"\\[{c.n}\\]" for c in cited)
        st.markdown(f"**{markers} {escape(first.title)}**")
        meta = [first.date.isoformat() if first.date else "undated"]
        if release:
            meta.append(release.language)
        meta.append(first.release_id)  # a release of a file of hundreds is told by its id
        st.caption(" · ".join(escape(m) for m in meta))
        if first.url:
            st.markdown(f"[{escape(first.url)}]({first.url.replace(')', '%29')})")
        elif release and release.source:
            # the file's name, never where it lies on the server's disk
            st.caption(escape(PurePath(release.source).name))
        for c in cited:
            if not c.supported:
                st.caption(f"\\[{c.n}\\] does not clearly support the claim.")
        text, start = (passage.text, passage.start) if passage else (first.quote, first.start)
        shown = highlighted(text, start, [(c.start, c.end) for c in cited])
        if shown is None:
            shown = " ".join(f":orange-background[{escape(c.quote)}]" for c in cited)
        st.markdown(shown)
        if passage:
            with st.expander("Whole passage"):
                st.text(passage.text)
