from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import docx

from qa_bot import briefing
from qa_bot.feedback import FeedbackStore
from qa_bot.types import Answer, Citation, Turn
from tests.conftest import run_qa_bot


def _turn() -> Turn:
    cite = Citation(
        n=1,
        release_id="r1",
        title="Partners meeting",
        date=dt.date(2024, 2, 28),
        url="https://www.nato.int/x",
        quote="Rohling opened the meeting.",
        start=0,
        end=27,
    )
    answer = Answer(
        question="Who opened the meeting?",
        text="Rohling opened the meeting. [1]",
        abstained=False,
        citations=(cite,),
        passages=(),
        generator="extractive",
    )
    return Turn(answer.question, answer)


def test_briefing_markdown(snapshot) -> None:  # type: ignore[no-untyped-def]
    note = briefing.to_markdown([_turn(), _turn()], today=dt.date(2026, 11, 27))
    assert "[^1]" in note and "[^2]" in note  # footnotes numbered across questions
    assert note == snapshot


def test_briefing_docx_has_the_sources() -> None:
    data = briefing.to_docx([_turn()], today=dt.date(2026, 11, 27))
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs)
    assert "Who opened the meeting?" in text and "[1] Partners meeting, 2024-02-28" in text


def test_feedback_is_kept_and_exported_by_the_cli(tmp_path: Path) -> None:
    store = tmp_path / "store"
    FeedbackStore(store / "feedback-releases.sqlite3").add(
        _turn().answer, rating=0, comment="Wrong general"
    )
    done = run_qa_bot("feedback", "--json", "--store", str(store))
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert rows[0]["rating"] == 0 and rows[0]["comment"] == "Wrong general"
    assert rows[0]["citations"][0]["quote"] == "Rohling opened the meeting."
