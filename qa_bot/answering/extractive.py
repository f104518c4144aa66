"""The offline answerer: selects, orders and cites the sentences that answer.

No model: each sentence of the retrieved passages (and of the passages around
them in the best releases) is scored by its retrieval score, how many of the
question's words it holds (weighted by rarity; words match on a shared stem, so
"helicopters" meets "hélicoptères"), its embedding similarity to the question
(which carries English questions over French text and the reverse), and whether
it holds what the question's type asks for: a rank or role for *who*, a date
for *when*, a place for *where*, a number for *how many*, an enumeration for
*which topics*. Relative dates are resolved from the release's own date.

Before answering it checks the evidence: the selected sentences' passages (and
their release's titles, in every language) must hold the question's telling
words and its period. Otherwise it says the releases do not contain the answer
and lists the nearest releases.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..text import MONTHS, find_period, format_date, normalize_dates, resolve_relative_dates, terms
from ..types import Answer, Citation, Passage, Sentence, Turn
from .question import Question, analyse, is_follow_up, wants_language
from .words import WordMatcher

KIND_PATTERNS = {
    "who": re.compile(
        r"\b(Gen\.|General|Lt\.?|Lieutenant|Col\.|Colonel|Maj\.|Major|Brig\.|Adm\.|Admiral|"
        r"Capt\.|Sgt\.|Commander|spokesman|spokesperson|Secretary|Minister|President|"
        r"Chairman|Director|Governor|général|colonel|amiral|président|directeur|"
        r"ministre|porte-parole|secrétaire|gouverneur|said|a déclaré|a indiqué)\b"
        r"|\b(a|an|the|un|une|le|la)\s+(senior\s+)?[\w-]+\s+(leader|commander|facilitator|"
        r"dealer|financier|coordinator|chef|commandant)\b"
    ),
    "when": re.compile(
        r"\b(\d{4}-\d{2}-\d{2}|yesterday|today|tonight|last night|hier|aujourd|Monday|Tuesday|"
        r"Wednesday|Thursday|Friday|Saturday|Sunday|lundi|mardi|mercredi|jeudi|vendredi|"
        r"samedi|dimanche)\b"
    ),
    "where": re.compile(
        r"\b(province|district|village|city|town|region|ville|région|"
        r"based|near|originaire)\b"
    ),
    "count": re.compile(
        r"\b(\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
        r"dozen|several|multiple|more than|deux|trois|quatre|cinq|six|sept|huit|"
        r"neuf|dix|vingt|trente|quarante|cinquante)\b",
        re.IGNORECASE,
    ),
    "list": re.compile(
        r"\b(discussed|covered|addressed|topics|focused on|abordés|abordé|"
        r"porté sur|discutés|notamment|including)\b"
    ),
}
# words that say what kind of answer is wanted rather than what it is about
GENERIC_WORDS = (
    "topics topic subjects subject covered discussed issues themes sujets sujet abordés "
    "discutés thèmes else autre happened report reported information details français "
    "anglais english french say spoke speak parole"
)


@functools.cache
def generic() -> frozenset[str]:
    return frozenset(terms(GENERIC_WORDS))


ABSTAIN = {
    "en": "The releases do not contain an answer to this question. The nearest releases are:",
    "fr": "Les communiqués ne contiennent pas de réponse à cette question. Les plus proches sont :",
}
SAYS = re.compile(r"\b(say|said|says|dire|dit|déclaré|declare)\b", re.IGNORECASE)
RELATED = 0.65
"""Word-vector similarity from which a word the releases never use counts as found in the
evidence ("seabed" in "maritime", "awareness" in "connaissance"; "budget" finds nothing)."""
STEM = 5
"""Words match when they share this many first letters (a light, language-blind stemmer)."""


@dataclass(frozen=True)
class Thresholds:
    """Calibrated on eval/dev.jsonl (README, "Calibration")."""

    coverage: float = 0.6
    """Share of the question's telling words (IDF-weighted) the evidence must hold."""
    cross_lingual_coverage: float = 0.4
    """The same share when question and evidence are in different languages (words then
    match through shared stems and the release's titles in the question's language)..."""
    cross_lingual_similarity: float = 0.45
    """...or else the best sentence must be at least this similar to the question."""
    extra_sentence: float = 0.9
    """A further sentence is added when it scores at least this share of the best."""


