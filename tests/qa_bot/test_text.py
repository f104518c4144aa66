"""Folding, a pure function: fast tier."""

from __future__ import annotations

import unicodedata

import pytest

from qa_bot.text import fold


@pytest.mark.parametrize(
    "text",
    [
        "Kyïv",
        "Le Général de corps d’armée",
        "İstanbul ǅ ß ℌ ﬁ Å",
        "e\u0301\u0327 a\u0323\u0302b",  # combining marks in either order
        "가각 \u1100\u1161\u11a8",
        "plain ASCII text, 2024",
    ],
)
def test_fold_character_by_character_is_the_whole_text_decomposed(text: str) -> None:
    whole = unicodedata.normalize("NFKD", text.lower())
    assert fold(text) == "".join(ch for ch in whole if not unicodedata.combining(ch))


def test_stop_words_do_not_import_scipy() -> None:
    """bm25s's lists are read without bm25s itself (scipy), off a fresh ask's path."""
    import subprocess
    import sys

    script = (
        "import sys; from qa_bot.text import terms; "
        "assert terms('The meeting with NATO partners') == ['meeting', 'partners'], terms; "
        "assert 'scipy' not in sys.modules and 'bm25s' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


def test_a_relative_date_that_opens_a_sentence_keeps_its_capital() -> None:
    import datetime as dt

    from qa_bot.text import resolve_relative_dates

    day = dt.date(2013, 1, 22)
    assert resolve_relative_dates("Today, forces confirmed it.", day).startswith("On 22 January")
    assert resolve_relative_dates("Hier, les forces.", day, "fr").startswith("Le 21 janvier")
    assert resolve_relative_dates("Forces struck yesterday.", day).endswith("on 21 January 2013.")
