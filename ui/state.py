"""What the UI keeps: the app (built once per process) and the conversation (per session)."""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path
from typing import Any

import streamlit as st

from qa_bot.app import App, build_app
from qa_bot.settings import load_settings
from qa_bot.types import Answer, Filters, IngestReport, Turn


@st.cache_resource(show_spinner="Loading the releases…")
def get_app() -> App:
    return build_app(load_settings())


_ID = re.compile(r"[0-9a-f]{32}")


def _conversation_file(app: App, conversation: str) -> Path:
    return app.local_dir / "conversations" / f"{conversation}.json"


def turns(app: App | None = None) -> list[Turn]:
    """The conversation of this page. Its id is in the address (``?c=...``) and it is kept
    beside the store after every answer, so a reload (or the address in another tab)
    brings it back instead of losing a briefing's work."""
    if "turns" in st.session_state:
        return list(st.session_state["turns"])
    loaded: list[Turn] = []
    conversation = st.query_params.get("c", "")
    if app is not None and _ID.fullmatch(conversation):
        try:
            rows = json.loads(_conversation_file(app, conversation).read_text(encoding="utf-8"))
            loaded = [Turn(r["question"], Answer.from_json(r["answer"])) for r in rows]
            asked_with = [r.get("filters") for r in rows]
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            loaded, asked_with = [], []  # none kept yet, or unreadable: a new conversation
        st.session_state["turn_filters"] = asked_with
        if asked_with and asked_with[-1]:  # the sidebar sets them again before it is drawn
            st.session_state["restore_filters"] = asked_with[-1]
    st.session_state["turns"] = loaded
    return list(loaded)


def keep(app: App, history: list[Turn], filters: Filters | None = None) -> None:
    """Store the conversation under its id (made now for a new one, and put in the address),
    each turn with the filters it was asked under (the last ones are set again on a reload)."""
    st.session_state["turns"] = list(history)
    asked_with = list(st.session_state.get("turn_filters", []))[: len(history) - 1]
    asked_with += [None] * (len(history) - 1 - len(asked_with))
    asked_with.append(filters.as_json() if filters is not None and not filters.empty else None)
    st.session_state["turn_filters"] = asked_with
    conversation = st.query_params.get("c", "")
    if not _ID.fullmatch(conversation):
        conversation = uuid.uuid4().hex
        st.query_params["c"] = conversation
    path = _conversation_file(app, conversation)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [
        {"question": t.question, "answer": t.answer.as_json(), "filters": f}
        for t, f in zip(history, asked_with, strict=True)
    ]
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def new_conversation() -> None:
    st.session_state["turns"] = []
    st.session_state["turn_filters"] = []
    st.query_params.pop("c", None)  # the one before stays at its own address


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
