"""Date filters over undated releases (fast tier: a small store, the fake embedder)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from ingest.pipeline import build_ingestor
from qa_bot.app import build_app
from qa_bot.retrieval import chroma_where
from qa_bot.settings import load_settings
from qa_bot.types import Filters
from tests.fakes import FakeEmbedder

BODY = "KABUL, Afghanistan - Engineers dug a well in Logar province for the village of {}."


def test_an_undated_release_is_in_no_period(tmp_path: Path) -> None:
    folder = tmp_path / "releases"
    folder.mkdir()
    records = [
        {"id": "dated", "title": "Dated", "date": "2010-07-31", "body": BODY.format("Baraki")},
        {"id": "undated", "title": "Undated", "body": BODY.format("Charkh")},
    ]
    (folder / "r.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    settings = load_settings(store=tmp_path / "store", cache_dir=tmp_path / "cache")
    app = build_app(settings, embedder=FakeEmbedder())
    assert build_ingestor(app).run([folder]).added == 2

    def found(filters: Filters) -> set[str]:
        got = app.retriever.search("Which village got a well in Logar?", k=5, filters=filters)
        return {p.release_id for p in got.passages}

    assert found(Filters()) == {"dated", "undated"}
    for window in (
        Filters(until=dt.date(2011, 1, 1)),
        Filters(since=dt.date(2010, 1, 1)),
        Filters(since=dt.date(2010, 1, 1), until=dt.date(2011, 1, 1)),
    ):
        assert found(window) == {"dated"}, window
    assert found(Filters(until=dt.date(2000, 1, 1))) == set()
    # the same rule in the filter LangChain's Chroma gets
    assert chroma_where(Filters(until=dt.date(2000, 1, 1))) == {
        "$and": [{"date_int": {"$lte": 20000101}}, {"date_int": {"$gt": 0}}]
    }
