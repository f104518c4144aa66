from __future__ import annotations

import datetime as dt

import pytest

from ingest.loaders import RawRelease, load_file
from ingest.metadata import build_release, parse_datetime
from tests.conftest import ISAF, NATO


def test_nato_item_metadata_exactly() -> None:
    (raw,) = list(load_file(NATO))
    assert isinstance(raw, RawRelease)
    rel = build_release(raw)
    assert rel.title == (
        "Des représentants de l’OTAN et des pays partenaires s’entretiennent de la dynamique "
        "des stratégies de partenariat et de leur mise en œuvre"
    )
    assert rel.date == dt.date(2024, 2, 28)
    assert rel.updated == dt.datetime(2024, 3, 7, 13, 26)
    assert rel.language == "fr"
    english = (
        "Cooperative Security Division of the NATO International Military Staff (IMS) hosts "
        "its bi-annual meeting with Partners to discuss the dynamics of strategies and "
        "implementation of partnerships"
    )
    assert rel.titles == {"en": english}
    # an English paragraph of its own, not glued into French prose
    (para,) = [p for p in rel.paragraphs if rel.text[p.start : p.end] == english]
    assert para.language == "en"
    assert all(p.language == "fr" for p in rel.paragraphs if p is not para)
    # the header bullets are metadata, not body text
    assert "Mis à jour" not in rel.text and "•" not in rel.text
    assert rel.text.startswith("Le 28 février 2024, la Division Sécurité coopérative")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("28 Feb. 2024", dt.datetime(2024, 2, 28)),
        ("Mis à jour le: 07 Mar. 2024 13:26", None),  # a label: handled by the header parser
        ("07 Mar. 2024 13:26", dt.datetime(2024, 3, 7, 13, 26)),
        ("Jan. 25, 2013", dt.datetime(2013, 1, 25)),
        ("28 février 2024", dt.datetime(2024, 2, 28)),
        ("1er mars 2024", dt.datetime(2024, 3, 1)),
        ("2010-07-14", dt.datetime(2010, 7, 14)),
    ],
)
def test_dates_as_releases_write_them(text: str, expected: dt.datetime | None) -> None:
    if expected is None:
        return
    assert parse_datetime(text) == expected


def test_dateline_gives_the_date_when_nothing_else_does() -> None:
    raw = RawRelease(
        source="x.txt",
        text="Afghan forces open a new school\n\nKABUL, Afghanistan (Jan. 25, 2013) - Afghan "
        "forces opened a school in Kabul province today, officials said.",
    )
    rel = build_release(raw)
    assert rel.title == "Afghan forces open a new school"
    assert rel.date == dt.date(2013, 1, 25)


def test_french_header_dates_and_title() -> None:
    raw = RawRelease(
        source="communique.md",
        kind="markdown",
        text="# Réunion des ministres\n\n- 3 juin 2023\n- Mis à jour le: 5 juin 2023 09:10\n\n"
        "Les ministres de la Défense se sont réunis à Bruxelles pour discuter du soutien.",
    )
    rel = build_release(raw)
    assert rel.title == "Réunion des ministres"
    assert rel.date == dt.date(2023, 6, 3)
    assert rel.updated == dt.datetime(2023, 6, 5, 9, 10)
    assert rel.language == "fr"


def test_isaf_records_without_headline_get_their_lead_sentence() -> None:
    raws = [r for r in load_file(ISAF) if isinstance(r, RawRelease) and not r.title]
    assert raws
    titles = [build_release(r).title for r in raws[:50]]
    assert not any(t.startswith(("2011-", "2012-", "2013-", "ISAF Joint", "KABUL")) for t in titles)
    assert all(len(t) <= 161 for t in titles)


def test_a_french_release_writes_the_day_first() -> None:
    def dated(date: str, language: str | None) -> dt.date | None:
        raw = RawRelease(
            source="/x.jsonl", text="KABUL - A well was dug.", title="T", date=date,
            language=language, kind="record", line=1,
        )  # fmt: skip
        found = build_release(raw).date
        return found.date() if isinstance(found, dt.datetime) else found

    assert dated("12/03/2011", "fr") == dt.date(2011, 3, 12)
    assert dated("12/03/2011", "en") == dt.date(2011, 12, 3)
    assert dated("25/03/2011", "en") == dt.date(2011, 3, 25)  # no month 25
    assert dated("yesterday", "en") is None  # never counted from the day of the ingest


def test_a_line_separator_inside_a_sentence_is_a_space() -> None:
    """Half the ISAF records wrap their lines with U+2028: each piece was a sentence of its
    own, and answers quoted "..., which occurred" (found by a helper probing the CLI)."""
    body = (
        "Dec. 9: ISAF Strikes Militants\u2028\u2028ISAF Joint Command - Afghanistan\u2028"
        "\u20282009-12-CA-063\u2028 \u2028\u2028Kabul, Afghanistan (Dec. 9) - An international "
        "security force conducted\u2028an air strike near a Taliban training\u2028camp in "
        "Konar province\u2028yesterday.\nThe strike occurred \u2028in an open area. "
        "\u2028Assessment of the strike continues.\u2028Short line\u2028Next line"
    )
    release = build_release(RawRelease(source="x.jsonl", text=body, kind="record"))
    assert (
        "An international security force conducted an air strike near a Taliban training "
        "camp in Konar province yesterday." in release.text
    )
    assert "The strike occurred in an open area.\nAssessment" in release.text
    assert "ISAF Joint Command - Afghanistan\n\n2009-12-CA-063" in release.text  # paragraphs
    assert "Short line\nNext line" in release.text  # a short line is no wrap


def test_a_date_in_the_lead_comes_before_the_file_s_creation_date() -> None:
    """A DOCX saying "5 May 2024" in its lead was dated by the file's creation (python-docx's
    template: 2013-12-23), found by a helper probing the chat."""
    body = "Range opened\n\nTARTU, Estonia - On 5 May 2024, the cyber range was opened."
    raw = RawRelease(source="x.docx", text=body, kind="docx", extra={"created": "2013-12-23"})
    assert build_release(raw).date == dt.date(2024, 5, 5)
    undated = RawRelease(source="y.docx", text="Range\n\nIt was opened.", kind="docx",
                         extra={"created": "2013-12-23"})  # fmt: skip
    assert build_release(undated).date == dt.date(2013, 12, 23)


def test_an_unreadable_declared_date_is_not_replaced_by_the_lead_s() -> None:
    body = "Bridge reopened\n\n• 3 Marhc 2025\n\nEngineers reopened the bridge hit on 12 June 2019."
    release = build_release(RawRelease(source="x.txt", text=body, kind="text"))
    assert release.date is None and release.unread_date == "3 Marhc 2025"  # said, not guessed
    record = RawRelease(source="y.jsonl", text="Destroyed on 12 June 2019.", kind="record",
                        date="3 Marhc 2025")  # fmt: skip
    assert build_release(record).date is None
