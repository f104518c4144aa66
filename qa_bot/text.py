"""Text analysis shared by retrieval, answering and evaluation.

Accent and case folding, tokens for the lexical index (English and French stop
words, no stemming: one analysis for both languages, so a name matches in
either), and dates: month names in English and French, periods named in a
question, relative dates in a release resolved from its own date.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import re
import unicodedata
from pathlib import Path
from typing import Any

# ---------------------------------------------------------------------- folding
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


class _Folded(dict[int, str]):
    """Each character as :func:`fold` makes it, worked out the first time it is met."""

    def __missing__(self, char: int) -> str:
        decomposed = unicodedata.normalize("NFKD", chr(char))
        self[char] = folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        return folded


_FOLDED = _Folded()


def fold(text: str) -> str:
    """Lower case without accents: 'Kyïv' -> 'kyiv', 'Général' -> 'general'.

    Character by character, which is the same as decomposing the whole text (NFKD) and
    dropping its combining marks: only those marks are ever reordered."""
    lowered = text.lower()
    return lowered if lowered.isascii() else lowered.translate(_FOLDED)


QUESTION_WORDS = {
    "en": ("who", "whom", "whose", "what", "which", "when", "where", "why", "how", "many",
           "much", "did", "does", "do"),
    "fr": ("qui", "quoi", "quel", "quelle", "quels", "quelles", "quand", "ou", "comment",
           "combien", "pourquoi"),
}  # fmt: skip


@functools.lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    words = _bm25s_stopwords()
    extra = {
        # question words and chat filler, in both languages
        *QUESTION_WORDS["en"],
        *QUESTION_WORDS["fr"],
        "tell",
        "say",
        "said",
        "report",
        "reported",
        "releases",
        "release",
        "est",
        "ce",
        "que",
        "qu",
        "l",
        "d",
        "s",
        "n",
        "j",
        "c",
        "t",
        "m",
        "y",
        "a",
        "au",
        "aux",
        "du",
        "des",
        "les",
        "la",
        "le",
        "un",
        "une",
        "et",
        "en",
        "dans",
        "sur",
        "par",
        "pour",
        "avec",
        "ont",
        "ete",
        "été",
        "sont",
        "etait",
        "fait",
        "communique",
        "communiques",
        # names nearly every release holds: no help in ranking or in telling what is asked
        "isaf",
        "nato",
        "otan",
    }
    return frozenset(fold(w) for w in (*words.STOPWORDS_EN_PLUS, *words.STOPWORDS_FRENCH, *extra))


@functools.lru_cache(maxsize=1)
def analyzer() -> str:
    """A fingerprint of what decides the terms :func:`terms` makes (its word pattern, the stop
    words, and ``ANALYZER_VERSION`` for any other change): the search index keeps the terms it
    was written with, so an index written before these changed is rebuilt."""
    import hashlib

    words = "\n".join(sorted(stopwords()))
    key = f"{ANALYZER_VERSION}\n{_WORD.pattern}\n{words}"
    return hashlib.sha1(key.encode()).hexdigest()[:16]


ANALYZER_VERSION = 1
"""Raised when :func:`terms` or :func:`fold` change in a way the stop words do not show."""


CHAT_WORDS = frozenset(
    ("hello", "hi", "hey", "bonjour", "salut", "ok", "okay", "yes", "no", "oui", "non",
     "thanks", "thank", "merci", "please", "svp", "help", "aide")
)  # fmt: skip
"""Greetings and chat words: a question of these alone asks about nothing in the releases."""


def searchable(text: str) -> bool:
    """Whether a question names anything to look for: a telling word or a number, not only
    question words, stop words, single letters, chat words or names every release holds
    ("a", "Who?", "what is it", "hello", "ISAF")."""
    return any(t not in CHAT_WORDS for t in terms(text))


def _bm25s_stopwords() -> Any:
    """bm25s's stop word lists, without importing bm25s itself (which imports scipy: a
    few hundred milliseconds of every fresh `qa-bot ask`). The module holds only tuples."""
    import importlib.util
    import sys

    if "bm25s.stopwords" in sys.modules:
        return sys.modules["bm25s.stopwords"]
    package = importlib.util.find_spec("bm25s")
    assert package is not None and package.origin is not None, "bm25s is not installed"
    path = Path(package.origin).parent / "stopwords.py"
    spec = importlib.util.spec_from_file_location("qa_bot._bm25s_stopwords", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def terms(text: str) -> list[str]:
    """Folded content words: the lexical index's tokens."""
    stop = stopwords()
    return [w for w in _WORD.findall(fold(text)) if w not in stop and (len(w) > 1 or w.isdigit())]


