"""Source cards: what the chat shows under an answer."""

from __future__ import annotations

import datetime as dt

from qa_bot.types import Answer, Citation, Passage
from ui.components import cards, highlighted

TEXT = "Gen. A opened the meeting. Gen. B spoke next. Gen. C closed it."


def _citation(n: int, quote: str, rid: str = "r1") -> Citation:
    start = TEXT.index(quote)
    return Citation(n, rid, "Meeting", dt.date(2024, 2, 28), None, quote, start, start + len(quote))


def test_two_sentences_of_one_paragraph_are_one_card_with_both_highlighted() -> None:
    passage = Passage(
        "r1", "Meeting", dt.date(2024, 2, 28), None, "en", TEXT, 0, len(TEXT), 1.0, ()
    )
    other = Passage("r2", "Other", None, None, "en", TEXT, 0, len(TEXT), 1.0, ())
    first, second = _citation(1, "Gen. A opened the meeting."), _citation(2, "Gen. C closed it.")
    third = _citation(3, "Gen. B spoke next.", rid="r2")
    answer = Answer("q", "a", False, (first, second, third), (passage, other), "extractive")
    shown = cards(answer)
    assert [[c.n for c in cited] for cited, _ in shown] == [[1, 2], [3]]
    text = highlighted(TEXT, 0, [(c.start, c.end) for c in shown[0][0]])
    assert text is not None and text.count(":orange-background[") == 2
    assert text.index("opened") < text.index("spoke") < text.index("closed")
    assert highlighted(TEXT, 100, [(first.start, first.end)]) is None  # not in this text


def test_an_answer_quoted_in_another_language_says_why() -> None:
    from types import SimpleNamespace

    from ui.components import quoted_in

    cite = _citation(1, "Gen. A opened the meeting.")
    french = {"r1": SimpleNamespace(language="fr")}
    english = {"r1": SimpleNamespace(language="en")}
    asked = Answer("Who opened the meeting?", "x [1]", False, (cite,), (), "extractive")
    assert "in French" in (quoted_in(asked, french) or "")  # type: ignore[arg-type]
    assert quoted_in(asked, english) is None  # type: ignore[arg-type]
    again = Answer("Qui a ouvert la réunion ?", "x [1]", False, (cite,), (), "extractive")
    assert "en anglais" in (quoted_in(again, english) or "")  # type: ignore[arg-type]
