"""The composition root: builds every object from Settings, once.

The CLI calls :func:`build_app` once per command; the UI caches it with
``st.cache_resource``. Nothing else reads settings or constructs backends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from .answering import Answerer
from .answering.extractive import ExtractiveAnswerer
from .answering.service import QA
from .embedders import Embedder, make_embedder
from .errors import ConfigError
from .feedback import FeedbackStore
from .retrieval import Retriever
from .settings import Settings
from .store import ChromaStore
from .store.index import SearchIndex
from .tokens import TokenCounter

GENERATORS = ("auto", "extractive", "openai")


@dataclass
class App:
    settings: Settings
    embedder: Embedder
    store: ChromaStore
    tokens: TokenCounter
    index: SearchIndex

    @property
    def local_dir(self) -> Path:
        """Where files that belong with the store are kept (feedback, uploads)."""
        return local_dir(self.settings)

    @cached_property
    def feedback(self) -> FeedbackStore:
        return FeedbackStore(self.local_dir / f"feedback-{self.settings.collection}.sqlite3")

    @cached_property
    def retriever(self) -> Retriever:
        return Retriever(store=self.store, embedder=self.embedder, index=self.index)

    def delete(self, release_ids: list[str]) -> list[str]:
        """Delete releases from the store and the search index; the ids that existed."""
        from .store.indexing import Vocab, commit, rebuild

        with self.index.lock(), self.store.writer():
            before = self.store.generation()
            mark = self.store.mark()
            deleted = self.store.delete(release_ids)
            after = self.store.generation()
            alone = self.store.alone_since(mark, before, after)
            if after != before and not (
                alone  # else another process or machine wrote meanwhile: rebuild
                and commit(
                    self.index,
                    base=before,
                    generation=after,
                    vocab=Vocab(self.index),
                    added=None,
                    removed=deleted,
                )
            ):
                rebuild(self.index, self.store)
        return deleted

    def compact(self) -> tuple[int, int]:
        """Rewrite the search index as one segment of its live rows (after many uploads
        and deletes): (segments before, rows of replaced or deleted releases dropped)."""
        from .store.indexing import compact, rebuild

        with self.index.lock():
            found = compact(self.index, self.store.generation())
            if found is None:  # no index of this store yet: a rebuild makes a compact one
                rebuild(self.index, self.store)
                return 0, 0
        return found

    @cached_property
    def extractive(self) -> ExtractiveAnswerer:
        return ExtractiveAnswerer(library=self.retriever)

    def generator_name(self, requested: str | None = None) -> str:
        """extractive, or openai when asked for or when an OpenAI server is configured."""
        choice = requested or self.settings.generator
        if choice not in GENERATORS:
            raise ConfigError(
                f"Unknown generator {choice!r}: use extractive (offline) or openai "
                "(--generator or QA_BOT_GENERATOR; auto picks openai when OPENAI_API_KEY or "
                "OPENAI_BASE_URL is set)."
            )
        if choice == "auto":
            s = self.settings
            return "openai" if (s.openai_api_key or s.openai_base_url) else "extractive"
        return choice

    def qa(self, generator: str | None = None) -> QA:
        name = self.generator_name(generator)
        answerer: Answerer = self.extractive
        if name == "openai":
            answerer = self.llm
        return QA(
            retriever=self.retriever,
            answerer=answerer,
            fallback=self.extractive,
            max_question_chars=self.settings.max_question_chars,
        )

    @cached_property
    def llm(self) -> Answerer:
        from .answering.llm import LLMAnswerer
        from .answering.support import EMBEDDER, SupportChecker

        s = self.settings
        checker = SupportChecker(
            self.embedder if self.embedder.name == EMBEDDER else make_embedder(EMBEDDER)
        )
        return LLMAnswerer(
            model=s.chat_model,
            api_key=s.openai_api_key,
            base_url=s.openai_base_url,
            timeout=s.openai_timeout,
            context_tokens=s.context_tokens,
            max_tokens=s.max_answer_tokens,
            cache_dir=s.cache_dir,
            checker=checker,
            unsupported=s.unsupported,
        )


def build_app(settings: Settings, *, embedder: Embedder | None = None, create: bool = True) -> App:
    """Everything the CLI and UI need, from settings (``embedder`` overrides, for tests).

    ``create=False``: commands that only read refuse an embedded store directory that
    does not exist (a typo in --store) instead of making an empty one."""
    embedder = embedder or make_embedder(
        settings.embedder,
        openai_model=settings.embedding_model,
        api_key=settings.openai_api_key,
        base_url=settings.openai_base_url,
        cache_dir=settings.cache_dir,
    )
    store = ChromaStore(
        embedder=embedder,
        collection=settings.collection,
        path=None if settings.chroma_url else settings.store,
        url=settings.chroma_url,
        create=create,
    )
    tokens = TokenCounter(encoding=settings.tokenizer, cache_dir=settings.cache_dir / "tiktoken")
    index = SearchIndex(directory=index_dir(settings), wait=settings.write_wait)
    return App(settings=settings, embedder=embedder, store=store, tokens=tokens, index=index)


def local_dir(settings: Settings) -> Path:
    """Files that belong with the store (the search index, feedback, uploads): beside an
    embedded store; for a server, in this machine's cache (shared by the processes of this
    machine; rebuilt there when the server's store was changed from elsewhere)."""
    if settings.chroma_url:
        server = re.sub(r"[^a-zA-Z0-9.-]+", "_", settings.chroma_url.split("://", 1)[-1])
        return settings.cache_dir / "servers" / server
    return settings.store


def index_dir(settings: Settings) -> Path:
    return local_dir(settings) / "index" / settings.collection
