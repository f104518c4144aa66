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


def _iso(periods):  # type: ignore[no-untyped-def]
    return [(a.isoformat(), b.isoformat()) for a, b in periods]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # a day without its year takes the year written next: a question on two events
        (
            "Taliban leaders were targeted in Muqer on July 31 and Aug. 8, 2012. How many?",
            [("2012-07-31", "2012-07-31"), ("2012-08-08", "2012-08-08")],
        ),
        (
            "in March 2012 and on Dec. 3, 2012",
            [("2012-03-01", "2012-03-31"), ("2012-12-03", "2012-12-03")],
        ),
        ("in March and April 2011", [("2011-03-01", "2011-03-31"), ("2011-04-01", "2011-04-30")]),
        ("Qui a ouvert la réunion du 28 février 2024 ?", [("2024-02-28", "2024-02-28")]),
        ("What did ISAF report from Kunduz in July 2010?", [("2010-07-01", "2010-07-31")]),
        ("en 2011 et 2012", [("2011-01-01", "2011-12-31"), ("2012-01-01", "2012-12-31")]),
        ("on 2010-07-31", [("2010-07-31", "2010-07-31")]),
        ("on July 31", []),  # no year: no period
        # the month of a day is not also the whole month
        ("on 4 March and April 2012", [("2012-03-04", "2012-03-04"), ("2012-04-01", "2012-04-30")]),
        ("in May 0000", []),  # no such year: no period, and no error
        # a range is one period, its ends included
        ("from June to August 2010", [("2010-06-01", "2010-08-31")]),
        ("between June and August 2010", [("2010-06-01", "2010-08-31")]),
        ("de juin à août 2010", [("2010-06-01", "2010-08-31")]),
        ("June-August 2010", [("2010-06-01", "2010-08-31")]),
        ("on Dec. 21-22, 2009", [("2009-12-21", "2009-12-22")]),
        ("dans la nuit du 16 au 17 novembre 2010", [("2010-11-16", "2010-11-17")]),
        ("between 5 and 7 March 2012", [("2012-03-05", "2012-03-07")]),
        ("on 5 and 7 March 2012", [("2012-03-05", "2012-03-05"), ("2012-03-07", "2012-03-07")]),
        # three days or more listed: each of them
        (
            "on 5, 6 and 7 March 2012",
            [
                ("2012-03-05", "2012-03-05"),
                ("2012-03-06", "2012-03-06"),
                ("2012-03-07", "2012-03-07"),
            ],
        ),
        (
            "le 5, 6 et 7 mars 2012",
            [
                ("2012-03-05", "2012-03-05"),
                ("2012-03-06", "2012-03-06"),
                ("2012-03-07", "2012-03-07"),
            ],
        ),
        (
            "on March 5, 6 and 7, 2012",
            [
                ("2012-03-05", "2012-03-05"),
                ("2012-03-06", "2012-03-06"),
                ("2012-03-07", "2012-03-07"),
            ],
        ),
        ("killed 5, 6 and 7 insurgents in March 2012", [("2012-03-01", "2012-03-31")]),
        # across New Year a day takes the year before the one written after it
        ("between December 30 and January 2, 2012", [("2011-12-30", "2012-01-02")]),
        (
            "Selon la confirmation du 25 août 2012, détenu le 19 août",
            [("2012-08-25", "2012-08-25"), ("2012-08-19", "2012-08-19")],
        ),
        ("du 30 décembre 2011 au 2 janvier 2012", [("2011-12-30", "2012-01-02")]),
        ("from March 5, 2012 to March 7, 2012", [("2012-03-05", "2012-03-07")]),
        ("entre le 5 et le 7 mars 2012", [("2012-03-05", "2012-03-07")]),
        ("between 2010 and 2012", [("2010-01-01", "2012-12-31")]),
        # only a range goes forward: days merely listed or far apart keep their year
        (
            "What did ISAF say on 15 June about the May 2012 attack?",
            [("2012-06-15", "2012-06-15"), ("2012-05-01", "2012-05-31")],
        ),
        (
            "on Aug. 8 and July 31, 2012",
            [("2012-08-08", "2012-08-08"), ("2012-07-31", "2012-07-31")],
        ),
        ("December to January 0001", [("0001-12-01", "0001-12-31"), ("0001-01-01", "0001-01-31")]),
        # 'may' the verb and 'sept' the number are not months
        ("Which of the 12 may return in 2012?", [("2012-01-01", "2012-12-31")]),
        ("sept soldats en 2011", [("2011-01-01", "2011-12-31")]),
        ("what happened on may 5, 2012", [("2012-05-05", "2012-05-05")]),
        ("in may and june 2012", [("2012-05-01", "2012-05-31"), ("2012-06-01", "2012-06-30")]),
        ("what happened on 5 may in kandahar in 2012", [("2012-05-05", "2012-05-05")]),
        ("le 12 sept. 2011", [("2011-09-12", "2011-09-12")]),
    ],
)
def test_every_period_a_question_names(question: str, expected: list) -> None:  # type: ignore[type-arg]
    import datetime as dt

    from qa_bot.text import find_periods

    assert _iso(find_periods(question, newest=dt.date(2013, 1, 1))) == expected
