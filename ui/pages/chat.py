"""The chat: ask, read the answer with its sources, give feedback."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import streamlit as st

from qa_bot.errors import QaBotError
from qa_bot.types import Answer, Filters, Turn
from ui.briefing_export import export_buttons
from ui.components import escape, render_answer
from ui.state import get_app, ingest_uploads, keep, new_conversation, turns

UPLOAD_TYPES = ["txt", "md", "html", "htm", "json", "jsonl", "pdf", "docx"]


def sidebar(app, history: list[Turn]) -> Filters:  # type: ignore[no-untyped-def]
    with st.sidebar:
        st.button("New conversation", on_click=new_conversation, use_container_width=True)
        stats = app.store.stats()
        st.subheader("Filters")
        low = stats.date_min or dt.date(2000, 1, 1)
        high = stats.date_max or dt.date.today()
        index = app.store.release_index()
        restore_filters(low, high, list(stats.languages), index)
        follow_range(low, high)
        period = st.date_input("Dates", min_value=low, max_value=high, key="filter_dates")
        languages = st.multiselect("Languages", list(stats.languages), key="filter_languages")
        labels = release_labels(index)
        chosen = st.multiselect(
            "Releases", sorted(index), key="filter_releases", format_func=labels.__getitem__
        )
        st.subheader("Library")
        langs = ", ".join(f"{k} {v}" for k, v in stats.languages.items()) or "-"
        st.caption(
            f"{stats.releases} releases · {stats.chunks} chunks · {escape(langs)}  \n"
            f"{stats.date_min or '-'} to {stats.date_max or '-'}"
        )
        st.subheader("Active")
        generator = app.generator_name()
        answerer = (
            "offline (extractive)"
            if generator == "extractive"
            else f"{app.settings.chat_model} at {app.settings.openai_base_url or 'OpenAI'}"
        )
        st.caption(
            f"Embedder: {escape(stats.embedder or app.embedder.name)}  \n"
            f"Answerer: {escape(answerer)}  \n"
            f"Store: {escape(stats.location)}"
        )
        export_buttons(history)
        upload_box(app)
    since, until = period if isinstance(period, tuple) and len(period) == 2 else (None, None)
    return Filters(
        since=since if since and since != low else None,
        until=until if until and until != high else None,
        languages=tuple(languages),
        release_ids=tuple(chosen),
    )


def restore_filters(low: dt.date, high: dt.date, languages: list[str], index) -> None:  # type: ignore[no-untyped-def]
    """A reloaded conversation's filters, as its last question was asked under them (a
    reload cleared them with no word, and the next follow-up searched everything)."""
    kept = st.session_state.pop("restore_filters", None)
    if kept is None:
        return
    try:
        filters = Filters.from_json(kept)
    except ValueError:
        return  # not what the page writes: the filters stay clear
    state = st.session_state
    state["filter_languages"] = [x for x in filters.languages if x in languages]
    state["filter_releases"] = [x for x in filters.release_ids if x in index]
    span = (max(low, filters.since or low), min(high, filters.until or high))
    if (filters.since or filters.until) and span[0] <= span[1]:
        state["filter_dates"] = span
        state["filter_dates_span"] = (low, high)


def follow_range(low: dt.date, high: dt.date) -> None:
    """The Dates filter spans the library's dates unless the user narrowed it: a release
    added later (an upload) widens it. Kept at the old span, it left the upload out of every
    answer, with no word (found by a helper probing the chat)."""
    state = st.session_state
    span = (low, high)
    shown = state.get("filter_dates")
    untouched = shown is None or tuple(shown) == state.get("filter_dates_span")
    outside = shown is not None and any(d < low or d > high for d in tuple(shown))
    if untouched or outside:
        state["filter_dates"] = span
    state["filter_dates_span"] = span


def release_labels(index) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Date and whole title (searchable as typed); the id too where two would read alike."""
    labels = {rid: f"{index[rid].date or '-'} {index[rid].title}" for rid in index}
    seen = Counter(labels.values())
    return {rid: label if seen[label] == 1 else f"{label} ({rid})" for rid, label in labels.items()}


def upload_box(app) -> None:  # type: ignore[no-untyped-def]
    st.subheader("Add releases")
    generation = st.session_state.setdefault("upload_generation", 0)
    files = st.file_uploader(
        "Releases",
        type=UPLOAD_TYPES,
        accept_multiple_files=True,
        key=f"uploads_{generation}",
        label_visibility="collapsed",
    )
    if files and st.button("Add to the library", key="add_uploads"):
        bar = st.progress(0.0, text="Ingesting…")
        try:
            st.session_state["upload_results"] = ingest_uploads(app, list(files), bar)
        except QaBotError as exc:
            st.error(str(exc))
        else:
            # a fresh upload box, and the library's figures above counting what was added
            st.session_state["upload_generation"] = generation + 1
            st.rerun()
    for name, result in st.session_state.get("upload_results", []):
        (st.error if result.startswith("rejected") else st.success)(
            f"{escape(name)}: {escape(result)}"
        )


def feedback(app, i: int, answer: Answer) -> None:  # type: ignore[no-untyped-def]
    done = st.session_state.setdefault("feedback_sent", set())
    if i in done:
        st.caption("Thank you for your feedback.")
        return
    rating = st.feedback("thumbs", key=f"rating_{i}")
    if rating is not None:
        comment = st.text_input("Comment (optional)", key=f"comment_{i}")
        if st.button("Send feedback", key=f"send_{i}"):
            try:
                app.feedback.add(answer, rating=rating, comment=comment)
                done.add(i)
                st.rerun()
            except QaBotError as exc:
                st.error(str(exc))


def main() -> None:
    st.title("Ask the press releases")
    try:
        app = get_app()
    except QaBotError as exc:
        st.error(str(exc))
        return
    history = turns(app)
    try:
        filters = sidebar(app, history)
        app.retriever.refresh()
    except QaBotError as exc:  # e.g. the Chroma server was lost: the conversation is kept
        for turn in history:
            with st.chat_message("user"):
                st.markdown(escape(turn.question))
            with st.chat_message("assistant"):
                render_answer(turn.answer, {})
        st.error(str(exc))
        return
    releases = app.retriever.releases
    for i, turn in enumerate(history):
        with st.chat_message("user"):
            st.markdown(escape(turn.question))
        with st.chat_message("assistant"):
            render_answer(turn.answer, releases)
            feedback(app, i, turn.answer)

    if error := st.session_state.pop("keep_error", None):  # said after the rerun, not lost to it
        st.warning(error)
    # no max_chars: the browser dropped a pasted question over the limit with no word; the
    # answerer's check says how long it is and what the limit is
    question = st.chat_input("Ask about the releases, in English or French")
    if not question:
        return
    with st.chat_message("user"):
        st.markdown(escape(question))
    with st.chat_message("assistant"):
        try:
            qa = app.qa()
            final: dict[str, Answer] = {}

            def pieces():  # type: ignore[no-untyped-def]
                for piece in qa.stream(question, history=history, filters=filters):
                    if isinstance(piece, Answer):
                        final["answer"] = piece
                    else:
                        yield piece

            if app.generator_name() == "openai":
                with st.empty():
                    st.write_stream(escape(p) for p in pieces())
            else:
                for _ in pieces():
                    pass
        except QaBotError as exc:
            st.error(str(exc))
            return
        answer = final["answer"]
    history.append(Turn(question, answer))
    try:
        keep(app, history, filters)
    except OSError as exc:  # the answer stands; only the copy for a reload is missing
        st.session_state["keep_error"] = f"The conversation could not be kept for a reload ({exc})."
    st.rerun()


main()
