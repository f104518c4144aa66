"""The library: every release, searchable and sortable; read one; delete one."""

from __future__ import annotations

from pathlib import Path, PurePath

import streamlit as st

from qa_bot.errors import QaBotError
from ui.components import escape
from ui.state import get_app


def main() -> None:
    st.title("Library")
    try:
        app = get_app()
        index = app.store.release_index()
    except QaBotError as exc:
        st.error(str(exc))
        return
    if done := st.session_state.pop("library_done", None):
        st.success(done)
    query = st.text_input("Search titles and ids", key="library_search").strip().lower()
    rows = [
        {
            "id": i.release_id,
            "date": i.date,
            "language": i.language,
            "title": i.title,
            "chunks": i.chunks,
        }
        for i in sorted(
            index.values(), key=lambda i: (str(i.date or ""), i.release_id), reverse=True
        )
        if not query or query in i.title.lower() or query in i.release_id.lower()
    ]
    st.caption(f"{len(rows)} of {len(index)} releases")
    st.dataframe(rows, hide_index=True, use_container_width=True, key="library_table")
    if not rows:
        return
    rid = st.selectbox(
        "Open a release",
        [str(r["id"]) for r in rows],
        key="library_open",
        format_func=lambda r: f"{index[r].date or '-'} · {index[r].title[:80]}",
    )
    rid = str(rid)
    release = app.store.get_releases([rid]).get(rid)
    if release is None:
        return
    st.subheader(escape(release.title))
    st.caption(
        escape(
            " · ".join(
                filter(
                    None,
                    [
                        str(release.date or "undated"),
                        release.language,
                        # the file's name, never where it lies on the server's disk
                        release.url or (release.source and PurePath(release.source).name),
                    ],
                )
            )
        )
    )
    st.text(release.text)
    if st.button("Delete this release", key="library_delete"):
        st.session_state["confirm_delete"] = rid
    if st.session_state.get("confirm_delete") == rid:
        st.warning(f"Delete {escape(release.title)} and its chunks from the store?")
        if st.button("Yes, delete it", type="primary", key="library_confirm"):
            try:
                app.delete([rid])
                _forget_upload(app, release.source)
                st.session_state.pop("confirm_delete", None)
                # said after the rerun (a message shown before it is wiped at once)
                done = f"Deleted {escape(release.title)} ({escape(rid)})."
                st.session_state["library_done"] = done
                st.rerun()
            except QaBotError as exc:
                st.error(str(exc))


def _forget_upload(app, source: str | None) -> None:  # type: ignore[no-untyped-def]
    """A deleted release that came in through the chat's upload box leaves no file behind,
    unless other releases of the library came from the same file (a JSONL of several)."""
    if not source:
        return
    uploads = (app.local_dir / "uploads").resolve()
    path = Path(source).resolve()
    if path.parent != uploads:
        return
    if not any(
        i.source and Path(i.source).resolve() == path for i in app.store.release_index().values()
    ):
        path.unlink(missing_ok=True)


main()
