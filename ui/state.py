"""What the UI keeps: the app (built once per process) and the conversation (per session)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from qa_bot.app import App, build_app
from qa_bot.settings import load_settings
from qa_bot.types import IngestReport, Turn


@st.cache_resource(show_spinner="Loading the releases…")
def get_app() -> App:
    return build_app(load_settings())


def turns() -> list[Turn]:
    return st.session_state.setdefault("turns", [])


def new_conversation() -> None:
    st.session_state["turns"] = []


def ingest_uploads(app: App, files: list[Any], progress: Any) -> list[tuple[str, str]]:
    """Save uploaded files beside the store and ingest each; (name, result) per file."""
    from ingest.pipeline import build_ingestor  # the UI's one link to ingestion

    folder = app.local_dir / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    ingestor = build_ingestor(app)
    results: list[tuple[str, str]] = []
    for i, upload in enumerate(files, start=1):
        name = Path(upload.name).name
        target = folder / name
        earlier = target.read_bytes() if target.is_file() else None
        target.write_bytes(upload.getvalue())
        stored = False
        try:
            report: IngestReport = ingestor.run([target])
            stored = bool(report.added or report.updated or report.unchanged or report.repaired)
        finally:
            if not stored:
                # nothing of a file the library took nothing from stays on the server; an
                # earlier upload of that name (still in the library) gets its file back
                if earlier is None:
                    target.unlink(missing_ok=True)
                else:
                    target.write_bytes(earlier)
        if report.rejected:
            result = "rejected: " + "; ".join(r.reason for r in report.rejected)
        elif report.added:
            result = "added"
        elif report.updated:
            result = "updated"
        elif report.repaired:
            result = "repaired (its sentences had gone missing from the store)"
        else:
            result = "unchanged"
        if report.warnings and not report.rejected:
            result += " (" + "; ".join(w.reason for w in report.warnings) + ")"
        results.append((name, result))
        progress.progress(i / len(files), text=f"{i}/{len(files)}: {name}")
    return results
