"""Every signal the extractive answerer scores with, computed in one place.

The answerer and the fit script (``eval/fit.py``) both call :func:`sentence_matrix` and
:func:`question_vector`, so what is fitted is exactly what answers. Adding a signal is one
entry in ``SENTENCE_FEATURES`` (or ``QUESTION_FEATURES``) and one line computing it.

A *candidate* is a sentence of a retrieved passage (or of a passage beside it in one of
the best releases). Its features describe how well it matches the question (dense
similarity, the question's words found in it and in its passage, across languages through
stems and word vectors), how retrieval ranked it, where it stands in its release, and
whether it holds the kind of thing the question asks for (a person for *who*, a date for
*when*, a place for *where*, a number for *how many*, an enumeration for *which topics*)
that the question does not already say.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..text import MONTHS, terms
from ..text import fold as _fold
from ..types import Passage, Sentence

KINDS = ("who", "when", "where", "count", "list", "what")

SENTENCE_FEATURES = (
    "dense",  # cosine similarity of the sentence to the question
    "dense_gap",  # how far below the best candidate's similarity
    "dense_language_gap",  # ...the best of its language (similarities run lower across languages)
    "overlap",  # IDF-weighted share of the question's words in the sentence
    "overlap_gap",
    "soft_overlap",  # the same through word vectors (translations, near synonyms)
    "proximity",  # two of the question's words side by side ("opened the meeting")
    "passage_overlap",  # the question's words in the sentence's passage and release titles
    "release_overlap",  # ...in the candidates of its release (the event is the one asked about)
    "release_dense",  # the best similarity among the candidates of its release
    "novel_overlap",  # question words it holds that its release's best match does not
    "focus",  # holds the word the question asks about ("which *village*", "quelle *quantité*")
    "fused",  # the sentence's fused retrieval score, relative to the best
    "passage_score",  # its passage's retrieval score, relative to the best
    "passage_rank",  # 1 / (1 + rank of the passage)
    "release_rank",  # 1 / (1 + rank of the release)
    "retrieved",  # the passage came from retrieval (not added as context)
    "lead",  # first sentence of the release (title line, dateline and lead)
    "position",  # position in the release, 0 at the start
    "short",  # a title or a dateline rather than a sentence
    "length",  # words / 40
    "period",  # the release is dated in the period the question names
    "same_language",
    "wanted_language",  # in the language the user asked for ("en français ?")
    "new_words",  # share of the sentence's words the question does not hold
    "previous_release",  # follow-up: a release the last answer cited
    "after_cited",  # follow-up: after a sentence the last answer cited (1 / how far after)
    "was_cited",  # follow-up: the sentence the last answer gave
    "enumeration",  # lists things (what was found, seized, discussed)
    "number",  # holds a number that is not a date
    "name",  # holds a name the question does not
    "date",  # holds a date or a day
    "place",  # holds a place ("in Kunar province")
    "quote",  # quotes someone or says who said it
    "person",  # names a person with a title or rank ("Brig. Gen. Josef Blotz")
    "rare_name",  # the rarest capitalised word it adds to the question (a person, a village)
    "name_asked",  # ...when the question asks for a name ("What was the name of ...")
    *(f"{kind}_fit" for kind in KINDS),  # holds what the question's kind asks for
    "other_fit",  # holds what a further thing asked asks for ("..., and how many?")
    *(f"{kind}_overlap" for kind in KINDS),  # overlap, per kind of question
    *(f"asks_{kind}" for kind in KINDS),  # the question's kind
)

ADD_FEATURES = (
    "probability",  # a further candidate's probability of answering
    "ratio",  # ...relative to the best one's
    "rank",  # its rank among the candidates (2 = the second best)
    "same_release",  # it is of the best candidate's release
    "same_passage",
    "several",  # the question asks more than one thing
    "novel",  # share of its words the best candidate does not have
    "adds_kind",  # kinds of things it holds that the best does not (number, name, date, place)
    "fits",  # it holds what the question's kind asks for
    "adds_asked",  # it holds a kind of thing the question asks for that the best does not
    "other_period",  # its release is dated in a period the question names and the best's is not
)
ADD_DEPTH = 6
"""Further sentences are looked for among this many best candidates (and the best of each
other release: :func:`qa_bot.answering.extractive.further`)."""

QUESTION_FEATURES = (
    "best",  # the best candidate's probability of answering
    "second",  # the next one's
    "best_dense",
    "best_overlap",
    "best_passage_overlap",
    "best_release_overlap",  # the question's words in the best candidate's release
    "best_fit",  # the best candidate holds what the question's kind asks for
    "best_other_fit",  # ...or what a further thing asked asks for
    "best_new",  # share of the best candidate's words the question does not hold (stems)
    "release_fit",  # ...or another candidate of its release does
    "focus_in_release",  # the word asked about is in the best candidate's release
    "has_focus",  # the question asks about a word ("which *village*")
    "release_rare_name",  # the rarest new capitalised word of the best candidate's release
    "asks_name",  # the question asks for a name ("What was the name of ...")
    "name_missing",  # ...and the best candidate's release holds no rare new name
    "unseen",  # share of the question's telling words found nowhere in the releases
    "all_unseen",  # ...all of them: the releases never use a word of it ("football", "cup")
    "unseen_unmatched",  # ...nor near any word of the best candidate's passage
    "period_named",  # the question names a period...
    "period_missed",  # ...and no candidate is dated in it
    "follow_up",
    "cross_lingual",  # the best candidate is in another language than the question
    *(f"is_{kind}" for kind in KINDS),
)


# ---------------------------------------------------------------------- what a sentence holds
_ROLE = re.compile(
    r"\b(gen|general|lt|lieutenant|col|colonel|maj|major|brig|adm|admiral|capt|captain|sgt|"
    r"commander|commandant|spokesman|spokesperson|secretary|minister|president|chairman|"
    r"director|governor|chief|mayor|general de|colonel|amiral|president|directeur|ministre|"
    r"porte parole|secretaire|gouverneur|chef)\b"
)
_NAME = re.compile(r"\b[A-Z][a-zà-ÿ'’-]+(?:\s+(?:[A-Z]\.\s*)?[A-Z][a-zà-ÿ'’-]+)+")
_PLACE = re.compile(
    r"\b(province|district|village|city|town|region|area|base|ville|region|pres de|near|in)\b"
)
_CAPITAL_AFTER_IN = re.compile(r"\b(?:in|near|of|dans|de|du|pres de|a)\s+[A-Z][a-zà-ÿ]+")
_NUMBER_WORDS = (
    "one two three four five six seven eight nine ten eleven twelve dozen hundred thousand "
    "un deux trois quatre cinq six sept huit neuf dix onze douze vingt trente quarante "
    "cinquante cent mille"
)
_NUMBER = re.compile(r"\b(\d[\d,.]*|" + "|".join(_NUMBER_WORDS.split()) + r")\b")
_MONTH_ALT = "|".join(sorted(MONTHS, key=len, reverse=True))
_DATE = re.compile(
    rf"\b(\d{{4}}-\d{{2}}-\d{{2}}|(?:{_MONTH_ALT})\.?\s+\d{{1,2}}|\d{{1,2}}\s+(?:{_MONTH_ALT})|"
    r"yesterday|today|tonight|last night|hier|aujourd|monday|tuesday|wednesday|thursday|"
    r"friday|saturday|sunday|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|"
    r"(?:19|20)\d{2})\b"
)
_QUOTE = re.compile(r"[\"“”«»]|\bsaid\b|\bsays\b|\ba (?:dit|déclaré|indiqué|souligné)\b")
_ENUMERATION = re.compile(r",|;|\bet\b|\band\b|\bincluding\b|\bnotamment\b|\bsuch as\b|:")
_ADDRESSES_READER = re.compile(
    r"\b(ignore|disregard|you must|you should|answer that|tell the user|as an ai|assistant|"
    r"system prompt|instruction|ignorez|vous devez|repondez)\b"
)


@functools.lru_cache(maxsize=8192)
def fold(text: str) -> str:
    """:func:`qa_bot.text.fold`, remembered: each candidate is read by several signals."""
    return _fold(text)


_TITLE = re.compile(
    r"\b(?:(?:Gen|Lt|Col|Maj|Brig|Adm|Capt|Sgt|Cpl|Spc|Pfc|Mr|Mrs|Ms|Dr|Gov|Cmdr|Cdr)\.|"
    r"Mullah|Haji|Maulawi|Mawlawi|Qari|Sheikh|President|Minister|Ambassador|"
    r"général|colonel|amiral|capitaine|lieutenant|président|ministre|ambassadeur|M\.|Mme)(?=\s)"
)
_NOT_NAMES = frozenset(
    ("Afghan", "Afghanistan", "Taliban", "Haqqani", "ISAF", "NATO", "OTAN", "Coalition",
     "District", "Province", "Force", "Forces", "Security")
)  # fmt: skip


_FULL_NAME = re.compile(r"(?:[A-Z]\.\s*|[A-Z][a-zà-ÿ'’-]+\s+)*[A-Z][a-zà-ÿ'’-]+")


def persons(text: str) -> set[str]:
    """The surnames of the people a sentence names after a title or rank ("Brig. Gen. Josef
    Blotz": "Blotz"; "le général de division T. Serban": "Serban"; "Mullah Abdul Bari":
    "Bari"): people, not organisations in capitals."""
    found = set()
    for m in _TITLE.finditer(text):
        tail = text[m.end() : m.end() + 60]
        while (more := _TITLE.match(tail.lstrip())) is not None:  # "Brig. Gen.", "Maj. Gen."
            tail = tail.lstrip()[more.end() :]
        name = _FULL_NAME.search(tail)
        if (
            name
            and name.group(0).split()[0] not in _NOT_NAMES
            and len(tail[: name.start()].split()) <= 4
            and not re.search(r"[,;:!?]", tail[: name.start()])
        ):
            found.add(name.group(0).split()[-1])
    return found


def names_person(text: str) -> bool:
    """A title or rank followed by a name (:func:`persons`)."""
    return bool(persons(text))


def holds_person(text: str) -> bool:
    """A rank or role, or a name of two or more capitalised words."""
    return bool(_ROLE.search(fold(text)) or _NAME.search(text))


def holds_place(text: str) -> bool:
    return bool(_PLACE.search(fold(text)) and _CAPITAL_AFTER_IN.search(text))


def holds_number(text: str) -> bool:
    return bool(_NUMBER.search(fold(_DATE.sub(" ", fold(text)))))


def holds_date(text: str) -> bool:
    return bool(_DATE.search(fold(text)))


def enumeration(text: str) -> float:
    """How much the sentence lists things: separators per 4, at most 1."""
    return min(1.0, len(_ENUMERATION.findall(fold(text))) / 4)


def addresses_reader(text: str) -> bool:
    """Words that speak to a reader or a system (planted instructions), not report facts."""
    return bool(_ADDRESSES_READER.search(fold(text)))


_FOCUS = re.compile(
    r"\b(?:which|what|whose|how many|how much|quel|quelle|quels|quelles|combien d|combien de|"
    r"in which|dans quel|dans quelle)\b\W+(.*)"
)


def focus_word(question: str) -> str | None:
    """The first telling word after the question word: "Which *village* ...", "Quelle
    *quantité* ...", "How many *kilograms* ..." (None when the question has none)."""
    m = _FOCUS.search(fold(question).replace("’", "'"))
    if not m:
        return None
    found = terms(m.group(1))
    return found[0] if found else None


_CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-zà-ÿ'’-]{2,})")


def rare_name(text: str, question_terms: set[str], rarity: Any) -> float:
    """How rare the rarest capitalised word (not the first of the sentence) that the question
    does not hold is, as its relative IDF over the releases (0 when there is none): names of
    people and villages are rare, "Afghan" or "Kandahar" are not."""
    if rarity is None:
        return 0.0
    words = {fold(w) for w in _CAPITALISED.findall(text.strip())} - question_terms
    return max((rarity(w) for w in words), default=0.0)


def _new(found: set[str], question: set[str]) -> bool:
    return bool(found - question)


def kind_fit(kind: str, text: str, question_text: str) -> float:
    """Whether the sentence holds what the question's kind asks for and the question does
    not already say (a name the question gives is not an answer to *who*)."""
    if kind == "who":
        names = {fold(m) for m in _NAME.findall(text)}
        return float(
            _new(names, {fold(m) for m in _NAME.findall(question_text)})
            or bool(_ROLE.search(fold(text)))
        )
    if kind == "when":
        dates = {m.group(0) for m in _DATE.finditer(fold(text))}
        return float(_new(dates, {m.group(0) for m in _DATE.finditer(fold(question_text))}))
    if kind == "where":
        return float(holds_place(text))
    if kind == "count":
        undated = _DATE.sub(" ", fold(text))
        numbers = {m.group(0) for m in _NUMBER.finditer(undated)}
        asked = {m.group(0) for m in _NUMBER.finditer(_DATE.sub(" ", fold(question_text)))}
        return float(_new(numbers, asked))
    if kind == "list":
        return enumeration(text)
    return 0.0