# ---------------------------------------------------------------------- months
MONTHS: dict[str, int] = {}
MONTHS_EN = calendar.month_name
MONTHS_FR = ["", "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
             "septembre", "octobre", "novembre", "décembre"]  # fmt: skip
for _i, (_en, _fr) in enumerate(zip(MONTHS_EN[1:], MONTHS_FR[1:], strict=True), start=1):
    for _name in (_en, _fr):
        MONTHS[fold(_name)] = _i
        MONTHS[fold(_name)[:3]] = _i
MONTHS.update({"sept": 9, "juil": 7, "janv": 1, "fevr": 2, "avr": 4})

_MONTH_ALT = "|".join(sorted({re.escape(m) for m in MONTHS}, key=len, reverse=True))
_DAY_MONTH_YEAR = re.compile(
    rf"\b(\d{{1,2}})(?:er|st|nd|rd|th)?\.?\s+({_MONTH_ALT})\.?,?\s+(\d{{4}})\b"
)
_MONTH_DAY_YEAR = re.compile(rf"\b({_MONTH_ALT})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b")
_YEAR = re.compile(r"\b(19[5-9]\d|20[0-4]\d)\b")
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def format_date(day: dt.date, language: str = "en") -> str:
    if language == "fr":
        return f"{'1er' if day.day == 1 else day.day} {MONTHS_FR[day.month]} {day.year}"
    return f"{day.day} {MONTHS_EN[day.month]} {day.year}"


def normalize_dates(text: str) -> str:
    """Written dates as ISO: '28 février 2024', '28 February 2024', 'Feb. 28, 2024' and
    '2024-02-28' all become '2024-02-28' (for comparing answers)."""
    folded = fold(text)

    def iso(year: str, month: int, day: str) -> str:
        try:
            return dt.date(int(year), month, int(day)).isoformat()
        except ValueError:
            return f"{year}-{month:02d}-{int(day):02d}"

    folded = _DAY_MONTH_YEAR.sub(lambda m: iso(m[3], MONTHS[m[2]], m[1]), folded)
    return _MONTH_DAY_YEAR.sub(lambda m: iso(m[3], MONTHS[m[1]], m[2]), folded)


# ---------------------------------------------------------------------- periods
Period = tuple[dt.date, dt.date]
"""An inclusive date range."""

_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})(?:er|st|nd|rd|th)?\.?\s+({_MONTH_ALT})\b\.?")
_MONTHS_YEAR = re.compile(
    rf"\b(?:({_MONTH_ALT})\.?(?:\s*[-–]\s*|\s+(?:and|et|or|ou|to|through|until|a|au)\s+))?"
    rf"({_MONTH_ALT})\.?\s+(?:de\s+|of\s+)?(\d{{4}})\b"
)
_MONTH_DAY = re.compile(rf"\b({_MONTH_ALT})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?!\d)")


def _day(year: int, month: int, day: int) -> Period | None:
    try:
        d = dt.date(year, month, day)
    except ValueError:
        return None
    return d, d


_RANGE = r"(?:-|–|to|through|thru|until|till|a|au|jusqu'?au|jusqu'?a)"
"""Words that join the two ends of a range ("from June to August", "du 5 au 7 octobre")."""
_JOINED = re.compile(rf"\s*(?:{_RANGE}|and|et)\s*(?:(?:the|le)\s+)?")
_BETWEEN = re.compile(r"\b(?:between|entre)\s+(?:the\s+|le\s+)?$")
_MONTH_DAYS = re.compile(
    rf"\b({_MONTH_ALT})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\s*(?:{_RANGE}|and)\s*(\d{{1,2}})"
    r"(?:st|nd|rd|th)?\b(?!\d)"
)
_DAYS_MONTH = re.compile(
    rf"\b(\d{{1,2}})(?:er|st|nd|rd|th)?\s*(?:{_RANGE}|and|et)\s*(?:le\s+|the\s+)?(\d{{1,2}})"
    rf"(?:er|st|nd|rd|th)?\.?\s+({_MONTH_ALT})\b\.?"
)
_LISTED = r"\d{1,2}(?:er|st|nd|rd|th)?(?:\s*,\s*\d{1,2}(?:st|nd|rd|th)?)+,?\s+(?:and|et)\s+\d{1,2}"
_DAY_LIST = re.compile(
    rf"\b(?:(?P<days>{_LISTED})(?:st|nd|rd|th)?\.?\s+(?P<month>{_MONTH_ALT})\b\.?|"
    rf"(?P<month2>{_MONTH_ALT})\.?\s+(?P<days2>{_LISTED})(?:st|nd|rd|th)?\b(?!\d))"
)
"""Three days or more of one month, listed: "on 5, 6 and 7 March", "March 5, 6 and 7"."""
_NOT_A_MONTH = re.compile(
    r"\b(?:may|sept)\b(?=\s+(?!(?:and|or|to|through|until|et|ou|au|a|in|at|on|of|de|en|du)\b)"
    r"[^\W\d_])"
)
"""'may' and 'sept' in lower case followed by a word that does not go with a month: the verb
('the 12 may return') and the French seven ('sept soldats'), not months."""
Span = tuple[int, int, Period, bool]
"""Where a date is written (start, end: with its own year), its period, and whether it
took its year from a date written after it."""


