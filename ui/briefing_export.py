"""Download the conversation as a briefing note."""

from __future__ import annotations

import streamlit as st

from qa_bot import briefing
from qa_bot.types import Turn


def export_buttons(turns: list[Turn]) -> None:
    st.subheader("Briefing note")
    if not turns:
        st.caption("Ask a question first.")
        return
    st.download_button(
        "Download Markdown",
        briefing.to_markdown(turns),
        file_name="briefing-note.md",
        mime="text/markdown",
        key="export_md",
        use_container_width=True,
    )
    st.download_button(
        "Download DOCX",
        briefing.to_docx(turns),
        file_name="briefing-note.docx",
        mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        key="export_docx",
        use_container_width=True,
    )
