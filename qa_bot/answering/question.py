"""What a question asks: its language, answer type, key terms and period."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..text import QUESTION_WORDS, fold, terms

# words that tell a question's language: its question words and common function words
_FR_WORDS = {*QUESTION_WORDS["fr"], "est", "le", "la", "les", "des", "du", "une", "au", "aux",
             "ont", "ete", "a", "lors", "avec", "sur", "dans", "pour", "que", "et", "en",
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


FOLLOW_UP = re.compile(
    r"^\W*(and|et|also|aussi|what else|quoi d.autre|same|idem)\b|\b(he|she|him|her|his|they|"
    r"them|it|that|this|those|these|il|elle|lui|eux|ce|cette|ces|celui|celle)\b|"
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
    r"\b(what|which)\s+(was|were|is|are)\s+(the\s+|his\s+|her\s+|their\s+)"
    r"((full|first|last)\s+){0,2}names?\b|\bcomment\s+s.appel|"
    r"\bquel(le)?s?\s+(est|etait|sont|etaient)\s+(le|les|son|leurs?)\s+noms?\b"
)


def asks_name(text: str) -> bool:
    """A question that asks for a name ("What was the name of ...", "Comment s'appelait
    ...", "Quel est le nom de ...")."""
    return bool(_NAME_ASKED.search(fold(text).replace("’", "'")))


def is_follow_up(text: str) -> bool:
    return bool(FOLLOW_UP.search(fold(text))) or len(terms(text)) <= 2


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
