"""Whether a release sentence backs a sentence of a model's answer.

A claim (one sentence the model wrote) is compared with each candidate release sentence:
the sentences of the passages it cites, or, when it cites none, of every passage the model
was given. The features of a (claim, sentence) pair are computed here and only here, so
``eval/fit_support.py`` fits exactly what the check sees:

- ``similarity``: cosine of the two sentences in the multilingual embedder (an English claim
  over a French sentence stays close; word overlap alone would not);
- ``overlap``: share of the claim's words found in the sentence (by stem);
- ``word_match`` / ``names_match``: how close, on average, each of the claim's words / names
  comes to a word of the sentence in the embedder's word vectors (1 for the same word;
  "opened" and "ouvert" are close: this is word overlap across languages);
- ``numbers_missing``: share of the claim's numbers that the sentence (or its release's date)
  does not hold (an invented number or name is the commonest unsupported claim; names are
  matched by ``names_match``, since titles and acronyms are translated: NATO is OTAN);
- ``passage_overlap``: ``overlap`` against the whole passage with its release's title (a
  claim may take its subject from the sentence before);
- ``cross_language``: 1 when the claim and the sentence are in different languages (words
  then rarely match, and the similarity has to carry the decision).

A logistic model over them, and the probability from which a claim counts as supported,
are read from ``support.json`` beside the package, written by ``eval/fit_support.py`` from
labelled pairs; no weight or threshold is typed here.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from ..embedders import Embedder
from ..text import MONTHS, fold, resolve_relative_dates, stopwords, terms
from ..types import Passage, Sentence
from ..words import WordMatcher
from .question import language_of

FEATURES = (
    "similarity",
    "overlap",
    "word_match",
    "names_match",
    "numbers_missing",
    "passage_overlap",
    "cross_language",
)
EMBEDDER = "use-multilingual"
"""The embedder the check is fitted with (shipped in the package; used whatever the store uses)."""

STEM = 5
_NAME = re.compile(r"\b[A-ZÀ-ÖØ-Þ][\w’'-]*[\w]|\b[A-ZÀ-ÖØ-Þ]\b")
_NUMBER = re.compile(r"\d+(?:[.,\s]\d{3})*(?:[.,]\d+)?")
_WORD = re.compile(r"[^\W_]+")
_DAYS = {
    fold(d)
    for d in (
        "Monday Tuesday Wednesday Thursday Friday Saturday Sunday "
        "lundi mardi mercredi jeudi vendredi samedi dimanche"
    ).split()
}


@functools.cache
def _not_names() -> frozenset[str]:
    months = {fold(m) for m in MONTHS if m}
    return frozenset(stopwords() | months | _DAYS)


def names(text: str) -> list[str]:
    """Capitalised words other than the first word, stop words, months and weekdays."""
    found = []
    for m in _NAME.finditer(text):
        if m.start() == len(text) - len(text.lstrip()):
            continue  # the sentence's first word is capitalised anyway
        word = fold(m.group())
        if word not in _not_names() and len(word) > 1:
            found.append(word)
    return list(dict.fromkeys(found))


def numbers(text: str) -> list[str]:
    return list(dict.fromkeys(re.sub(r"[\s,]", "", n) for n in _NUMBER.findall(text)))


def _numbers_missing(claim: str, text: str) -> float:
    wanted = numbers(claim)
    if not wanted:
        return 0.0
    have = set(numbers(text))
    return sum(1 for n in wanted if n not in have) / len(wanted)


def overlap(claim: str, sentence: str) -> float:
    """Share of the claim's words in the sentence, matched on a shared stem."""
    c = set(terms(claim))
    if not c:
        return 0.0
    s = {w[:STEM] for w in terms(sentence)}
    return sum(1 for w in c if w[:STEM] in s) / len(c)


def evidence_text(sentence: Sentence, passage: Passage) -> str:
    """A release sentence as a claim may restate it: relative dates made absolute."""
    return resolve_relative_dates(sentence.text, passage.date, sentence.language)


def passage_context(passage: Passage) -> str:
    """What the whole passage offers a claim: its text, its release's title and date."""
    when = passage.date.isoformat() if passage.date else ""
    return f"{passage.title}\n{when}\n{passage.text}"


def _mean(xs: Sequence[float], empty: float) -> float:
    return sum(xs) / len(xs) if xs else empty


