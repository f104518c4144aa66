"""The offline answerer: selects, orders and cites the sentences that answer.

No model: each sentence of the retrieved passages is scored by its retrieval
score, how many of the question's telling words it holds (weighted by rarity),
its embedding similarity to the question (which carries English questions over
French text and the reverse), and whether it holds what the question's type asks
for (a rank or name for *who*, a date for *when*, a place for *where*, a number
for *how many*, an enumeration for *which topics*). Relative dates are resolved
from the release's own date. When the evidence does not hold the question's
telling words (or its period), it says so and lists the nearest releases.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

from ..text import MONTHS, find_period, fold, format_date, resolve_relative_dates, terms
from ..types import Answer, Citation, Passage, Sentence, Turn
from .question import Question, analyse, wants_language

NAME = r"[A-ZÀ-Ý][\w’'-]+(?:\s+(?:[A-Z]\.\s*)?[A-ZÀ-Ý][\w’'-]+)*"
KIND_PATTERNS = {
    "who": re.compile(
        r"\b(Gen\.|General|Lt\.?|Lieutenant|Col\.|Colonel|Maj\.|Major|Brig\.|Adm\.|Admiral|"
        r"Capt\.|Sgt\.|Commander|commander|spokesman|spokesperson|Secretary|Minister|President|"
        r"Chairman|Director|Governor|governor|général|colonel|amiral|président|directeur|"
        r"ministre|porte-parole|secrétaire|gouverneur)\b"
    ),
    "when": re.compile(
        r"\b(\d{1,2}\s+\w+\.?\s+\d{4}|\w+\.?\s+\d{1,2},\s+\d{4}|yesterday|today|tonight|hier|"
        r"aujourd|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|lundi|mardi|mercredi|"
        r"jeudi|vendredi|samedi|dimanche|\d{4})\b"
    ),
    "where": re.compile(
        r"\b(province|district|village|city|town|region|provincia|ville|région|"
        r"in [A-Z][a-z]+)\b"
    ),
    "count": re.compile(
        r"\b(\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
        r"dozen|several|un|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|trente)\b",
        re.IGNORECASE,
    ),
    "list": re.compile(
        r"(,[^,]+){2,}|\b(discussed|covered|topics|addressed|abordé|abordés|"
        r"porté sur|discuté|notamment|including)\b"
    ),
}
# words that say what kind of answer is wanted, not what it is about
GENERIC = {
    fold(w)
    for w in (
        "topics",
        "topic",
        "subjects",
        "subject",
        "covered",
        "discussed",
        "issues",
        "themes",
        "sujets",
        "sujet",
        "abordés",
        "abordes",
        "discutés",
        "thèmes",
        "else",
        "autre",
        "happened",
        "report",
        "reported",
        "information",
        "details",
        "français",
        "francais",
        "english",
        "anglais",
    )
}

import os
DEBUG = bool(os.environ.get("QA_DEBUG"))
ABSTAIN = {
    "en": "The releases do not contain an answer to this question. The nearest releases are:",
    "fr": "Les communiqués ne contiennent pas de réponse à cette question. Les plus proches sont :",
}


@dataclass(frozen=True)
class Thresholds:
    """Calibrated on eval/dev.jsonl (README, "Calibration")."""

    coverage: float = 0.6
    """Share of the question's telling words (IDF-weighted) the evidence must hold."""
    cross_lingual_similarity: float = 0.35
    """Embedding similarity that stands in for word overlap across languages."""
    extra_sentence: float = 0.85
    """A further sentence is added when it scores at least this share of the best."""


