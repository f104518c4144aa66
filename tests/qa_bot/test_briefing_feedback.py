from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import re
from pathlib import Path

import docx

from qa_bot import briefing
from qa_bot.feedback import FeedbackStore
from qa_bot.types import Answer, Citation, Claim, Turn
from tests.conftest import run_qa_bot

MODEL = "'scripted' at http://127.0.0.1:8000/v1"
DROPPED = f"2 of the 3 sentences the model {MODEL} wrote were dropped: 2 cite no release."
REPLACED = (
    f"The model {MODEL} wrote no sentence that the releases back (1 sentence: 1 cite no "
    "release); showing the offline answer instead."
)


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


def _model_turns() -> list[Turn]:
    """As the chat keeps them: a model's answer with two sentences dropped, and one whose
    every sentence was unbacked, replaced by the offline answer."""
    offline = _turn().answer
    dropped = dataclasses.replace(
        offline,
        generator="openai",
        notice=DROPPED,
        sentences=(
            Claim("Rohling opened the meeting.", "supported", (1,), 0.9),
            Claim("Mickey Mouse closed it.", "uncited", shown=False),
            Claim("It was held in Mons.", "uncited", shown=False),
        ),
    )
    replaced = dataclasses.replace(
        offline,
        notice=REPLACED,
        sentences=(Claim("The Secretary General opened it.", "uncited", shown=False),),
    )
    return [Turn("Who opened the meeting?", dropped), Turn("And who opened it?", replaced)]


def test_briefing_says_what_was_dropped_or_replaced(snapshot) -> None:  # type: ignore[no-untyped-def]
    """The note says what the chat said: how many of the model's sentences were dropped,
    and that an unbacked answer was replaced by the offline one, naming the model."""
    note = briefing.to_markdown(_model_turns(), today=dt.date(2026, 11, 27))
    assert f"> **Note:** {DROPPED}" in note and f"> **Note:** {REPLACED}" in note
    assert "Mickey" not in note and "Secretary General" not in note
    assert note == snapshot
    data = briefing.to_docx(_model_turns(), today=dt.date(2026, 11, 27))
    paragraphs = docx.Document(io.BytesIO(data)).paragraphs
    notes = [p for p in paragraphs if p.text.startswith("Note: ")]
    assert [p.text for p in notes] == [f"Note: {DROPPED}", f"Note: {REPLACED}"]
    assert all(run.italic for p in notes for run in p.runs)


def test_briefing_docx_has_the_sources() -> None:
    data = briefing.to_docx([_turn()], today=dt.date(2026, 11, 27))
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs)
    assert "Who opened the meeting?" in text and "[1] Partners meeting, 2024-02-28, r1" in text


def _hostile_turn() -> Turn:
    """A question pasted from Word (a vertical tab) and an uploaded release whose title and
    link would be Markdown: a live link, a footnote, maths."""
    turn = _turn()
    cite = dataclasses.replace(
        turn.answer.citations[0],
        title="[click me](javascript:alert(1)) [^1] $E=mc^2$ <b>x</b>",
        url="javascript:alert(1)",
        quote="Rohling opened the *meeting*.",
    )
    question = "Who opened\x0bthe meeting?\x00"
    answer = dataclasses.replace(
        turn.answer, question=question, text="Rohling opened the *meeting*. [1]", citations=(cite,)
    )
    return Turn(question, answer)


def test_briefing_notes_take_any_text() -> None:
    note = briefing.to_markdown([_hostile_turn()], today=dt.date(2026, 11, 27))
    for active in (r"(?<!\\)\]\(", r"(?<!\\)\[\^1(?!\])", r"(?<!\\)\$", r"(?<!\\)<b"):
        assert not re.search(active, note), active
    assert "\\[click me\\](javascript:alert(1)) \\[^1\\] \\$E=mc^2\\$ \\<b\\>x\\</b\\>" in note
    assert "Rohling opened the \\*meeting\\*.[^1]" in note
    assert note.count("[^1]:") == 1 and "## Who opened the meeting?" in note
    data = briefing.to_docx([_hostile_turn()], today=dt.date(2026, 11, 27))
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs)
    assert "Who opened the meeting?" in text and "Rohling opened the *meeting*.[1]" in text


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