def _year_before(day: dt.date) -> dt.date:
    if day.year <= dt.MINYEAR:
        return day
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def _ranges(q: str, spans: list[Span]) -> list[Period]:
    """The periods of ``spans`` (in the order written), two joined as a range made one. A
    range goes forward: its first end, when it took its year from the second ("December 30
    to January 2, 2012"), is of the year before if it would fall after it."""
    found: list[tuple[int, Period, bool]] = []  # start, period, year taken from after it
    end = -1
    for a, b, period, borrowed in spans:
        if found:
            between = q[end:a]
            start_at, (lo, _), first_borrowed = found[-1]
            if _JOINED.fullmatch(between) and (
                between.strip() not in ("and", "et") or _BETWEEN.search(q[:start_at])
            ):
                if lo > period[0] and first_borrowed and lo.year == period[0].year:
                    lo = _year_before(lo)
                if lo <= period[0]:
                    found[-1] = (start_at, (lo, period[1]), first_borrowed)
                    end = b
                    continue
        found.append((a, period, borrowed))
        end = b
    return [p for _, p, _ in found]


def find_periods(question: str, *, newest: dt.date | None = None) -> tuple[Period, ...]:
    """Every period a question names, in the order written: days ("on July 31 and Aug. 8,
    2012": a day without its year takes the year written next, else the one before), or
    else months ("in March and April 2011"), or else years; else a relative period ("last
    year"). Two joined as a range ("from June to August 2010", "between 5 and 7 March",
    "Oct. 5-7, 2012", "du 5 au 7 octobre", "from 2010 to 2012") are one period, and a range
    goes forward: "between December 30 and January 2, 2012" starts in 2011."""
    q = fold(_NOT_A_MONTH.sub(lambda m: "_" * len(m[0]), question))
    years = [(m.start(), int(m[1])) for m in _YEAR.finditer(q)]

    def year_near(at: int, end: int) -> tuple[int, bool, int] | None:
        """The year a date written from ``at`` to ``end`` takes, whether it takes it from
        a date written after it (not its own, as in "Aug. 8, 2012"), and where the date
        ends with its own year."""
        after = [(pos, y) for pos, y in years if pos > at]
        before = [y for pos, y in years if pos < at]
        if after:
            pos, year = after[0]
            borrowed = bool(q[end:pos].strip(" ,."))
            return year, borrowed, end if borrowed else pos + 4
        return (before[-1], False, end) if before else None

    spans: list[Span] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return not any(x < b and a < y for x, y in taken)

    for m in _ISO.finditer(q):
        if got := _day(int(m[1]), int(m[2]), int(m[3])):
            spans.append((m.start(), m.end(), got, False))
    for m in _DAY_LIST.finditer(q):
        near = year_near(*m.span())
        if near is None:
            continue
        listed_in = MONTHS[m["month"] or m["month2"]]
        for day in re.findall(r"\d+", m["days"] or m["days2"]):
            if got := _day(near[0], listed_in, int(day)):
                spans.append((m.start(), near[2], got, near[1]))
        taken.append(m.span())
    for pattern, month_at, first_at, last_at in ((_MONTH_DAYS, 1, 2, 3), (_DAYS_MONTH, 3, 1, 2)):
        for m in pattern.finditer(q):
            if not free(*m.span()):
                continue
            near = year_near(*m.span())
            if near is None:
                continue
            since, until = (
                _day(near[0], MONTHS[m[month_at]], int(m[at])) for at in (first_at, last_at)
            )
            if since is None or until is None or since[0] > until[0]:
                continue
            connector = q[m.end(first_at) : m.start(last_at)].strip()
            if connector in ("and", "et") and not _BETWEEN.search(q[: m.start()]):
                # "on 5 and 7 March": the two days, not the days between
                spans += [(m.start(), near[2], day, near[1]) for day in (since, until)]
            else:
                spans.append((m.start(), near[2], (since[0], until[1]), near[1]))
            taken.append(m.span())
    for pattern, month_at, day_at in ((_DAY_MONTH, 2, 1), (_MONTH_DAY, 1, 2)):
        for m in pattern.finditer(q):
            near = year_near(*m.span())
            if not free(*m.span()) or near is None:
                continue
            if got := _day(near[0], MONTHS[m[month_at]], int(m[day_at])):
                spans.append((m.start(), near[2], got, near[1]))
                taken.append(m.span())
    for m in _MONTHS_YEAR.finditer(q):
        year = int(m[3])
        for group in (1, 2):
            name = m[group]
            # not the month of a day ("Aug. 8, 2012"), nor a year no date has ("May 0000")
            if name and year and free(m.start(group), m.end(group)):
                last = calendar.monthrange(year, MONTHS[name])[1]
                month = (dt.date(year, MONTHS[name], 1), dt.date(year, MONTHS[name], last))
                spans.append(
                    (m.start(group), m.end(group) if group == 1 else m.end(), month, group == 1)
                )
    if not spans:
        spans = [(pos, pos + 4, (dt.date(y, 1, 1), dt.date(y, 12, 31)), False) for pos, y in years]
    found = _ranges(q, sorted(spans))
    if found:
        return tuple(dict.fromkeys(found))
    if newest is not None:
        if re.search(r"\b(last year|l annee derniere|l'annee derniere)\b", q):
            return ((dt.date(newest.year - 1, 1, 1), dt.date(newest.year - 1, 12, 31)),)
        if re.search(r"\b(this year|cette annee)\b", q):
            return ((dt.date(newest.year, 1, 1), dt.date(newest.year, 12, 31)),)
        if re.search(r"\b(last month|le mois dernier)\b", q):
            first = newest.replace(day=1) - dt.timedelta(days=1)
            return ((first.replace(day=1), first),)
    return ()


