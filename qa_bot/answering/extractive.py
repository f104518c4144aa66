"""The offline answerer: selects, orders and cites the sentences that answer.

No model writes anything: every sentence of the retrieved passages (and of the passages
beside them in the best releases) is a candidate, described by the features of
:mod:`qa_bot.answering.features` and scored by a logistic model fitted on questions with
known answers (``eval/fit.py`` writes ``params.json``). The best candidate answers; a
further one joins when it scores nearly as well (a question that needs two releases, a
list). A second fitted model, over what the candidates look like as a whole, decides
whether the releases answer at all; when they do not, it says so and lists the nearest
releases. Relative dates ("yesterday", "Monday") are resolved from the release's date.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..fitted import Params, load
from ..text import (
    MONTHS,
    Period,
    find_periods,
    fold,
    format_date,
    resolve_relative_dates,
    terms,
)
from ..types import Answer, Citation, Passage, Turn
from ..words import WordMatcher
from . import features as F
from .question import (
    analyse,
    asks_after,
    asks_name,
    asks_several,
    base_question,
    conversation_text,
    is_follow_up,
    split_question,
    switches_subject,
    wants_language,
)

ABSTAIN = {
    "en": "The releases do not contain an answer to this question. The nearest releases are:",
    "fr": "Les communiqués ne contiennent pas de réponse à cette question. Les plus proches sont :",
}
NOTHING = {
    "en": "No release was searched: the store holds none, or none matches the filters "
    "(dates, languages).",
    "fr": "Aucun communiqué n'a été consulté : la base n'en contient aucun, ou aucun ne "
    "correspond aux filtres (dates, langues).",
}
UNDATED = {"en": "undated", "fr": "sans date"}
CONVERSATION_TURNS = 3
"""A follow-up looks back at what this many earlier answers cited."""
CONTEXT_RELEASES = 3
"""The passages around a hit are read in this many of the best releases..."""
CONTEXT_PASSAGES = 8
"""...up to this many passages more (the answer often sits beside what matched)."""


class Library(Protocol):
    """What the answerer reads besides the passages it is given (the Retriever)."""

    @property
    def newest(self) -> dt.date | None: ...

    def embed(self, texts: list[str]) -> list[list[float]]: ...

    def vectors(self, chunk_ids: Sequence[str]) -> dict[str, list[float]]: ...

    def titles(self, release_id: str) -> tuple[str, ...]: ...

    def rarity(self, term: str) -> float: ...

    def df(self, term: str) -> int: ...

    def release_passages(self, release_id: str) -> list[Passage]: ...


@dataclass(frozen=True)
class Scored:
    """A question's candidates as the fitted models see them."""

    query: F.Query
    candidates: tuple[F.Candidate, ...]
    x: Any
    """Sentence features, one row per candidate."""
    probabilities: Any
    question: Any
    """Question features."""
    refuse: float
    """Probability that the releases do not answer."""
    parts: tuple[Any, ...] = ()
    """For a question that asks several things (:func:`~.question.split_question`), the
    sentence features of the candidates for each thing asked..."""
    part_probabilities: tuple[Any, ...] = ()
    """...and each candidate's probability of answering it."""