class ExtractiveAnswerer:
    name = "extractive"

    def __init__(self, *, retriever, thresholds: Thresholds | None = None) -> None:  # type: ignore[no-untyped-def]
        self.retriever = retriever
        self.thresholds = thresholds or Thresholds()

    # ------------------------------------------------------------ public
    def answer(
        self, question: str, passages: Sequence[Passage], history: Sequence[Turn] = ()
    ) -> Answer:
        started = time.perf_counter()
        q = analyse(question)
        prefer_lang = wants_language(question)
        if prefer_lang and history and len(q.terms) <= 2:
            q = analyse(history[-1].question)  # "Et en français ?": the same question again
        period = find_period(q.text, newest=self.retriever.newest)
        key = [t for t in q.terms if t not in GENERIC and not (period and _is_date_word(t))]
        ranked = self._rank(q, key, self._with_context(passages), prefer_lang, period)
        chosen = self._choose(q, ranked)
        evidence = " ".join(p.text for _, _, p in chosen)
        if not chosen or not self._supported(q, key, chosen, evidence):
            return self._abstain(question, q, passages, started)

        citations: list[Citation] = []
        parts: list[str] = []
        for n, (_, s, p) in enumerate(chosen, start=1):
            shown = resolve_relative_dates(s.text, p.date, s.language)
            parts.append(f"{shown} [{n}]")
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
        rest = tuple(p for p in passages if p not in used)
        return Answer(
            question=question,
            text=" ".join(parts),
            abstained=False,
            citations=tuple(citations),
            passages=used + rest,
            generator=self.name,
            timings={"answer": (time.perf_counter() - started) * 1000},
        )

    # ------------------------------------------------------------ scoring
    def _with_context(self, passages: Sequence[Passage]) -> list[Passage]:
        """The retrieved passages, then the other passages of the two best releases:
        the sentence that answers often sits beside the one that matched."""
        out = list(passages)
        have = {(p.release_id, p.start) for p in passages}
        for rid in list(dict.fromkeys(p.release_id for p in passages))[:2]:
            for sibling in self.retriever.release_passages(rid):
                if (rid, sibling.start) not in have and len(out) < len(passages) + 8:
                    out.append(sibling)
        return out

    def _rank(
        self,
        q: Question,
        key: list[str],
        passages: Sequence[Passage],
        prefer_lang: str | None,
        period: tuple[dt.date, dt.date] | None = None,
    ) -> list[tuple[float, Sentence, Passage]]:
        if not passages:
            return []
        release_score: dict[str, float] = {}
        for p in passages:
            release_score[p.release_id] = max(release_score.get(p.release_id, 0.0), p.score)
        idf = self.retriever.lexical.idf
        weights = {t: idf(t) for t in key}
        total = sum(weights.values()) or 1.0
        q_vec = self.retriever.embedder.embed([q.text])[0]
        vectors = self.retriever.store.embeddings(
            [s.chunk_id for p in passages for s in p.sentences]
        )
        top_release = max(release_score.values()) or 1.0
        top_sentence = max((s.score for p in passages for s in p.sentences), default=0.0) or 1.0
        pattern = KIND_PATTERNS.get(q.kind)
        ranked = []
        for rank, p in enumerate(passages):
            for s in p.sentences:
                words = set(terms(s.text))
                overlap = sum(w for t, w in weights.items() if t in words) / total
                sim = _cos(q_vec, vectors.get(s.chunk_id))
                retrieval = (
                    0.5 * release_score[p.release_id] / top_release + 0.5 * s.score / top_sentence
                )
                bonus = 1.0 if pattern and pattern.search(s.text) else 0.0
                if q.kind == "who" and bonus == 0 and re.search(NAME + r"\s+" + NAME, s.text):
                    bonus = 0.5
                score = 0.30 * retrieval + 0.30 * overlap + 0.40 * sim + 0.25 * bonus
                score -= 0.01 * min(rank, 10)
                if period and p.date and period[0] <= p.date <= period[1]:
                    score += 0.1
                if prefer_lang and s.language == prefer_lang:
                    score += 0.3
                if len(s.text) < 25:
                    score -= 0.2  # a title fragment or a dateline says little
                if DEBUG:
                    print(f"{score:.3f} ret={retrieval:.2f} ov={overlap:.2f} sim={sim:.2f} "
                          f"b={bonus} {s.text[:70]}")
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
        for score, s, p in ranked[1:6]:
            if len(chosen) >= 3 or score < self.thresholds.extra_sentence * best:
                break
            if any(_similar(s.text, c[1].text) for c in chosen):
                continue
            if q.kind in ("who", "when", "where", "count") and p in {c[2] for c in chosen}:
                continue  # one precise fact per release for factual questions
            chosen.append((score, s, p))
        return chosen

    def _supported(
        self,
        q: Question,
        key: list[str],
        chosen: list[tuple[float, Sentence, Passage]],
        evidence: str,
    ) -> bool:
        period = find_period(q.text, newest=self.retriever.newest)
        if period and not any(p.date and period[0] <= p.date <= period[1] for _, _, p in chosen):
            return False
        if not key:
            return True
        idf = self.retriever.lexical.idf
        words = set(terms(evidence)) | set(terms(" ".join(p.title for _, _, p in chosen)))
        weights = {t: idf(t) for t in key}
        coverage = sum(w for t, w in weights.items() if t in words) / (sum(weights.values()) or 1)
        if coverage >= self.thresholds.coverage:
            return True
        cross = any(s.language != q.language for _, s, _ in chosen)
        if cross:
            q_vec = self.retriever.embedder.embed([q.text])[0]
            vectors = self.retriever.store.embeddings([s.chunk_id for _, s, _ in chosen])
            best = max(_cos(q_vec, vectors.get(s.chunk_id)) for _, s, _ in chosen)
            return best >= self.thresholds.cross_lingual_similarity
        return False

    def _abstain(
        self, question: str, q: Question, passages: Sequence[Passage], started: float
    ) -> Answer:
        lines = [ABSTAIN.get(q.language, ABSTAIN["en"])]
        seen: set[str] = set()
        for p in passages:
            if p.release_id in seen:
                continue
            seen.add(p.release_id)
            when = format_date(p.date, q.language) if p.date else "?"
            lines.append(f"- {p.title} ({when})")
        return Answer(
            question=question,
            text="\n".join(lines),
            abstained=True,
            citations=(),
            passages=tuple(passages),
            generator=self.name,
            timings={"answer": (time.perf_counter() - started) * 1000},
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
