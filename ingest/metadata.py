"""Metadata of a release: clean text, title, dates, languages, paragraphs.

Dates are parsed as real releases write them, in English and French
(``28 Feb. 2024``, ``Mis à jour le: 07 Mar. 2024 13:26``,
``KABUL, Afghanistan (Jan. 25, 2013)``) with dateparser; languages are
detected per paragraph with lingua, so an English title standing alone in a
French release is recognised as English (and kept as the English title).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from pathlib import Path
from typing import Any

from qa_bot.types import Paragraph, Release

from .loaders import RawRelease

MONTH = r"[A-Za-zÀ-ÿ]{3,10}\.?"
DATE_RE = re.compile(
    rf"(?<!\w)(\d{{1,2}}(?:er)?\s+{MONTH}\s+\d{{4}}(?:,?\s+(?:à\s+)?\d{{1,2}}[:h]\d{{2}})?"
    rf"|{MONTH}\s+\d{{1,2}},?\s+\d{{4}}(?:,?\s+\d{{1,2}}:\d{{2}})?"
    r"|\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?)"
)
UPDATED_RE = re.compile(
    r"^(?:mis à jour le|mise à jour le|mise à jour|dernière mise à jour|last updated|updated)"
    r"\s*(?:on)?\s*:?\s*",
    re.IGNORECASE,
)
PUBLISHED_RE = re.compile(
    r"^(?:published|posted|issued|released|publié|publiée|diffusé)\s*(?:on|le)?\s*:?\s*",
    re.IGNORECASE,
)
DATELINE_RE = re.compile(r"\(\s*(" + MONTH + r"\s+\d{1,2},\s+\d{4})\s*\)")
BULLETS = "•·▪‣-–—*|"
METADATA_VERSION = "4"  # bump when extraction changes, to re-ingest
SENTENCE_END = '.!?:;»"”…)'
LEAD_CHARS = 300
"""A release's lead: a date written there is the release's when no date line says so
(before the date a document file was created, which may be its template's)."""
WRAPPED_LINE = 50
"""A line at least this long that ends no sentence is prose wrapped onto the next line (a
title seldom is; hard-wrapped text is cut at 60 to 80)."""
# languages of the organisations we serve; a closed set keeps short-text detection accurate
LANGUAGES = (
    "ENGLISH",
    "FRENCH",
    "GERMAN",
    "SPANISH",
    "ITALIAN",
    "PORTUGUESE",
    "DUTCH",
    "POLISH",
    "RUSSIAN",
    "UKRAINIAN",
    "TURKISH",
    "ROMANIAN",
)


# ---------------------------------------------------------------------- text
_LINE_SEPARATORS = re.compile(r"[ \t]*\u2028(?:[ \t]*\u2028)*[ \t]*")


def _unwrap(text: str) -> str:
    """One U+2028 (LINE SEPARATOR) inside a sentence is a wrap of the text it was copied
    from, and becomes a space: the next line goes on in lower case ("which occurred\u2028in
    an open area"), or the line it ends is long and ends no sentence ("conducted\u2028an air
    strike"). Two or more are a paragraph break, and one after a short line (a title) or a
    sentence's end a line break, as before."""

    out: list[str] = []
    done = 0  # text[:done] is in out; the line before a separator starts after the last
    for m in _LINE_SEPARATORS.finditer(text):  # newline or separator before it
        line = text[max(done, text.rfind("\n", done, m.start()) + 1) : m.start()].strip()
        after = text[m.end() : m.end() + 1]
        wrapped = (
            m.group().count("\u2028") == 1
            and bool(line)
            and line[-1] not in SENTENCE_END
            and (after.islower() or len(line) >= WRAPPED_LINE)
        )
        out += [text[done : m.start()], " " if wrapped else m.group()]
        done = m.end()
    out.append(text[done:])
    return "".join(out)


def normalize(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _unwrap(text).replace("\u2028", "\n")
    text = text.replace("\u2029", "\n\n").replace("\ufeff", "")
    lines = [re.sub(r"[ \t\f\v]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def split_paragraphs(text: str, *, hard_wrapped: bool = True) -> list[tuple[int, int]]:
    """Paragraph spans: blank-line blocks; lines of a block are paragraphs of their own
    unless the block is hard-wrapped prose (only looked for where ``hard_wrapped``)."""
    spans: list[tuple[int, int]] = []
    for block in re.finditer(r"[^\n](?:.|\n(?!\n))*", text):
        lines = [m for m in re.finditer(r"[^\n]+", block.group())]
        wrapped = (
            hard_wrapped
            and len(lines) > 1
            and all(
                len(m.group()) >= WRAPPED_LINE and m.group().rstrip()[-1] not in SENTENCE_END
                for m in lines[:-1]
            )
        )
        if wrapped:
            spans.append((block.start(), block.end()))
        else:
            spans.extend((block.start() + m.start(), block.start() + m.end()) for m in lines)
    return spans


def slugify(value: str) -> str:
    slug = re.sub(r"[^a-z0-9._-]+", "-", value.lower()).strip("-.")
    return slug or "release"


# ---------------------------------------------------------------------- dates
def parse_datetime(value: str, *, day_first: bool = False) -> dt.datetime | None:
    """A date as written; ``day_first``: 12/03/2011 is 12 March (a French release's way),
    else 3 December."""
    value = value.strip().strip(BULLETS + " ,")
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        pass
    return _dateparser(value, day_first)


@functools.lru_cache(maxsize=4096)
def _dateparser(value: str, day_first: bool = False) -> dt.datetime | None:
    import dateparser

    parsed = dateparser.parse(
        value,
        languages=["en", "fr"],
        settings={
            **({"DATE_ORDER": "DMY"} if day_first else {}),
            "REQUIRE_PARTS": ["day", "month", "year"],
            "RETURN_AS_TIMEZONE_AWARE": False,
            # "yesterday", "in 3 weeks": a release's date is never counted from the ingest's
            "PARSERS": ["timestamp", "custom-formats", "absolute-time"],
        },
    )
    return parsed


def find_date(line: str) -> dt.datetime | None:
    match = DATE_RE.search(line)
    return parse_datetime(match.group(1)) if match else None


def _is_metadata_line(line: str) -> bool:
    bare = line.strip().strip(BULLETS + " ")
    if not bare:
        return True
    if UPDATED_RE.match(bare):
        return True
    bare = PUBLISHED_RE.sub("", bare)  # "Published 3 April 2020"
    match = DATE_RE.search(bare)
    return match is not None and len(match.group()) >= 0.6 * len(bare)


# ---------------------------------------------------------------------- languages
@functools.lru_cache(maxsize=1)
def _detector() -> Any:
    from lingua import Language, LanguageDetectorBuilder

    languages = [getattr(Language, name) for name in LANGUAGES]
    return (
        LanguageDetectorBuilder.from_languages(*languages)
        .with_minimum_relative_distance(0.05)
        .with_low_accuracy_mode()
        .build()
    )


def detect_languages(texts: list[str]) -> list[str | None]:
    """ISO 639-1 code per text, or None when the text is too short or unclear."""
    if not texts:
        return []
    detector = _detector()  # serial: the parallel call's thread pool costs more on short texts
    found = [detector.detect_language_of(t[:DETECT_CHARS]) for t in texts]
    return [lang.iso_code_639_1.name.lower() if lang else None for lang in found]


MIN_LETTERS = 25
MIN_OTHER = 80
"""A paragraph is taken to differ from its release's language only with this many letters:
short headlines full of place names fool any detector."""
DETECT_CHARS = 300  # a paragraph's opening tells its language; the rest only costs time


LANGUAGE_CODE_RE = re.compile(r"([a-z]{2})(?:[-_][a-z0-9]{2,8})*")
OTHER_NAMES = {"anglais": "en", "français": "fr", "francais": "fr", "englisch": "en"}


@functools.lru_cache(maxsize=256)
def language_code(declared: str | None) -> str | None:
    """The ISO 639-1 code of a declared language ("en", "en-US", "fr_FR", "French",
    "français"), or None for anything else ("klingon!!", "12"): the release's language
    is then detected from its text, as when none is declared."""
    value = (declared or "").strip().lower()
    if match := LANGUAGE_CODE_RE.fullmatch(value):
        return match.group(1)
    if value in OTHER_NAMES:
        return OTHER_NAMES[value]
    if value.upper() in LANGUAGES:
        from lingua import Language

        return str(getattr(Language, value.upper()).iso_code_639_1.name.lower())
    return None


def _letters(text: str) -> int:
    return sum(map(str.isalpha, text))


# ---------------------------------------------------------------------- release
def build_release(raw: RawRelease, *, release_id: str | None = None) -> Release:
    """The release with its metadata, from what a loader found."""
    text = normalize(raw.text)
    title = (raw.title or "").strip() or None
    date = (
        parse_datetime(raw.date, day_first=language_code(raw.language) == "fr")
        if raw.date
        else None
    )
    updated: dt.datetime | None = None
    unread: str | None = None

    if raw.kind != "record":
        lines = text.split("\n")
        i = 0
        if title is None:
            while i < len(lines) and not lines[i].strip():
                i += 1
            if i < len(lines) and len(lines[i]) <= 300:
                title = lines[i].lstrip("#").strip()
                i += 1
        # metadata lines right under the title: date bullets, "updated" stamps
        j = i
        while j < len(lines) and j - i < 12 and _is_metadata_line(lines[j]):
            bare = lines[j].strip().strip(BULLETS + " ")
            if UPDATED_RE.match(bare):
                updated = updated or find_date(UPDATED_RE.sub("", bare))
            elif bare and date is None:
                found = find_date(bare)
                date = found
                if not found:
                    unread = unread or bare
            j += 1
        text = normalize("\n".join(lines[j:]))

    if date is None:
        match = DATELINE_RE.search(text[:600])
        if match:
            date = parse_datetime(match.group(1))
    if date is None and not raw.date and unread is None:  # none declared, readable or not
        date = find_date(text[:LEAD_CHARS])  # "BRUSSELS, 5 May 2024 - ...": the lead's date
    if date is None and raw.extra.get("created"):  # a file's creation: a template's, often
        date = parse_datetime(raw.extra["created"])

    # records (JSON lines) and extracted documents break paragraphs with single newlines
    spans = split_paragraphs(text, hard_wrapped=raw.kind in ("text", "markdown"))
    para_texts = [text[s:e] for s, e in spans]
    letters = [_letters(p) for p in para_texts]
    detectable = [i for i, n in enumerate(letters) if n >= MIN_LETTERS]
    detected: list[str | None] = [None] * len(spans)
    for i, lang in zip(
        detectable, detect_languages([para_texts[i] for i in detectable]), strict=True
    ):
        detected[i] = lang

    release_lang = language_code(raw.language) or _majority(spans, detected)
    paragraphs = tuple(
        Paragraph(s, e, lang if (lang := detected[k]) and letters[k] >= MIN_OTHER else release_lang)
        for k, (s, e) in enumerate(spans)
    )
    titles: dict[str, str] = {}
    for p in paragraphs:
        body = text[p.start : p.end]
        if (
            p.language != release_lang
            and p.language not in titles
            and "\n" not in body
            and len(body) <= 300
            and body[-1] not in SENTENCE_END
        ):
            titles[p.language] = body

    if not title:
        title = derive_title(text, spans)

    rid = release_id or derive_id(raw)
    return Release(
        release_id=rid,
        title=title or rid,
        text=text,
        language=release_lang,
        paragraphs=paragraphs,
        date=date.date() if date else None,
        updated=updated,
        url=raw.url,
        source=raw.source,
        content_hash=raw.fingerprint,
        titles=titles,
        extra=dict(raw.extra),
        unread_date=unread if date is None else None,
    )


LEAD_RE = re.compile(r"^[A-ZÀ-Ý][\w .'’-]*,[\w .'’-]+\([^)]*\d[^)]*\)\s*[-–—:]*\s*")


def derive_title(text: str, spans: list[tuple[int, int]]) -> str:
    """A headline for a release that has none: its first real sentence.

    Skips release numbers, organisation lines and bare datelines
    (``KABUL, Afghanistan (Feb. 13, 2013)``), and the dateline before a lead."""
    for s, e in spans:
        para = LEAD_RE.sub("", text[s:e]).strip()
        if len(re.findall(r"[^\W\d_]{2,}", para)) < 8:
            continue
        sentence = re.split(r"(?<=[.!?])\s+(?=[A-ZÀ-Ý])", para, maxsplit=1)[0]
        return sentence if len(sentence) <= 160 else sentence[:157].rsplit(" ", 1)[0] + "…"
    first = text[spans[0][0] : spans[0][1]] if spans else ""
    return first[:160]


def derive_id(raw: RawRelease) -> str:
    """The record's id, else one derived from its URL or file name."""
    if raw.release_id:
        return raw.release_id
    return slugify(Path(raw.url.rstrip("/")).stem if raw.url else Path(raw.source).stem)


def _majority(spans: list[tuple[int, int]], detected: list[str | None]) -> str:
    weight: dict[str, int] = {}
    for (s, e), lang in zip(spans, detected, strict=True):
        if lang:
            weight[lang] = weight.get(lang, 0) + (e - s)
    return max(weight, key=lambda k: weight[k]) if weight else "und"