class ExtractiveAnswerer:
    name = "extractive"

    def __init__(self, *, library: Library, params: Params | None = None) -> None:
        self.library = library
        self.params = params or load()
        self.words = WordMatcher(library.embed)

    # ------------------------------------------------------------ public
    def answer(
        self, question: str, passages: Sequence[Passage], history: Sequence[Turn] = ()
    ) -> Answer:
        started = time.perf_counter()
        scored = self.score(question, passages, history)
        chosen = self.select(scored)
        if not chosen:
            return self._abstain(question, scored.query.language, passages, started)
        citations: list[Citation] = []
        parts: list[str] = []
        for n, c in enumerate(chosen, start=1):
            s, p = c.sentence, c.passage
            parts.append(f"{resolve_relative_dates(s.text, p.date, s.language)} [{n}]")
            citations.append(Citation.of(n, p, s))
        used = tuple(dict.fromkeys(c.passage for c in chosen))
        return Answer(
            question=question,
            text=" ".join(parts),
            abstained=False,
            citations=tuple(citations),
            passages=used + tuple(p for p in passages if p not in used),
            generator=self.name,
            timings={"answer": (time.perf_counter() - started) * 1000},
        )

    def score(
        self, question: str, passages: Sequence[Passage], history: Sequence[Turn] = ()
    ) -> Scored:
        """Everything the decision rests on (also what ``eval/fit.py`` fits on)."""
        import numpy as np

        query = self.query(question, history)
        candidates = self.candidates(query, passages)
        x = F.sentence_matrix(
            query,
            candidates,
            soft=self._soft,
            near=self._near,
            rarity=self.library.rarity,
            align=self._align,
        )
        probabilities = self.params.sentence.probability(x) if len(candidates) else np.zeros(0)
        unmatched = self._unseen_unmatched(query, candidates, probabilities)
        qv = F.question_vector(query, candidates, x, probabilities, unmatched)
        refuse = float(self.params.abstain.probability(qv[None, :])[0])
        parts = tuple(
            F.sentence_matrix(
                self.query(part.text, history, periods=part.periods(self.library.newest)),
                candidates,
                soft=self._soft,
                near=self._near,
                rarity=self.library.rarity,
                align=self._align,
            )
            for part in (split_question(question) if len(candidates) else ())
        )
        return Scored(
            query,
            tuple(candidates),
            x,
            probabilities,
            qv,
            refuse,
            parts,
            tuple(self.params.sentence.probability(px) for px in parts),
        )

    def select(self, scored: Scored) -> list[F.Candidate]:
        """The sentences that answer, best first; none when the releases do not answer."""

        p = self.params
        following = next_person(scored)
        if following is not None:  # the order of the sentences answers, not their words
            return [scored.candidates[following]]
        if not scored.candidates or scored.refuse >= p.abstain_threshold:
            return []
        chosen = choose(scored, p.add.probability, p.add_threshold, p.max_sentences)
        return [scored.candidates[i] for i in chosen]

    # ------------------------------------------------------------ the question
    def query(
        self, question: str, history: Sequence[Turn] = (), periods: tuple[Period, ...] = ()
    ) -> F.Query:
        """The question analysed and embedded; ``periods``, if any, are the periods it asks
        about (else those it names, or in a follow-up those the question before named)."""
        import numpy as np

        wanted = wants_language(question)
        conversation = conversation_text(history)
        follow_up = bool(history) and is_follow_up(question, conversation)
        q = analyse(question)
        if wanted and history and len(q.terms) <= 2:
            q = analyse(history[-1].question)  # "Et en français ?": the same question again
        newest = self.library.newest
        periods = periods or find_periods(q.text, newest=newest)
        switch = follow_up and switches_subject(question, conversation)
        if not periods and follow_up:  # "What about Helmand?": the period asked before it
            before = base_question(history) if switch else history[-1].question
            periods = find_periods(before, newest=newest)
        words = [
            t for t in dict.fromkeys(q.terms) if not (periods and (t.isdigit() or t in MONTHS))
        ]
        vector = np.asarray(self.library.embed([q.text])[0], dtype=float)
        vector = vector / (np.linalg.norm(vector) or 1.0)
        previous: frozenset[str] = frozenset()
        after = None
        cited: frozenset[tuple[str, int]] = frozenset()
        positions: frozenset[tuple[str, int]] = frozenset()
        if follow_up and not switch:
            # what the conversation cited ("who spoke after *him*" may go back two turns)
            said = [c for turn in history[-CONVERSATION_TURNS:] for c in turn.answer.citations]
            previous = frozenset(c.release_id for c in said)
            if not wanted:
                cited = frozenset((c.release_id, c.start) for c in said)
                positions = frozenset(self._positions(cited))
            after = self._anchor(question, history)
        return F.Query(
            text=q.text,
            language=q.language,
            kind=q.kind,
            words=tuple(words),
            weights=tuple(self.library.rarity(t) for t in words),
            unseen=tuple(t for t in words if not t.isdigit() and self.library.df(t) == 0),
            periods=periods,
            vector=vector,
            follow_up=follow_up,
            previous=previous,
            cited=cited,
            cited_positions=positions,
            asks_name=asks_name(q.text),
            wanted_language=wanted,
            focus=F.focus_word(q.text),
            several=asks_several(q.text),
            kinds=q.kinds,
            after=after,
        )

    def _anchor(
        self, question: str, history: Sequence[Turn]
    ) -> tuple[str, int, frozenset[str], int] | None:
        """For "And who spoke after him?" (or "before her?"): the latest sentence cited that
        names someone (its release, its position there, the surnames it names, and which way
        to look: 1 after it, -1 before)."""
        step = asks_after(question)
        if not step:
            return None
        for turn in reversed(history[-CONVERSATION_TURNS:]):
            for c in turn.answer.citations:
                people = F.persons(c.quote)
                if not people:
                    continue
                for rid, position in self._positions(frozenset({(c.release_id, c.start)})):
                    return rid, position, frozenset(people), step
        return None

    def _positions(self, cited: frozenset[tuple[str, int]]) -> list[tuple[str, int]]:
        out = []
        for rid in {r for r, _ in cited}:
            for p in self.library.release_passages(rid):
                for s in p.sentences:
                    if (rid, s.start) in cited:
                        out.append((rid, F.position_of(s.chunk_id)))
        return out

    # ------------------------------------------------------------ the candidates
    def candidates(self, query: F.Query, passages: Sequence[Passage]) -> list[F.Candidate]:
        """Every sentence of the retrieved passages, then of the other passages of the best
        releases, with their stored vectors."""
        import numpy as np

        found = list(dict.fromkeys(p.release_id for p in passages))
        # a follow-up stays with the releases the conversation cited, even when its own
        # words ("who spoke after him?") retrieve others
        earlier = [rid for rid in sorted(query.previous) if rid not in found]
        releases = found + earlier
        rank_of = {rid: i for i, rid in enumerate(releases)}
        ordered: list[tuple[Passage, int, bool]] = [(p, i, True) for i, p in enumerate(passages)]
        have = {(p.release_id, p.start) for p in passages}
        extra = 0
        for rid in found[:CONTEXT_RELEASES]:
            for sibling in self.library.release_passages(rid):
                if (rid, sibling.start) not in have and extra < CONTEXT_PASSAGES:
                    have.add((rid, sibling.start))
                    ordered.append((sibling, len(passages) + extra, False))
                    extra += 1
        for rid in earlier:
            for sibling in self.library.release_passages(rid)[:CONTEXT_PASSAGES]:
                ordered.append((sibling, len(passages) + extra, False))
                extra += 1
        vectors = self.library.vectors([s.chunk_id for p, _, _ in ordered for s in p.sentences])
        titles = {rid: self.library.titles(rid) for rid in releases}
        out = []
        for p, rank, retrieved in ordered:
            for s in p.sentences:
                if F.addresses_reader(s.text):
                    continue  # instructions planted in a release are data, never an answer
                vec = vectors.get(s.chunk_id)
                out.append(
                    F.Candidate(
                        sentence=s,
                        passage=p,
                        passage_rank=rank,
                        release_rank=rank_of[p.release_id],
                        retrieved=retrieved,
                        position=F.position_of(s.chunk_id),
                        vector=None if vec is None else np.asarray(vec, dtype=float),
                        titles=titles[p.release_id],
                    )
                )
        return out

    def _soft(self, query: F.Query, sentence_terms: Sequence[str]) -> float:
        """IDF-weighted share of the question's words, each counted by its similarity to
        the nearest word of the sentence (translations come close to 1)."""
        total = sum(query.weights) or 1.0
        near = self.words.nearest(list(query.words), list(sentence_terms))
        return sum(w * max(0.0, s) for w, s in zip(query.weights, near, strict=True)) / total

    def _align(self, words: list[str], sentence_terms: list[str]) -> tuple[Any, Any]:
        """For each word, the position of the nearest of ``sentence_terms`` and how near."""
        sims = self.words.similarities(words, sentence_terms)
        return sims.argmax(axis=1), sims.max(axis=1)

    def _near(self, word: str, sentence_terms: Sequence[str]) -> float:
        return self.words.nearest([word], list(sentence_terms))[0]

    def _unseen_unmatched(
        self, query: F.Query, candidates: Sequence[F.Candidate], probabilities: Any
    ) -> float:
        """For the words no release uses ("budget"), how far the nearest word of the best
        candidate's passage is (1: nothing like it; 0: the word, or a synonym)."""
        if not query.unseen or not candidates:
            return 0.0
        best = candidates[int(probabilities.argmax())]
        evidence = terms(best.passage.text) + [t for title in best.titles for t in terms(title)]
        near = self.words.nearest(list(query.unseen), evidence)
        return sum(1 - max(0.0, s) for s in near) / len(near)

    def _abstain(
        self, question: str, language: str, passages: Sequence[Passage], started: float
    ) -> Answer:
        return Answer(
            question=question,
            text=abstention_text(language, passages),
            abstained=True,
            citations=(),
            passages=tuple(passages),
            generator=self.name,
            timings={"answer": (time.perf_counter() - started) * 1000},
        )


