"""Asking: follow-up resolution, retrieval, an answerer, and the fallback.

The one entry point the CLI, the UI and eval use. With a model, a follow-up is
condensed into a standalone question by the model; without one, it keeps the
previous question's words and prefers the releases of the previous answer.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Sequence

from ..errors import GeneratorError, QuestionError
from ..retrieval import Retriever
from ..text import terms
from ..types import Answer, Filters, Turn
from . import Answerer, stream_answer
from .question import is_follow_up


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
        started = time.perf_counter()
        query, prefer = self._resolve(question, history)
        retrieved = self.retriever.search(
            question, k=k, filters=filters, prefer=prefer, query=query
        )
        answer_started = time.perf_counter()
        final: Answer | None = None
        try:
            for piece in stream_answer(self.answerer, question, retrieved.passages, history):
                if isinstance(piece, Answer):
                    final = piece
                else:
                    yield piece
        except GeneratorError as exc:
            final = self.fallback.answer(question, retrieved.passages, history)
            final = dataclasses.replace(final, notice=str(exc))
            yield "\n\n"
            yield final.text
        assert final is not None
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

    def _resolve(self, question: str, history: Sequence[Turn]) -> tuple[str, list[str]]:
        """(what to match, releases to prefer) for a question in a conversation."""
        if not history or not is_follow_up(question):
            return question, []
        previous = history[-1]
        condense = getattr(self.answerer, "condense", None)
        query = None
        if condense is not None:
            try:
                query = condense(question, history)
            except GeneratorError:
                query = None
        if not query:
            carried = " ".join(t for t in terms(previous.question) if t not in terms(question))
            query = f"{question} {carried}".strip()
        prefer = [c.release_id for c in previous.answer.citations] or [
            p.release_id for p in previous.answer.passages[:2]
        ]
        return query, list(dict.fromkeys(prefer))


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
