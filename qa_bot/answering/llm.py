"""Answers written by an OpenAI-compatible chat model, through langchain-openai.

Works with OpenAI, Azure, Ollama, vLLM and llama.cpp's server. Passages are
packed best first into the model's context budget (counted with tiktoken) and fenced
in the prompt: each sits between tags that carry its number and a fence drawn at
random for the request, and its text can hold neither ``<`` nor ``>`` nor a bracketed
number, so a release cannot close its passage, open another or forge a marker. The
answer streams sentence by sentence, each one checked against what it cites
(:mod:`.citations`, :mod:`.support`) before it is shown. Any failure (network,
timeout, refusal, an empty answer) raises GeneratorError, and the caller shows the
extractive answer with a one-line notice. This is the only module that imports
langchain-openai's chat model.
"""

from __future__ import annotations

import re
import secrets
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
from .support import SupportChecker

LANGUAGES = {"en": "English", "fr": "French"}
NOT_IN_RELEASES = "NOT_IN_RELEASES"
_BRACKETED_NUMBER = re.compile(r"\[(\s*\d+(?:\s*[,;]\s*\d+)*\s*)\]")


def inert(text: str) -> str:
    """Release text as it goes into the prompt: no angle brackets (it cannot open or close
    a passage tag) and no bracketed numbers (it cannot forge a marker)."""
    text = text.replace("<", "‹").replace(">", "›")
    return _BRACKETED_NUMBER.sub(r"(\1)", text)


def new_fence(*texts: str) -> str:
    """A random word that none of the texts holds."""
    while True:
        fence = secrets.token_hex(4)
        if not any(fence in t for t in texts):
            return fence


def passage_block(n: int, p: Passage, fence: str) -> str:
    title = inert(" ".join(p.title.split())).replace('"', "'")
    when = p.date.isoformat() if p.date else "undated"
    return (
        f'<passage-{fence} n="{n}" title="{title}" date="{when}" language="{p.language}">\n'
        f"{inert(p.text)}\n</passage-{fence}>"
    )


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
        checker: SupportChecker | None = None,
        unsupported: str = "drop",
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
        self._checker = checker
        if unsupported not in citations.MODES:
            raise ValueError(f"unsupported must be one of {citations.MODES}")
        self.unsupported = unsupported

    @property
    def where(self) -> str:
        return self.base_url or "the OpenAI API"

    @property
    def label(self) -> str:
        """The model as the user is told about it."""
        return f"{self.model!r} at {self.where}"

    @property
    def checker(self) -> SupportChecker:
        if self._checker is None:
            from ..embedders import make_embedder
            from .support import EMBEDDER

            self._checker = SupportChecker(make_embedder(EMBEDDER))
        return self._checker

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

    def messages(
        self, question: str, passages: Sequence[Passage], fence: str | None = None
    ) -> list[Any]:
        """The system and user messages; passages fenced (``fence``: random unless given)."""
        from langchain_core.messages import HumanMessage, SystemMessage

        fence = fence or new_fence(
            question, *(p.text for p in passages), *(p.title for p in passages)
        )
        blocks = [passage_block(n, p, fence) for n, p in enumerate(passages, start=1)]
        language = LANGUAGES.get(language_of(question), "English")
        return [
            SystemMessage(render("answer_system", language=language, fence=fence)),
            HumanMessage(render("answer_user", passages="\n\n".join(blocks), question=question)),
        ]

    # ------------------------------------------------------------ answering
    def stream(
        self, question: str, passages: Sequence[Passage], history: Sequence[Turn] = ()
    ) -> Iterator[str | Answer]:
        started = time.perf_counter()
        packed = self.pack(passages)
        draft = citations.Draft(packed, self.checker.session(packed), mode=self.unsupported)
        draft.language = language_of(question)
        text = ""
        shown = 0
        try:
            for chunk in self._client().stream(self.messages(question, packed)):
                piece = chunk.content if isinstance(chunk.content, str) else ""
                if piece:
                    text += piece
                    for sentence in draft.feed(piece):
                        yield (" " if shown else "") + sentence
                        shown += 1
        except Exception as exc:  # the SDK raises many types; all mean the same here
            unset = (
                ""
                if self.api_key or self.base_url
                else " (neither OPENAI_API_KEY nor OPENAI_BASE_URL is set: set OPENAI_BASE_URL "
                "to your server, e.g. Ollama, vLLM or llama.cpp, or OPENAI_API_KEY for OpenAI)"
            )
            raise GeneratorError(
                f"The model {self.model!r} at {self.where} failed ({type(exc).__name__}){unset}; "
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
        for sentence in draft.finish():
            yield (" " if shown else "") + sentence
            shown += 1
        yield Answer(
            question=question,
            text=draft.answer_text,
            abstained=False,
            citations=tuple(draft.citations),
            passages=tuple(passages),
            generator=self.name,
            timings=ms,
            notice=draft.notice(self.label),
            sentences=tuple(draft.claims),
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