def abstention_text(language: str, passages: Sequence[Passage]) -> str:
    """ "The releases do not say", then the nearest releases with their dates."""
    if not passages:  # an empty store, or filters that leave no release
        return NOTHING.get(language, NOTHING["en"])
    lines = [ABSTAIN.get(language, ABSTAIN["en"])]
    for rid in dict.fromkeys(p.release_id for p in passages):
        p = next(x for x in passages if x.release_id == rid)
        when = format_date(p.date, language) if p.date else UNDATED.get(language, "undated")
        lines.append(f"- {p.title} ({when})")
    return "\n".join(lines)


def next_person(scored: Scored) -> int | None:
    """For "And who spoke after him?" (a *who* follow-up asking what came after someone
    cited; or before): the first candidate after that sentence in its release (the last
    before it) that names someone else, said alone, even where the refusal model would
    refuse (its signals are the question's words in the sentences). The order of the
    sentences answers it, which no sentence's features say, and the training questions hold
    one such question (about the NATO item, which the fit leaves out): too few for a fitted
    model to learn it."""
    after = scored.query.after
    if after is None or scored.query.kind != "who":
        return None
    rid, position, known, step = after
    beyond = [  # nearest first, the way asked
        (step * c.position, i)
        for i, c in enumerate(scored.candidates)
        if c.passage.release_id == rid and step * c.position > step * position
    ]
    for _, i in sorted(beyond):
        if F.persons(scored.candidates[i].sentence.text) - known:
            return i
    return None