def pair_features(
    claim: str,
    evidence: str,
    context: str,
    similarity: float,
    evidence_language: str,
    words: WordMatcher,
) -> list[float]:
    """The features of (claim, release sentence), in ``FEATURES`` order; ``context`` is
    :func:`passage_context` of the sentence's passage, ``words`` the embedder's word vectors."""
    claim_names = names(claim)
    evidence_terms = terms(evidence)
    return [
        similarity,
        overlap(claim, evidence),
        _mean(words.nearest(list(dict.fromkeys(terms(claim))), evidence_terms), 0.0),
        _mean(words.nearest(claim_names, [fold(w) for w in _WORD.findall(evidence)]), 1.0),
        _numbers_missing(claim, evidence + "\n" + context.split("\n", 2)[1]),
        overlap(claim, context),
        float(language_of(claim) != evidence_language[:2]),
    ]


def cosine(a: Any, b: Any) -> Any:
    import numpy as np

    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    na = np.linalg.norm(a, axis=-1, keepdims=True)
    nb = np.linalg.norm(b, axis=-1, keepdims=True)
    return (a / np.where(na == 0, 1, na)) @ (b / np.where(nb == 0, 1, nb)).T


@dataclass(frozen=True)
class SupportParams:
    coef: tuple[float, ...]
    intercept: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    threshold: float

    def probability(self, x: Any) -> Any:
        import numpy as np

        z = (np.asarray(x, dtype=float) - np.array(self.mean)) / np.array(self.scale)
        return 1 / (1 + np.exp(-(z @ np.array(self.coef) + self.intercept)))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SupportParams:
        if tuple(data["features"]) != FEATURES:
            raise ValueError(
                "support.json was fitted on other features: run `python eval/fit_support.py`"
            )
        return cls(
            coef=tuple(float(c) for c in data["coef"]),
            intercept=float(data["intercept"]),
            mean=tuple(float(m) for m in data["mean"]),
            scale=tuple(float(s) for s in data["scale"]),
            threshold=float(data["threshold"]),
        )


@functools.cache
def load() -> SupportParams:
    """The parameters shipped with the package (``qa_bot/support.json``)."""
    text = resources.files("qa_bot").joinpath("support.json").read_text(encoding="utf-8")
    return SupportParams.from_json(json.loads(text))


@dataclass(frozen=True)
class Evidence:
    """The best release sentence for a claim among those checked."""

    passage: int
    """Index of the passage (0-based, in the order given to the model)."""
    sentence: Sentence
    probability: float
    supported: bool


class SupportChecker:
    """Scores claims against the sentences of the passages a model was given."""

    def __init__(self, embedder: Embedder, params: SupportParams | None = None) -> None:
        self.embedder = embedder
        self.params = params or load()
        self.words = WordMatcher(lambda texts: embedder.embed(texts))

    def session(self, passages: Sequence[Passage]) -> SupportSession:
        return SupportSession(self, passages)


class SupportSession:
    """One answer's check: the passages' sentences are embedded once, on first use."""

    def __init__(self, checker: SupportChecker, passages: Sequence[Passage]) -> None:
        self.checker = checker
        self.passages = list(passages)
        self.candidates = [(i, s) for i, p in enumerate(self.passages) for s in p.sentences]
        self._vectors: Any = None

    def _candidate_vectors(self) -> Any:
        if self._vectors is None:
            texts = [evidence_text(s, self.passages[i]) for i, s in self.candidates]
            self._vectors = self.checker.embedder.embed(texts) if texts else []
        return self._vectors

    def best(self, claim: str, cited: Sequence[int]) -> Evidence | None:
        """The best sentence for ``claim`` among the passages ``cited`` (0-based indices;
        all passages when empty), or None when there is none to check."""
        wanted = set(cited) if cited else set(range(len(self.passages)))
        rows = [k for k, (i, _) in enumerate(self.candidates) if i in wanted]
        if not rows:
            return None
        vectors = self._candidate_vectors()
        claim_vec = self.checker.embedder.embed([claim])[0]
        sims = cosine([claim_vec], [vectors[k] for k in rows])[0]
        x = []
        for k, sim in zip(rows, sims, strict=True):
            i, s = self.candidates[k]
            p = self.passages[i]
            x.append(
                pair_features(
                    claim,
                    evidence_text(s, p),
                    passage_context(p),
                    float(sim),
                    s.language,
                    self.checker.words,
                )
            )
        probs = self.checker.params.probability(x)
        j = int(probs.argmax())
        i, s = self.candidates[rows[j]]
        prob = float(probs[j])
        return Evidence(i, s, prob, prob >= self.checker.params.threshold)