class ExtractiveAnswerer:
    name = "extractive"

    def __init__(self, *, retriever: Any, thresholds: Thresholds | None = None) -> None:
        self.retriever = retriever
        self.thresholds = thresholds or Thresholds()
        self.words = WordMatcher(retriever.embedder)

    # ------------------------------------------------------------ public
    def answer(
        self, question: str, passages: Sequence[Passage], history: Sequence[Turn] = ()
    ) -> Answer:
        started = time.perf_counter()
        q = analyse(question)
        prefer_lang = wants_language(question)
        follow_up = bool(history) and is_follow_up(question)
        if prefer_lang and history and len(q.terms) <= 2:
            q = analyse(history[-1].question)  # "Et en français ?": the same question again
        period = find_period(q.text, newest=self.retriever.newest)
        if period is None and follow_up:
            period = find_period(history[-1].question, newest=self.retriever.newest)
        words = [t for t in q.terms if not (period and _is_date_word(t))]
        key = [t for t in words if t not in generic()]
        previous = {c.release_id for c in history[-1].answer.citations} if follow_up else set()

        cited = (
            {(c.release_id, c.start) for c in history[-1].answer.citations}
            if follow_up and not prefer_lang
            else set()
        )
        candidates = self._with_context(passages)
        # the question's vector and the candidates' stored vectors, fetched once
        q_vec = self.retriever.embedder.embed([q.text])[0]
        vectors = self.retriever.store.embeddings(
            [s.chunk_id for p in candidates for s in p.sentences]
        )
        ranked = self._rank(
            q, words, candidates, prefer_lang, period, previous, cited, q_vec, vectors
        )
        chosen = self._choose(q, ranked)
        if not chosen or not self._supported(q, key, chosen, period, previous, q_vec, vectors):
            return self._abstain(question, q, passages, started)

        citations: list[Citation] = []
        parts: list[str] = []
        for n, (_, s, p) in enumerate(chosen, start=1):
            parts.append(f"{resolve_relative_dates(s.text, p.date, s.language)} [{n}]")
            citations.append(
                Citation(
                    n=n,
                    release_id=p.release_id,
                    title=p.title,
                    date=p.date,
                    url=p.url,
                    quote=s.text,
                    start=s.start,
                    end=s.end,
                )
            )
        used = tuple(dict.fromkeys(p for _, _, p in chosen))
        return Answer(
            question=question,
            text=" ".join(parts),
            abstained=False,
            citations=tuple(citations),
            passages=used + tuple(p for p in passages if p not in used),
            generator=self.name,
            timings={"answer": (time.perf_counter() - started) * 1000},
        )

    # ------------------------------------------------------------ scoring
    def _found(self, weights: dict[str, float], words: list[str], cross: bool) -> float:
        """Summed weight of the question words among ``words``: exactly or by stem, and
        across languages by their translations."""
        if not cross:
            return _coverage(weights, words)
        present = set(words)
        stems = {w[:STEM] for w in present if len(w) >= STEM}
        matched = self.words.matched(list(weights), present)
        return sum(
            w for t, w in weights.items() if t in matched or (len(t) >= STEM and t[:STEM] in stems)
        )

    def _with_context(self, passages: Sequence[Passage]) -> list[Passage]:
        """The retrieved passages, then the other passages of the two best releases:
        the sentence that answers often sits beside the one that matched."""
        out = list(passages)
        have = {(p.release_id, p.start) for p in passages}
        for rid in list(dict.fromkeys(p.release_id for p in passages))[:3]:
            for sibling in self.retriever.release_passages(rid):
                if (rid, sibling.start) not in have and len(out) < len(passages) + 8:
                    out.append(sibling)
        return out

    def _titles(self, release_id: str) -> set[str]:
        release = self.retriever.releases.get(release_id)
        return {release.title, *release.titles.values()} if release else set()

    def _rank(
        self,
        q: Question,
        words: list[str],
        passages: Sequence[Passage],
        prefer_lang: str | None,
        period: tuple[dt.date, dt.date] | None,
        previous: set[str],
        cited: set[tuple[str, int]],
        q_vec: Sequence[float],
        vectors: dict[str, list[float]],
    ) -> list[tuple[float, Sentence, Passage]]:
        if not passages:
            return []
        idf = self.retriever.lexical.idf
        weights = {t: idf(t) for t in words}
        total = sum(weights.values()) or 1.0
        release_score: dict[str, float] = {}
        for p in passages:
            release_score[p.release_id] = max(release_score.get(p.release_id, 0.0), p.score)
        top_release = max(release_score.values()) or 1.0
        top_sentence = max((s.score for p in passages for s in p.sentences), default=0.0) or 1.0
        pattern = KIND_PATTERNS.get(q.kind)
        ranked = []
        for rank, p in enumerate(passages):
            titles = self._titles(p.release_id)
            context = terms(p.text) + [t for title in titles for t in terms(title)]
            passage_cov = self._found(weights, context, p.language != q.language) / total
            for s in p.sentences:
                overlap = self._found(weights, terms(s.text), s.language != q.language) / total
                sim = _cos(q_vec, vectors.get(s.chunk_id))
                retrieval = (
                    0.5 * release_score[p.release_id] / top_release + 0.5 * s.score / top_sentence
                )
                dated = normalize_dates(s.text)
                target = {"count": _DATE_LIKE.sub(" ", dated), "when": dated}.get(q.kind, s.text)
                kind = 1.0 if pattern and pattern.search(target) else 0.0
                if q.kind == "list":  # an enumeration, best with a verb that announces it;
                    # it answers "which topics" whatever words the question used
                    kind = 2 * (0.5 * kind + 0.5 * min(1.0, s.text.count(",") / 4))
                score = (
                    0.30 * retrieval
                    + 0.30 * overlap
                    + 0.40 * sim
                    + 0.30 * kind
                    + 0.30 * passage_cov
                )
                score -= 0.01 * min(rank, 10)
                if period and p.date and period[0] <= p.date <= period[1]:
                    score += 0.25
                if p.release_id in previous:
                    score += 0.1
                if (p.release_id, s.start) in cited:
                    score -= 0.4  # a follow-up asks for something new
                if prefer_lang and s.language == prefer_lang:
                    score += 0.3
                if s.text in titles or len(s.text) < 25:
                    score -= 0.3  # a title or a dateline names the subject; it rarely answers
                ranked.append((score, s, p))
        ranked.sort(key=lambda x: -x[0])
        return ranked

    def _choose(
        self, q: Question, ranked: list[tuple[float, Sentence, Passage]]
    ) -> list[tuple[float, Sentence, Passage]]:
        if not ranked:
            return []
        best = ranked[0][0]
        chosen = [ranked[0]]
        for score, s, p in ranked[1:8]:
            if len(chosen) >= 3 or score < self.thresholds.extra_sentence * best:
                break
            if any(_similar(s.text, c[1].text) for c in chosen):
                continue
            releases = {c[2].release_id for c in chosen}
            if q.kind != "list" and p.release_id in releases:
                continue  # one sentence per release unless the question asks for a list
            if p.release_id not in releases and score < 0.97 * best:
                continue  # another release only when it answers as well
            chosen.append((score, s, p))
        if SAYS.search(q.text):
            chosen = self._with_quote(chosen, ranked)
        return chosen

    def _with_quote(
        self,
        chosen: list[tuple[float, Sentence, Passage]],
        ranked: list[tuple[float, Sentence, Passage]],
    ) -> list[tuple[float, Sentence, Passage]]:
        """ "What did X say": the quoted words often stand in the sentence before the
        one that names the speaker ("...," said Gen. X): answer with both."""
        score, s, p = chosen[0]
        if s.text.lstrip().startswith(("“", '"', "«")):
            return chosen
        before = [x for x in p.sentences if x.end <= s.start]
        if before and before[-1].text.lstrip().startswith(("“", '"', "«")):
            return [(score, before[-1], p), *chosen[:1]]
        return chosen

    def _supported(
        self,
        q: Question,
        key: list[str],
        chosen: list[tuple[float, Sentence, Passage]],
        period: tuple[dt.date, dt.date] | None,
        previous: set[str],
        q_vec: Sequence[float],
        vectors: dict[str, list[float]],
    ) -> bool:
        if period and not any(p.date and period[0] <= p.date <= period[1] for _, _, p in chosen):
            return False
        if previous and any(p.release_id in previous for _, _, p in chosen):
            return True  # a follow-up about the release the conversation is on
        if not key:
            return True
        lexical = self.retriever.lexical
        weights = {t: lexical.idf(t) for t in key}
        evidence: list[str] = []
        for _, _, p in chosen:
            evidence += terms(p.text)
            for title in self._titles(p.release_id):
                evidence += terms(title)
        cross = any(s.language != q.language for _, s, _ in chosen)
        # a word the releases never use, in a language they are mostly written in, says what
        # the question is about: without it (or a word that means the same) in the
        # evidence, the releases do not answer ("the budget of ...")
        if lexical.share(q.language) >= 0.2:
            stems = {w[:STEM] for w in evidence if len(w) >= STEM}
            unseen = [
                t for t in key if lexical.df(t) == 0 and not t.isdigit() and t[:STEM] not in stems
            ]
            related = self.words.matched(unseen, evidence, threshold=RELATED)
            if unseen and len(related) < len(unseen) / 2:
                return False
        coverage = self._found(weights, evidence, cross) / (sum(weights.values()) or 1.0)
        if not cross:
            return coverage >= self.thresholds.coverage
        if coverage >= self.thresholds.cross_lingual_coverage:
            return True
        best = max(_cos(q_vec, vectors.get(s.chunk_id)) for _, s, _ in chosen)
        return best >= self.thresholds.cross_lingual_similarity

    def _abstain(
        self, question: str, q: Question, passages: Sequence[Passage], started: float
    ) -> Answer:
        return Answer(
            question=question,
            text=abstention_text(q.language, passages),
            abstained=True,
            citations=(),
            passages=tuple(passages),
            generator=self.name,
            timings={"answer": (time.perf_counter() - started) * 1000},
        )