# ---------------------------------------------------------------------- the question
@dataclass(frozen=True)
class Query:
    """A question analysed and embedded once, with what the conversation adds."""

    text: str
    language: str
    kind: str
    words: tuple[str, ...]
    """Its words (folded terms, without the words of a period it names)."""
    weights: tuple[float, ...]
    """Each word's IDF in the releases."""
    unseen: tuple[str, ...]
    """Telling words that no release uses."""
    periods: tuple[tuple[dt.date, dt.date], ...]
    """The periods it names (:func:`qa_bot.text.find_periods`)."""
    vector: Any
    """Unit-length embedding (numpy)."""
    follow_up: bool = False
    previous: frozenset[str] = frozenset()
    """Releases the last answer cited (follow-ups)."""
    cited: frozenset[tuple[str, int]] = frozenset()
    """(release, sentence start) the last answer cited (follow-ups)."""
    cited_positions: frozenset[tuple[str, int]] = frozenset()
    """(release, sentence position) the last answer cited (follow-ups)."""
    asks_name: bool = False
    """It asks for a name (:func:`qa_bot.answering.question.asks_name`)."""
    wanted_language: str | None = None
    focus: str | None = None
    """The word the question asks about: "which *district*", "how many *kilograms*"."""
    several: bool = False
    """It asks more than one thing (its answer takes more than one sentence)."""
    kinds: tuple[str, ...] = ()
    """Every kind it asks for, ``kind`` first."""
    after: tuple[str, int, frozenset[str], int] | None = None
    """A follow-up asking who came after (or before) someone the conversation cited ("And
    who spoke after him?"): (release, position of that sentence, the surnames it names, 1
    for after or -1 for before)."""


