"""What a question asks: its language, answer type, key terms and period."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..text import MONTHS, QUESTION_WORDS, WEEKDAYS, Period, find_periods, fold, terms
from ..types import Turn

# words that tell a question's language: its question words and common function words
# ("a" is French "has" and the English article: it tells neither)
_FR_WORDS = {*QUESTION_WORDS["fr"], "est", "le", "la", "les", "des", "du", "une", "au", "aux",
             "ont", "ete", "lors", "avec", "sur", "dans", "pour", "que", "et", "en",
             "francais"}  # fmt: skip
_EN_WORDS = {*QUESTION_WORDS["en"], "the", "of", "was", "were", "is", "are", "at", "with", "on",
             "in", "and", "english", "that"}  # fmt: skip

TYPES = (
    ("count", r"\b(how many|how much|combien)\b"),
    (
        "list",
        r"\b(which|what|quels?|quelles?)\s+(topics?|subjects?|issues?|themes?|sujets?|"
        r"th[eè]mes?|questions|points)\b|\b(what|qu.est-ce qui)\b.*\b(discussed|covered|"
        r"abord[ée]s?|discut[ée]s?)\b|\bwhat else\b|\bquoi d.autre\b",
    ),
    ("who", r"^\W*(and\s+|et\s+)?(who|whom|qui)\b|\b(by whom|par qui)\b"),
    (
        "when",
        r"^\W*(and\s+|et\s+)?(when|quand)\b|\b(what|which) (date|day|year)\b|"
        r"\bquel(le)? (date|jour|ann[ée]e)\b",
    ),
    (
        "where",
        r"^\W*(and\s+|et\s+)?(where|o[uù])\b|\bin (which|what) "
        r"(province|district|city|town|village|country)\b|"
        r"\bdans quel(le)? (province|district|ville|pays)\b",
    ),
)


# a further thing asked after the first ("When did ..., and how many were killed?"): the
# question word opens the question or follows "and" / a comma
_ALSO = (
    ("count", r"\b(how many|how much|combien)\b"),
    ("who", r"(^|\band\b|,|\bet\b)\W*(who|whom|by whom|qui)\b"),
    (
        "who",  # "which Taliban *leader*", "quel *responsable*"
        r"\b(which|what|quel|quelle|quels|quelles)\s+(\w+\s+){0,2}(leader|commander|official|"
        r"governor|spokesman|officer|general|chef|commandant|responsable|dirigeant)s?\b",
    ),
    ("when", r"(^|\band\b|,|\bet\b)\W*(when|quand|on what date|a quelle date)\b"),
    ("where", r"(^|\band\b|,)\W*(where|in which (?:village|district|province|city|town))\b"),
)


@dataclass(frozen=True)
class Question:
    text: str
    language: str
    kind: str
    """who | when | where | count | list | what"""
    terms: tuple[str, ...]
    kinds: tuple[str, ...] = ()
    """Every kind it asks for, ``kind`` first ("When ..., and how many ...": when, count)."""


def language_of(text: str) -> str:
    words = re.findall(r"[^\W\d_]+", fold(text))
    fr = sum(w in _FR_WORDS for w in words) + 2 * bool(re.search(r"[éèêàçùœ]", text.lower()))
    en = sum(w in _EN_WORDS for w in words)
    return "fr" if fr > en else "en"


def analyse(text: str) -> Question:
    folded = fold(text).replace("’", "'")
    kind = next((name for name, pattern in TYPES if re.search(pattern, folded)), "what")
    also = [name for name, pattern in _ALSO if name != kind and re.search(pattern, folded)]
    if "où" in text.lower() and kind != "where":  # folded, "où" (where) is "ou" (or)
        also.append("where")
    return Question(
        text=text,
        language=language_of(text),
        kind=kind,
        terms=tuple(terms(text)),
        kinds=(kind, *dict.fromkeys(also)),
    )


_BACK = (
    "he|she|him|her|his|they|them|it|that|this|those|these|il|elle|lui|eux|ce|cette|ces|celui|celle"
)
"""Words that point back at what was said ("What did *he* say?", "Qu'a-t-*il* dit ?")."""
FOLLOW_UP = re.compile(
    r"^\W*(and|et|also|aussi|what else|quoi d.autre|same|idem|what about|how about|"
    rf"qu.en est.il)\b|\b({_BACK})\b|"
    r"\b(en fran[cç]ais|in english|en anglais|in french)\b",
    re.IGNORECASE,
)


def wants_language(text: str) -> str | None:
    folded = fold(text)
    if re.search(r"\b(en francais|in french)\b", folded):
        return "fr"
    if re.search(r"\b(in english|en anglais)\b", folded):
        return "en"
    return None


_NAME_ASKED = re.compile(
    r"\b(what|which)(\s+(was|were|is|are)|'s)\s+(the\s+|his\s+|her\s+|their\s+|"
    r"the\s+(?:(?!the\b)[\w-]+\s+){0,2}[\w-]+'s\s+)((full|first|last)\s+){0,2}names?\b|"
    r"\bcomment\s+s.appel|"
    r"\bquel(le)?s?\s+(est|etait|sont|etaient)\s+(le|les|son|leurs?)\s+noms?\b"
)


def asks_name(text: str) -> bool:
    """A question that asks for a name ("What was the name of ...", "What was the governor's
    name?", "What's his name?", "Comment s'appelait ...", "Quel est le nom de ...")."""
    return bool(_NAME_ASKED.search(fold(text).replace("’", "'")))


_AFTER = re.compile(r"\b(after (him|her|them)|apres (lui|elle|eux|elles))\b")
_BEFORE = re.compile(r"\b(before (him|her|them)|avant (lui|elle|eux|elles))\b")


def asks_after(text: str) -> int:
    """A follow-up asking who came after (1) or before (-1) someone an earlier answer named
    ("And who spoke after him?", "Et qui a parlé avant elle ?"), else 0; not "next" or "then"
    alone ("Who is the next commander?")."""
    folded = fold(text).replace("’", "'")
    return 1 if _AFTER.search(folded) else -1 if _BEFORE.search(folded) else 0


_NAMED = re.compile(r"(?<!^)(?<![.!?]\s)\b[A-ZÀ-Ý][\w'’-]*")


def new_names(text: str, conversation: str) -> set[str]:
    """The names a question gives (capitalised words, not its first) that the conversation
    so far does not hold: "Capital of *France*?" after a turn on a Kandahar operation."""
    return names(text) - set(terms(conversation))


_NOT_NAMES = frozenset({*MONTHS, *WEEKDAYS, "english", "french", "anglais", "francais"})


def names(text: str) -> set[str]:
    """The words of the names a text gives (capitalised words, not its first): not months,
    days or languages, which ask of the same thing ("And on Tuesday?", "In French?")."""
    return {t for m in _NAMED.findall(text.strip()) for t in terms(m) if t not in _NOT_NAMES}


_POINTS_BACK = re.compile(rf"\b({_BACK}|hers|their|its|ils|elles|leur|leurs)\b")
_IMPERSONAL = re.compile(r"\b(qu.en est.il|s.est.il|y a.t.il|est.ce)\b")
"""French phrases whose "il" or "ce" points at nothing ("Qu'en est-il de Kandahar ?")."""


def switches_subject(text: str, conversation: str) -> bool:
    """A follow-up that asks the same of something else: it names what the conversation has
    not, and points back at nothing ("What about Kandahar?", "And in Musa Qal'ah?"). Its
    answer is in another release than the one the conversation was about."""
    folded = _IMPERSONAL.sub(" ", fold(text).replace("’", "'"))
    pointing = _POINTS_BACK.search(folded)  # "qu'a-t-il dit": he, the one just named
    return bool(new_names(text, conversation)) and not pointing and not wants_language(text)


def base_question(history: Sequence[Turn]) -> str:
    """The latest question of a conversation that was not itself a follow-up: what "What
    about Helmand?" asks again after "What about Kandahar?"."""
    for turn in reversed(history):
        if not is_follow_up(turn.question):
            return turn.question
    return history[0].question if history else ""


def is_follow_up(text: str, conversation: str | None = None) -> bool:
    """A question that leans on the conversation: it opens with "and", points back ("he",
    "it", "that") or asks for another language; or it is brief ("How many were detained?",
    "What was recovered?"), unless it names something the conversation (the text of its
    last turn, when given) has not: "Capital of France?" asks on its own."""
    if FOLLOW_UP.search(fold(text)):
        return True
    if len(terms(text)) > 2:
        return False
    return conversation is None or not new_names(text, conversation)


def conversation_text(history: Sequence[Turn]) -> str:
    """What the last turn said: its question, its answer and the titles of what it cited
    (not the passages it read and did not show: a name there is still new to the user)."""
    if not history:
        return ""
    last = history[-1]
    return "\n".join(
        [last.question, last.answer.text] + [f"{c.title}\n{c.quote}" for c in last.answer.citations]
    )


_ASKS = re.compile(
    r"\b(who|whom|what|when|where|which|why|how many|how much|qui|quoi|quand|ou|quels?|"
    r"quelles?|combien|pourquoi)\b"
)
_MANY = re.compile(r"\b(each|both|two|respectively|chacun|chacune|les deux|deux)\b")


def asks_several(text: str) -> bool:
    """A question that asks two things ("How many were killed, and what was destroyed?",
    "Where was each captured?"): its answer takes more than one sentence."""
    folded = fold(text).replace("’", "'")
    return len(_ASKS.findall(folded)) >= 2 or bool(_MANY.search(folded))


_WH = (
    r"who|whom|whose|what|when|where|which|why|how|qui|que|qu|quoi|quand|o[uù]|quel|quelle|"
    r"quels|quelles|combien|pourquoi|comment|lequel|laquelle"
)
_LEAD = r"(?:(?:in|at|on|from|to|by|for|with|dans|de|du|par|pour|avec|[àa])\s+)?"
_PART = re.compile(
    rf"(?:\s*[,;]\s*|\s+)(?:and|et|but|mais)\s+(?={_LEAD}(?:{_WH})\b)", re.IGNORECASE
)
_OPENING = re.compile(
    rf"^(?P<context>.*?,\s*)(?=(?:(?:west|east|north|south)\s+of\s+)?{_LEAD}(?:{_WH})\b)",
    re.IGNORECASE,
)
_ASKING = re.compile(
    rf"^\W*{_LEAD}(?:how many|how much|combien d.|combien de|combien|{_WH})\b'?\s*",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+(?=[A-ZÀ-Ý«\"])")
SHORT_PART = 1
"""A part of at most this many telling words ("and what was destroyed?") is asked about what the
first part is about: the first part's words (without its question word) follow it."""


@dataclass(frozen=True)
class Part:
    """One of the things a compound question asks."""

    text: str
    """The part as a question of its own, with the context it shares with the others."""
    own: str
    """The part alone (the period it names: "in June" of "... in June 2010 and ... in
    August 2010. What was found in June, and ...?")."""

    def periods(self, newest: dt.date | None) -> tuple[Period, ...]:
        """The periods the question with its context names, only those of the months the
        part names if it names any."""
        found = find_periods(self.text, newest=newest)
        months = {MONTHS[t] for t in terms(self.own) if t in MONTHS}
        return tuple(p for p in found if {p[0].month, p[1].month} & months) or found


def split_question(text: str) -> tuple[Part, ...]:
    """The questions a compound question asks, each with the context they share, or ()
    for a question that asks one thing.

    "Zurmat district, Paktiya: west of which village was a commander killed in December
    2009, and how many were detained at Ebrahim Khel in August 2010?" asks "Zurmat
    district, Paktiya: west of which village ... in December 2009?" and "Zurmat district,
    Paktiya: how many ... in August 2010?". The context is what comes before the question
    itself: earlier sentences, what stands before a colon, an opening phrase before its
    question word ("In Lashkar Gah district, which ..."). A short part ("and what was
    destroyed?") takes the first part's words too.
    """
    sentences = _SENTENCE_END.split(text.strip())
    ask = sentences[-1]
    context = " ".join(sentences[:-1])
    if ":" in ask:
        head, ask = ask.split(":", 1)
        context = f"{context} {head}:".strip()
        ask = ask.strip()
    parts = [p.strip(" ,;?") for p in _PART.split(ask) if p.strip(" ,;?")]
    if len(parts) < 2:
        return ()
    opening = _OPENING.match(parts[0])
    if opening:
        context = f"{context} {opening.group('context').strip()}".strip()
        parts[0] = parts[0][opening.end() :]
    out = []
    for i, part in enumerate(parts):
        if len(terms(part)) <= SHORT_PART:
            other = parts[1] if i == 0 else parts[0]
            part = f"{part} {_ASKING.sub('', other).strip(' ,;')}".strip()
        out.append(Part(f"{context} {part}?".strip(), f"{part}?"))
    return tuple(out)