def abstention_text(language: str, passages: Sequence[Passage]) -> str:
    """ "The releases do not say", then the nearest releases with their dates."""
    lines = [ABSTAIN.get(language, ABSTAIN["en"])]
    for rid in dict.fromkeys(p.release_id for p in passages):
        p = next(x for x in passages if x.release_id == rid)
        when = format_date(p.date, language) if p.date else "?"
        lines.append(f"- {p.title} ({when})")
    return "\n".join(lines)


_MONTH_WORDS = "|".join(sorted(MONTHS, key=len, reverse=True))
_DATE_LIKE = re.compile(
    rf"\d{{4}}-\d{{2}}-\d{{2}}|\b(?:{_MONTH_WORDS})\.?\s+\d{{1,2}}\b|\b\d{{1,2}}\s+(?:{_MONTH_WORDS})\b"
    r"|\b\d{4}\b|\b\d{4}-[A-Z]{1,2}-\d+",
    re.IGNORECASE,
)


def _coverage(weights: dict[str, float], words: Iterable[str]) -> float:
    """Summed weight of the question words found among ``words`` (exactly or by stem)."""
    present = set(words)
    stems = {w[:STEM] for w in present if len(w) >= STEM}
    return sum(
        w for t, w in weights.items() if t in present or (len(t) >= STEM and t[:STEM] in stems)
    )


def _is_date_word(term: str) -> bool:
    return term.isdigit() or term in MONTHS


def _cos(a: Sequence[float], b: Sequence[float] | None) -> float:
    if b is None:
        return 0.0
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0


def _similar(a: str, b: str) -> bool:
    ta, tb = set(terms(a)), set(terms(b))
    return bool(ta and tb) and len(ta & tb) / min(len(ta), len(tb)) > 0.8
