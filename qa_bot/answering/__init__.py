"""Answerers: one protocol, an offline extractive one and an OpenAI-compatible one."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from ..types import Answer, Passage, Turn


class Answerer(Protocol):
    name: str

    def answer(
        self, question: str, passages: Sequence[Passage], history: Sequence[Turn] = ()
    ) -> Answer: ...


class StreamingAnswerer(Answerer, Protocol):
    def stream(
        self, question: str, passages: Sequence[Passage], history: Sequence[Turn] = ()
    ) -> Iterator[str | Answer]:
        """Text pieces as they come, then the final Answer."""
        ...


def stream_answer(
    answerer: Answerer, question: str, passages: Sequence[Passage], history: Sequence[Turn] = ()
) -> Iterator[str | Answer]:
    """Any answerer as a stream: a streaming one streams, another yields its whole answer."""
    stream = getattr(answerer, "stream", None)
    if stream is not None:
        yield from stream(question, passages, history)
        return
    answer = answerer.answer(question, passages, history)
    yield answer.text
    yield answer