# ---------------------------------------------------------------------- relative dates
WEEKDAYS = {fold(n): i for i, n in enumerate(calendar.day_name)}
WEEKDAYS.update(
    {"lundi": 0, "mardi": 1, "mercredi": 2, "jeudi": 3, "vendredi": 4, "samedi": 5, "dimanche": 6}
)
_WEEKDAYS = WEEKDAYS
_RELATIVE = re.compile(
    r"\b(yesterday|today|tonight|last night|this morning|hier|aujourd'hui|aujourd’hui|"
    r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|lundi|mardi|mercredi|jeudi|"
    r"vendredi|samedi|dimanche)(?:\s+(?:night|morning|afternoon|evening|soir|matin))?)\b"
    rf"|\b((?:{_MONTH_ALT})\.?\s+\d{{1,2}})\b(?!,?\s+\d{{4}})",
    re.IGNORECASE,
)


def resolve_relative_dates(sentence: str, released: dt.date | None, language: str = "en") -> str:
    """The sentence with relative dates made absolute from the release's date:
    'yesterday' -> 'on 1 December 2009', 'Monday night' -> 'Monday night (21 December 2009)',
    'Sept. 6' -> '6 September 2010'."""
    if released is None:
        return sentence

    def absolute(m: re.Match[str]) -> str:
        word = m.group(0)
        key = fold(word).replace("’", "'")
        if m.group(2):  # month and day without a year
            month_word, day = re.match(r"(\D+?)\.?\s+(\d+)", m.group(2)).groups()  # type: ignore[union-attr]
            month = MONTHS.get(fold(month_word).rstrip("."))
            if not month:
                return word
            try:
                day_date = dt.date(released.year, month, int(day))
            except ValueError:
                return word
            if day_date > released + dt.timedelta(days=7):
                day_date = day_date.replace(year=released.year - 1)
            return format_date(day_date, language)
        on = "le" if language == "fr" else "on"
        if key in ("yesterday", "hier", "last night"):
            day_date = released - dt.timedelta(days=1)
            return f"{on} {format_date(day_date, language)}" + (
                " (night)" if "night" in key else ""
            )
        if key in ("today", "tonight", "this morning", "aujourd'hui"):
            return f"{on} {format_date(released, language)}"
        weekday = _WEEKDAYS.get(key.split()[0])
        if weekday is None:
            return word
        back = (released.weekday() - weekday) % 7
        return f"{word} ({format_date(released - dt.timedelta(days=back), language)})"

    resolved = _RELATIVE.sub(absolute, sentence)
    if resolved[:1].islower() and sentence[:1].isupper():  # "Today, ..." -> "On 22 January ..."
        resolved = resolved[0].upper() + resolved[1:]
    return resolved