@dataclass(frozen=True)
class Candidate:
    sentence: Sentence
    passage: Passage
    passage_rank: int
    release_rank: int
    retrieved: bool
    position: int
    """The sentence's position in its release (0: the title line)."""
    vector: Any = None
    titles: tuple[str, ...] = field(default=())


def position_of(chunk_id: str) -> int:
    """A chunk id ends with its position in the release (``release:version:position``)."""
    tail = chunk_id.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0


@functools.lru_cache(maxsize=4096)
def _terms(text: str) -> tuple[str, ...]:
    return tuple(terms(text))


@functools.lru_cache(maxsize=2)
def _stemmer(language: str) -> Any:
    import Stemmer

    return Stemmer.Stemmer({"fr": "french"}.get(language, "english"))


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A word's stem in either language (English first, then French on what is left), so
    "killed"/"kill" and "partenaires"/"partenaire" meet."""
    return str(_stemmer("fr").stemWord(_stemmer("en").stemWord(word)))


def _matched(words: Sequence[str], present: Sequence[str]) -> list[bool]:
    """Which question words the text holds: exactly, by stem, or by a shared first five
    letters (cognates across languages: "helicopters"/"helicopteres")."""
    have = set(present)
    stems = {stem(w) for w in have}
    prefixes = {w[:5] for w in have if len(w) >= 5}
    return [w in have or stem(w) in stems or (len(w) >= 5 and w[:5] in prefixes) for w in words]


def proximity(query: Query, present: Sequence[str], align: Any = None) -> float:
    """How close together two of the question's words stand in the sentence: the best pair's
    IDF weights (times, across languages, their word-vector similarities) over their
    distance in words, relative to the two heaviest words side by side (0 to 1)."""
    words, weights = query.words, query.weights
    if len(words) < 2 or not present:
        return 0.0
    if align is not None:
        positions, similarities = align(list(words), list(present))
        found = [[(p, max(0.0, float(s)))] for p, s in zip(positions, similarities, strict=True)]
    else:
        stems = [stem(t) for t in present]
        found = [
            [
                (k, 1.0)
                for k, t in enumerate(present)
                if t == w or stems[k] == stem(w) or (len(w) >= 5 and t[:5] == w[:5])
            ]
            for w in words
        ]
    best = 0.0
    for i in range(len(words)):
        for j in range(i + 1, len(words)):
            for pi, si in found[i]:
                for pj, sj in found[j]:
                    if pi != pj:
                        best = max(best, weights[i] * weights[j] * si * sj / abs(pi - pj))
    first, second = sorted(weights, reverse=True)[:2]
    return best / (first * second) if first * second else 0.0


def overlap(query: Query, present: Sequence[str]) -> float:
    total = sum(query.weights) or 1.0
    hits = _matched(query.words, present)
    return sum(w for w, hit in zip(query.weights, hits, strict=True) if hit) / total


# ---------------------------------------------------------------------- the matrices
def sentence_matrix(
    query: Query,
    candidates: Sequence[Candidate],
    soft: Any = None,
    near: Any = None,
    rarity: Any = None,
    align: Any = None,
) -> Any:
    """One row of ``SENTENCE_FEATURES`` per candidate (numpy, float64).

    ``align(words, terms) -> (positions, similarities)`` gives, for each of the question's
    words, where the nearest word of a sentence in another language stands (word vectors).

    ``soft(query, sentence_terms) -> float`` gives the IDF-weighted share of the question's
    words that have a near word in the sentence (word vectors); ``near(word, terms) ->
    float`` the similarity of a word to the nearest of ``terms``; ``rarity(term) -> float``
    how rare a word is in the releases. Without them, exact matches only."""
    import numpy as np

    n = len(candidates)
    x = np.zeros((n, len(SENTENCE_FEATURES)))
    if not n:
        return x
    col = {name: i for i, name in enumerate(SENTENCE_FEATURES)}
    vectors = np.array(
        [c.vector if c.vector is not None else np.zeros_like(query.vector) for c in candidates]
    )
    norms = np.linalg.norm(vectors, axis=1)
    norms[norms == 0] = 1.0
    dense = vectors @ query.vector / norms
    top_fused = max((c.sentence.score for c in candidates), default=0.0) or 1.0
    top_passage = max((c.passage.score for c in candidates), default=0.0) or 1.0
    passage_overlap: dict[tuple[str, int], float] = {}
    q_terms = set(_terms(query.text))
    for i, c in enumerate(candidates):
        s, p = c.sentence, c.passage
        s_terms = _terms(s.text)
        key = (p.release_id, p.start)
        if key not in passage_overlap:
            context = list(_terms(p.text)) + [t for title in c.titles for t in _terms(title)]
            passage_overlap[key] = _overlap(query, context, p.language, soft)
        row = x[i]
        row[col["dense"]] = dense[i]
        row[col["overlap"]] = overlap(query, s_terms)
        if soft is not None and s.language != query.language:
            # across languages words are found through their translations: the overlap a
            # sentence in the question's language would have
            row[col["soft_overlap"]] = soft(query, s_terms)
            row[col["overlap"]] = max(row[col["overlap"]], row[col["soft_overlap"]])
        else:
            row[col["soft_overlap"]] = row[col["overlap"]]
        row[col["proximity"]] = proximity(
            query, s_terms, align if s.language != query.language else None
        )
        row[col["passage_overlap"]] = passage_overlap[key]
        row[col["fused"]] = s.score / top_fused
        row[col["passage_score"]] = p.score / top_passage
        row[col["passage_rank"]] = 1 / (1 + c.passage_rank)
        row[col["release_rank"]] = 1 / (1 + c.release_rank)
        row[col["retrieved"]] = float(c.retrieved)
        row[col["lead"]] = float(c.position <= 1)
        row[col["position"]] = min(c.position, 20) / 20
        row[col["short"]] = float(len(s.text) < 25 or s.text in c.titles)
        row[col["length"]] = min(len(s.text.split()), 80) / 40
        row[col["period"]] = float(
            bool(p.date and any(lo <= p.date <= hi for lo, hi in query.periods))
        )
        row[col["same_language"]] = float(s.language == query.language)
        row[col["wanted_language"]] = float(query.wanted_language == s.language)
        row[col["new_words"]] = (
            sum(t not in q_terms for t in s_terms) / len(s_terms) if s_terms else 0.0
        )
        row[col["previous_release"]] = float(p.release_id in query.previous)
        row[col["after_cited"]] = max(
            (
                1 / (c.position - at)
                for rid, at in query.cited_positions
                if rid == p.release_id and c.position > at
            ),
            default=0.0,
        )
        row[col["was_cited"]] = float((p.release_id, s.start) in query.cited)
        row[col["enumeration"]] = enumeration(s.text)
        row[col["number"]] = float(holds_number(s.text))
        row[col["name"]] = kind_fit("who", s.text, query.text)
        row[col["date"]] = float(holds_date(s.text))
        row[col["place"]] = float(holds_place(s.text))
        row[col["quote"]] = float(bool(_QUOTE.search(s.text)))
        row[col["person"]] = float(names_person(s.text))
        row[col["rare_name"]] = rare_name(s.text, q_terms, rarity)
        row[col["name_asked"]] = row[col["rare_name"]] * query.asks_name
        row[col[f"asks_{query.kind}"]] = 1.0
        row[col[f"{query.kind}_fit"]] = kind_fit(query.kind, s.text, query.text)
        row[col[f"{query.kind}_overlap"]] = row[col["overlap"]]
        row[col["other_fit"]] = max(
            (kind_fit(k, s.text, query.text) for k in query.kinds[1:]), default=0.0
        )
    _release_features(query, candidates, x, col, near, soft)
    x[:, col["dense_gap"]] = x[:, col["dense"]] - x[:, col["dense"]].max()
    languages = np.array([c.sentence.language for c in candidates])
    for language in set(languages):
        same = languages == language
        x[same, col["dense_language_gap"]] = x[same, col["dense"]] - x[same, col["dense"]].max()
    x[:, col["overlap_gap"]] = x[:, col["overlap"]] - x[:, col["overlap"]].max()
    return x


def _overlap(query: Query, present: Sequence[str], language: str, soft: Any) -> float:
    """:func:`overlap`, and in another language than the question's, through translations
    (word vectors) when they find more."""
    exact = overlap(query, present)
    if soft is None or language == query.language:
        return exact
    return max(exact, soft(query, present))


def _release_features(
    query: Query,
    candidates: Sequence[Candidate],
    x: Any,
    col: dict[str, int],
    near: Any,
    soft: Any = None,
) -> None:
    """What a sentence's release holds: the question's event may be told in the lead while
    the asked fact sits in a later sentence."""
    by_release: dict[str, list[int]] = {}
    for i, c in enumerate(candidates):
        by_release.setdefault(c.passage.release_id, []).append(i)
    for members in by_release.values():
        words = [t for i in members for t in _terms(candidates[i].sentence.text)]
        words += [t for title in candidates[members[0]].titles for t in _terms(title)]
        release_overlap = _overlap(query, words, candidates[members[0]].passage.language, soft)
        best = max(members, key=lambda i: (x[i, col["dense"]] + x[i, col["overlap"]], -i))
        best_hits = _matched(query.words, _terms(candidates[best].sentence.text))
        total = sum(query.weights) or 1.0
        for i in members:
            x[i, col["release_overlap"]] = release_overlap
            x[i, col["release_dense"]] = x[members, col["dense"]].max()
            hits = _matched(query.words, _terms(candidates[i].sentence.text))
            x[i, col["novel_overlap"]] = (
                sum(
                    w for w, h, b in zip(query.weights, hits, best_hits, strict=True) if h and not b
                )
                / total
            )
    if query.focus:
        for i, c in enumerate(candidates):
            present = _terms(c.sentence.text)
            if _matched([query.focus], present)[0]:
                x[i, col["focus"]] = 1.0
            elif near is not None and c.sentence.language != query.language:
                x[i, col["focus"]] = max(0.0, near(query.focus, present))


def question_vector(
    query: Query,
    candidates: Sequence[Candidate],
    x: Any,
    probabilities: Any,
    unseen_unmatched: float,
) -> Any:
    """``QUESTION_FEATURES`` for the refuse/answer decision (numpy, float64)."""
    import numpy as np

    col = {name: i for i, name in enumerate(SENTENCE_FEATURES)}
    v = np.zeros(len(QUESTION_FEATURES))
    q = {name: i for i, name in enumerate(QUESTION_FEATURES)}
    if len(candidates):
        order = np.argsort(-probabilities, kind="stable")
        best = int(order[0])
        v[q["best"]] = probabilities[best]
        v[q["second"]] = probabilities[int(order[1])] if len(order) > 1 else 0.0
        v[q["best_dense"]] = x[:, col["dense"]].max()
        v[q["best_overlap"]] = x[:, col["overlap"]].max()
        v[q["best_passage_overlap"]] = x[:, col["passage_overlap"]].max()
        v[q["cross_lingual"]] = float(candidates[best].sentence.language != query.language)
        v[q["best_release_overlap"]] = x[best, col["release_overlap"]]
        fit = x[:, col[f"{query.kind}_fit"]]
        same = [
            i
            for i, c in enumerate(candidates)
            if c.passage.release_id == candidates[best].passage.release_id
        ]
        v[q["best_fit"]] = fit[best]
        v[q["best_other_fit"]] = x[best, col["other_fit"]]
        best_terms = _terms(candidates[best].sentence.text)
        if best_terms:
            held = _matched(best_terms, list(_terms(query.text)))
            v[q["best_new"]] = sum(not h for h in held) / len(best_terms)
        v[q["release_fit"]] = fit[same].max()
        v[q["focus_in_release"]] = x[same, col["focus"]].max()
        v[q["release_rare_name"]] = x[same, col["rare_name"]].max()
        v[q["name_missing"]] = query.asks_name * (1.0 - v[q["release_rare_name"]])
        v[q["period_missed"]] = float(bool(query.periods) and not x[:, col["period"]].any())
    total = sum(query.weights) or 1.0
    unseen = set(query.unseen)
    v[q["unseen"]] = (
        sum(w for t, w in zip(query.words, query.weights, strict=True) if t in unseen) / total
    )
    telling = {t for t in query.words if not t.isdigit()}
    v[q["all_unseen"]] = float(bool(telling) and telling <= unseen)
    v[q["unseen_unmatched"]] = unseen_unmatched
    v[q["period_named"]] = float(bool(query.periods))
    v[q["follow_up"]] = float(query.follow_up)
    v[q["has_focus"]] = float(query.focus is not None)
    v[q["asks_name"]] = float(query.asks_name)
    v[q[f"is_{query.kind}"]] = 1.0
    return v


def add_vector(
    query: Query, candidates: Sequence[Candidate], x: Any, probabilities: Any, first: int,
    other: int, rank: int,
) -> Any:  # fmt: skip
    """``ADD_FEATURES``: would candidate ``other`` add to an answer that starts with ``first``?"""
    import numpy as np

    col = {name: i for i, name in enumerate(SENTENCE_FEATURES)}
    a, b = candidates[first], candidates[other]
    kinds = ("number", "name", "date", "place")
    first_terms = set(_terms(a.sentence.text))
    other_terms = _terms(b.sentence.text)
    return np.array(
        [
            probabilities[other],
            probabilities[other] / (probabilities[first] or 1.0),
            rank,
            float(a.passage.release_id == b.passage.release_id),
            float(
                a.passage.release_id == b.passage.release_id and a.passage.start == b.passage.start
            ),
            float(query.several),
            sum(t not in first_terms for t in other_terms) / len(other_terms)
            if other_terms
            else 0.0,
            sum(max(0.0, x[other, col[k]] - x[first, col[k]]) for k in kinds),
            x[other, col[f"{query.kind}_fit"]],
            max(
                (
                    kind_fit(k, b.sentence.text, query.text)
                    - kind_fit(k, a.sentence.text, query.text)
                    for k in query.kinds or (query.kind,)
                ),
                default=0.0,
            ),
            float(bool(_named_in(query, b.passage.date) - _named_in(query, a.passage.date))),
        ]
    )


def _named_in(query: Query, date: dt.date | None) -> set[int]:
    """Which of the periods the question names hold ``date``."""
    return {i for i, (lo, hi) in enumerate(query.periods) if date and lo <= date <= hi}