def choose(scored: Scored, add: Any, threshold: float, most: int) -> list[int]:
    """The best candidate, then, among the next best, each that the ``add`` model says adds
    to it (probability at least ``threshold``), up to ``most`` sentences in all; a sentence
    repeated (in another release, or with other punctuation) is said once."""
    import numpy as np

    order = [int(i) for i in np.argsort(-scored.probabilities, kind="stable")]
    if not order:
        return []
    first = order[0]
    chosen = [first]
    said = {_words(scored.candidates[first].sentence.text)}
    if scored.part_probabilities:
        _each_part(scored, chosen, said, most)
    for rank, i in further(scored.candidates, order):
        if len(chosen) >= most:
            break
        text = _words(scored.candidates[i].sentence.text)
        if text in said:
            continue
        v = F.add_vector(
            scored.query, scored.candidates, scored.x, scored.probabilities, first, i, rank
        )
        if float(add(v[None, :])[0]) >= threshold:
            chosen.append(i)
            said.add(text)
    return chosen


def _words(text: str) -> tuple[str, ...]:
    """What a sentence says, for telling repeats: its words, not its punctuation ("weapons
    to Taliban, such as" and "weapons to Taliban such as" are one sentence said twice)."""
    return tuple(re.findall(r"\w+", fold(text)))


def _each_part(scored: Scored, chosen: list[int], said: set[tuple[str, ...]], most: int) -> None:
    """A question that asks several things: after the best candidate, for each thing it
    does not answer best, the candidate that answers that thing best, when it answers it
    better than the sentences chosen (up to ``most`` sentences in all)."""
    import numpy as np

    parts = scored.part_probabilities
    answered = {max(range(len(parts)), key=lambda j: float(parts[j][chosen[0]]))}
    for j, p in enumerate(parts):
        if j in answered or len(chosen) >= most:
            continue
        for i in (int(i) for i in np.argsort(-p, kind="stable")):
            text = _words(scored.candidates[i].sentence.text)
            if i in chosen or text in said:
                continue
            if p[i] > max(float(p[c]) for c in chosen):
                chosen.append(i)
                said.add(text)
                answered.add(j)
            break


def further(candidates: Sequence[F.Candidate], order: Sequence[int]) -> list[tuple[int, int]]:
    """(rank, candidate) pairs, by rank, among which a further sentence is looked for, given
    the candidates best first (``order``): the next ``ADD_DEPTH`` - 1, and the best of each
    other release (a question about two events needs a sentence of each)."""
    pool = {i: rank for rank, i in enumerate(order[1 : F.ADD_DEPTH], start=2)}
    seen = {candidates[order[0]].passage.release_id}
    for rank, i in enumerate(order[1:], start=2):
        rid = candidates[i].passage.release_id
        if rid not in seen:
            seen.add(rid)
            pool.setdefault(i, rank)
    return sorted((rank, i) for i, rank in pool.items())
