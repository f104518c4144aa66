"""Asking: follow-up resolution, retrieval, an answerer, and the fallback.

The one entry point the CLI, the UI and eval use. With a model, a follow-up is
condensed into a standalone question by the model; without one, it keeps the
previous question's words and prefers the releases of the previous answer. A model's
answer in which no sentence is backed by the releases is never presented as an answer:
the offline answer (or its refusal) replaces it, with a notice naming the model and why,
and the model's checked sentences stay on the Answer (none shown).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Sequence

from ..errors import GeneratorError, QuestionError
from ..retrieval import Retriever
from ..text import searchable, terms
from ..types import Answer, Filters, Turn
from . import Answerer, stream_answer
from .extractive import ABSTAIN, CONVERSATION_TURNS
from .question import (
    base_question,
    conversation_text,
    is_follow_up,
    names,
    switches_subject,
)


class QA:
    def __init__(
        self,
        *,
        retriever: Retriever,
        answerer: Answerer,
        fallback: Answerer,
        max_question_chars: int = 2000,
    ) -> None:
        self.max_question_chars = max_question_chars
        self.retriever = retriever
        self.answerer = answerer
        self.fallback = fallback

    def ask(
        self,
        question: str,
        *,
        history: Sequence[Turn] = (),
        filters: Filters | None = None,
        k: int = 5,
    ) -> Answer:
        final: Answer | None = None
        for piece in self.stream(question, history=history, filters=filters, k=k):
            if isinstance(piece, Answer):
                final = piece
        assert final is not None
        return final

    def stream(
        self,
        question: str,
        *,
        history: Sequence[Turn] = (),
        filters: Filters | None = None,
        k: int = 5,
    ) -> Iterator[str | Answer]:
        """Text as it is written (at once for the extractive answerer), then the Answer."""
        check_question(question, self.max_question_chars)
        if not history and not searchable(question):
            raise QuestionError(
                "Ask about something: the question names nothing to look for in the releases "
                "(only question words, greetings, or words every release holds such as "
                "'ISAF'). Name the event, person, place or date you are asking about."
            )
        started = time.perf_counter()
        if filters is not None and not filters.empty:
            history = self._within(history, filters)
        query, prefer = self._resolve(question, history)
        retrieved = self.retriever.search(
            question, k=k, filters=filters, prefer=prefer, query=query
        )
        answer_started = time.perf_counter()
        final: Answer | None = None
        streamed = False
        try:
            for piece in stream_answer(self.answerer, question, retrieved.passages, history):
                if isinstance(piece, Answer):
                    final = piece
                else:
                    streamed = streamed or bool(piece)
                    yield piece
        except GeneratorError as exc:
            final = self.fallback.answer(question, retrieved.passages, history)
            final = dataclasses.replace(final, notice=str(exc))
            yield "\n\n" if streamed else ""
            yield final.text
        assert final is not None
        notice = unbacked(final, getattr(self.answerer, "label", self.answerer.name))
        if notice:
            model_sentences = tuple(dataclasses.replace(c, shown=False) for c in final.sentences)
            final = self.fallback.answer(question, retrieved.passages, history)
            final = dataclasses.replace(final, notice=notice, sentences=model_sentences)
            yield "\n\n" if streamed else ""
            yield final.text
        if final.abstained and filters is not None and not filters.empty:
            # a refusal under filters may only mean the filters leave the answer out
            language = "fr" if final.text.startswith(ABSTAIN["fr"]) else "en"
            said = filters.describe(language)
            final = dataclasses.replace(
                final, notice=f"{final.notice} {said}" if final.notice else said
            )
        now = time.perf_counter()
        yield dataclasses.replace(
            final,
            timings={
                **final.timings,
                "retrieval": retrieved.ms,
                "answer": (now - answer_started) * 1000,
                "total": (now - started) * 1000,
            },
        )

    def _within(self, history: Sequence[Turn], filters: Filters) -> list[Turn]:
        """The conversation as the filters let it be seen: what it cited from releases the
        filters now leave out is no place to look for a follow-up's answer (filters set or
        changed mid-conversation hold as they do for a first question). Only the turns a
        follow-up looks back at are read."""
        older, recent = history[:-CONVERSATION_TURNS], history[-CONVERSATION_TURNS:]
        cited = {c.release_id for t in recent for c in t.answer.citations}
        found = self.retriever.releases.get_many(sorted(cited))
        kept = {rid for rid, r in found.items() if filters.admits(rid, r.date, r.language)}
        return [*older] + [
            Turn(
                t.question,
                dataclasses.replace(
                    t.answer,
                    citations=tuple(c for c in t.answer.citations if c.release_id in kept),
                    passages=tuple(p for p in t.answer.passages if p.release_id in kept),
                ),
            )
            for t in recent
        ]

    def _resolve(self, question: str, history: Sequence[Turn]) -> tuple[str, list[str]]:
        """(what to match, releases to prefer) for a question in a conversation."""
        conversation = conversation_text(history)
        if not history or not is_follow_up(question, conversation):
            return question, []
        previous = history[-1]
        # "What about Kandahar?": the question before, of something else; not in its releases
        # (after "What about Kandahar?", "What about Helmand?" asks the one before that again)
        switch = switches_subject(question, conversation)
        base = base_question(history) if switch else previous.question
        recent = history[-CONVERSATION_TURNS:] if switch else []
        dropped = {n for t in recent for n in names(t.question)}
        condense = getattr(self.answerer, "condense", None)
        query = None
        if condense is not None:
            try:
                query = condense(question, history)
            except GeneratorError:
                query = None
        if not query:
            asked = terms(question)
            carried = " ".join(t for t in terms(base) if t not in asked and t not in dropped)
            query = f"{question} {carried}".strip()
        if switch:
            return query, []
        prefer = [c.release_id for c in previous.answer.citations] or [
            p.release_id for p in previous.answer.passages[:2]
        ]
        return query, list(dict.fromkeys(prefer))


def unbacked(answer: Answer, model: str) -> str | None:
    """Why a model's answer cannot be shown (no sentence of it is backed), else None."""
    if answer.abstained or not answer.sentences:
        return None
    if any(c.shown and c.verdict == "supported" for c in answer.sentences):
        return None
    counts = {
        v: sum(1 for c in answer.sentences if c.verdict == v) for v in ("uncited", "unsupported")
    }
    why = " and ".join(
        f"{n} {'cite no release' if v == 'uncited' else 'not backed by the passage they cite'}"
        for v, n in counts.items()
        if n
    )
    total = len(answer.sentences)
    return (
        f"The model {model} wrote no sentence that the releases back ({total} "
        f"sentence{'s' if total != 1 else ''}: {why}); showing the offline answer instead."
    )


def check_question(question: str, max_chars: int) -> None:
    """Refuse what cannot be a question: not text, nothing in it, or too long."""
    try:
        question.encode("utf-8")
    except UnicodeEncodeError:
        raise QuestionError(
            "The question holds bytes that are not text (not UTF-8): type it again, or set "
            "the terminal to UTF-8."
        ) from None
    if not any(ch.isalnum() for ch in question):
        raise QuestionError(
            "Ask something: the question has no words in it (only spaces, punctuation or symbols)."
        )
    if len(question) > max_chars:
        raise QuestionError(
            f"The question is too long ({len(question):,} characters; the limit is "
            f"{max_chars:,}, QA_BOT_MAX_QUESTION_CHARS): ask it in fewer words, or raise "
            "QA_BOT_MAX_QUESTION_CHARS."
        )
