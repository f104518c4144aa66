"""Entry point: `qa-bot ui` (or `streamlit run ui/app.py`)."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

# `streamlit run ui/app.py` puts ui/ first on sys.path; the project root must be importable
ROOT = str(Path(__file__).resolve().parent.parent)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# an emoji, drawn by the browser: a ":material/...:" page icon is fetched from Google's font
# servers, which an air-gapped user cannot reach (and should not be asked to)
st.set_page_config(page_title="qa-bot", page_icon="📰", layout="wide")
here = Path(__file__).resolve().parent
st.navigation(
    [
        st.Page(
            str(here / "pages" / "chat.py"), title="Chat", icon=":material/chat:", default=True
        ),
        st.Page(
            str(here / "pages" / "library.py"), title="Library", icon=":material/library_books:"
        ),
    ]
).run()
