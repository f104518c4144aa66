"""Rendering: answers with source cards, escaped (a release is untrusted input:
no HTML is ever let through, and Markdown is escaped)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePath

import streamlit as st

from qa_bot.answering.citations import UNBACKED
from qa_bot.answering.extractive import ABSTAIN
from qa_bot.types import Answer, Citation, Passage, Release

NEAREST = {
    "en": "The releases above are the nearest ones; none of them answers.",
    "fr": "Les communiqués ci-dessus sont les plus proches ; aucun ne répond.",
}
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
    if answer.abstained:  # in the refusal's own language
        st.caption(NEAREST["fr" if answer.text.startswith(ABSTAIN["fr"]) else "en"])
    for c in answer.citations:
        source_card(c, _passage_of(c, answer), releases.get(c.release_id))


def _passage_of(c: Citation, answer: Answer) -> Passage | None:
    return next(
        (p for p in answer.passages if p.release_id == c.release_id and p.start <= c.start < p.end),
        None,
    )


def source_card(c: Citation, passage: Passage | None, release: Release | None) -> None:
    with st.container(border=True):
        st.markdown(f"**\\[{c.n}\\] {escape(c.title)}**")
        meta = [c.date.isoformat() if c.date else "undated"]
        if release:
            meta.append(release.language)
        st.caption(" · ".join(escape(m) for m in meta))
        if c.url:
            st.markdown(f"[{escape(c.url)}]({c.url.replace(')', '%29')})")
        elif release and release.source:
            # the file's name, never where it lies on the server's disk
            st.caption(escape(PurePath(release.source).name))
        if not c.supported:
            st.caption("This sentence does not clearly support the claim.")
        text, start = (passage.text, passage.start) if passage else (c.quote, c.start)
        a, b = c.start - start, c.end - start
        if 0 <= a < b <= len(text):
            st.markdown(
                escape(text[:a]) + f" :orange-background[{escape(text[a:b])}] " + escape(text[b:])
            )
        else:
            st.markdown(f":orange-background[{escape(c.quote)}]")
        if passage:
            with st.expander("Whole passage"):
                st.text(passage.text)
