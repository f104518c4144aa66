"""Answers written by an OpenAI-compatible chat model, through langchain-openai.

Works with OpenAI, Azure, Ollama, vLLM and llama.cpp's server. Passages are
packed best first into the model's context budget (counted with tiktoken), the
answer streams, markers are parsed and checked (:mod:`.citations`). Any failure
(network, timeout, refusal, an empty answer) raises GeneratorError, and the caller
shows the extractive answer with a one-line notice. This is the only module that
imports langchain-openai's chat model.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..errors import GeneratorError
from ..prompts import render
from ..tokens import TokenCounter, encoding_for_model
from ..types import Answer, Passage, Turn
from . import citations
from .extractive import abstention_text
from .question import language_of

LANGUAGES = {"en": "English", "fr": "French"}
NOT_IN_RELEASES = "NOT_IN_RELEASES"


class LLMAnswerer:
    name = "openai"

    def __init__(
        self,
        *,
        model: str,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 60.0,
        context_tokens: int = 6000,
        max_tokens: int = 600,
        cache_dir: Path,
    ) -> None:
        self.model = model
        self.api_key = api_key
        self.base_url = base_url
        self.timeout = timeout
        self.context_tokens = context_tokens
        self.max_tokens = max_tokens
        self.tokens = TokenCounter(
            encoding=encoding_for_model(model), cache_dir=cache_dir / "tiktoken"
        )
        self._chat: Any = None

    @property
    def where(self) -> str:
        return self.base_url or "the OpenAI API"

    def _client(self) -> Any:
        if self._chat is None:
            from langchain_openai import ChatOpenAI

            self._chat = ChatOpenAI(
                model=self.model,
                api_key=self.api_key or "not-needed",  # type: ignore[arg-type]
                base_url=self.base_url,
                timeout=self.timeout,
                max_retries=0,
                temperature=0,
                max_tokens=self.max_tokens,  # type: ignore[call-arg]  # (an alias)
            )
        return self._chat

    # ------------------------------------------------------------ prompts
    def pack(self, passages: Sequence[Passage]) -> list[Passage]:
        """Passages, best first, that fit the context budget."""
        packed: list[Passage] = []
        used = 0
        for p in passages:
            cost = self.tokens.count(p.text) + self.tokens.count(p.title) + 12
            if used + cost > self.context_tokens and packed:
                break
            packed.append(p)
            used += cost
        return packed

    def messages(self, question: str, passages: Sequence[Passage]) -> list[Any]:
        from langchain_core.messages import HumanMessage, SystemMessage

        blocks = [
            f"[{n}] {p.title} ({p.date.isoformat() if p.date else 'undated'})\n{p.text}"
            for n, p in enumerate(passages, start=1)
        ]
        language = LANGUAGES.get(language_of(question), "English")
        return [
            SystemMessage(render("answer_system", language=language)),
            HumanMessage(render("answer_user", passages="\n\n".join(blocks), question=question)),
        ]

    # ------------------------------------------------------------ answering
    def stream(
        self, question: str, passages: Sequence[Passage], history: Sequence[Turn] = ()
    ) -> Iterator[str | Answer]:
        started = time.perf_counter()
        packed = self.pack(passages)
        text = ""
        try:
            for chunk in self._client().stream(self.messages(question, packed)):
                piece = chunk.content if isinstance(chunk.content, str) else ""
                if piece:
                    text += piece
                    yield piece
        except Exception as exc:  # the SDK raises many types; all mean the same here
            raise GeneratorError(
                f"The model {self.model!r} at {self.where} failed ({type(exc).__name__}); "
                "showing the offline answer instead."
            ) from exc
        if not text.strip():
            raise GeneratorError(
                f"The model {self.model!r} at {self.where} returned an empty answer; "
                "showing the offline answer instead."
            )
        ms = {"answer": (time.perf_counter() - started) * 1000}
        if text.strip().startswith(NOT_IN_RELEASES):
            text = abstention_text(language_of(question), passages)
            yield Answer(
                question=question,
                text=text,
                abstained=True,
                citations=(),
                passages=tuple(passages),
                generator=self.name,
                timings=ms,
            )
            return
        body, cites = citations.parse(text, packed)
        yield Answer(
            question=question,
            text=body,
            abstained=False,
            citations=tuple(cites),
            passages=tuple(passages),
            generator=self.name,
            timings=ms,
        )

    def answer(
        self, question: str, passages: Sequence[Passage], history: Sequence[Turn] = ()
    ) -> Answer:
        final = None
        for piece in self.stream(question, passages, history):
            if isinstance(piece, Answer):
                final = piece
        assert final is not None
        return final

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        """A follow-up rewritten as a standalone question."""
        from langchain_core.messages import HumanMessage

        lines = []
        for turn in history[-3:]:
            lines.append(f"Q: {turn.question}")
            lines.append(f"A: {turn.answer.text[:600]}")
        try:
            reply = self._client().invoke(
                [HumanMessage(render("condense", history="\n".join(lines), question=question))]
            )
        except Exception as exc:
            raise GeneratorError(
                f"The model at {self.where} failed to rewrite the question ({type(exc).__name__})."
            ) from exc
        text = reply.content if isinstance(reply.content, str) else ""
        return text.strip().splitlines()[0] if text.strip() else question
