"""The retriever as a LangChain ``BaseRetriever``, for LangChain chains and tools.

``k`` and ``filters`` can be set on the retriever and overridden per call, as LangChain's
own retrievers do::

    retriever = ReleaseRetriever(store="~/.local/share/qa-bot/store", k=3)
    retriever.invoke("Who opened the meeting?", k=1, filters={"languages": ["fr"]})

``filters`` given at call time replace the retriever's filters as a whole.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables.config import run_in_executor
from pydantic import Field, TypeAdapter, field_validator, model_validator

from .types import Filters


class ReleaseRetriever(BaseRetriever):
    """Passages of releases as Documents (metadata: release id, title, date, url, span).

    Give either ``retriever`` (a :class:`qa_bot.retrieval.Retriever`) or the store to open
    (``store``, or ``chroma_url``; ``collection``); unset, the store is the one qa-bot's
    settings name (``QA_BOT_STORE``, ``QA_BOT_CHROMA_URL``, ``QA_BOT_COLLECTION``).
    """

    retriever: Any = None
    store: Path | None = None
    chroma_url: str | None = None
    collection: str | None = None
    k: int = Field(default=5, ge=1)
    """How many passages to return; ``invoke(query, k=...)`` overrides it."""
    filters: Filters = Filters()
    """Date range, languages, release ids (a ``Filters`` or a mapping such as
    ``{"since": "2024-01-01", "languages": ["fr"]}``); ``invoke(query, filters=...)``
    replaces them."""

    @field_validator("filters", mode="before")
    @classmethod
    def _filters(cls, value: Any) -> Filters:
        return _as_filters(value)

    @model_validator(mode="after")
    def _open_store(self) -> ReleaseRetriever:
        if self.retriever is None:
            from .app import build_app
            from .settings import load_settings

            settings = load_settings(
                store=self.store.expanduser() if self.store else None,
                chroma_url=self.chroma_url,
                collection=self.collection,
            )
            # reading only: a path that holds no store is refused (StoreError), not created
            self.retriever = build_app(settings, create=False).retriever
        return self

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        k: int | None = None,
        filters: Filters | Mapping[str, Any] | None = None,
    ) -> list[Document]:
        found = self.retriever.search(
            query,
            k=self.k if k is None else _positive(k),
            filters=self.filters if filters is None else _as_filters(filters),
        )
        return [
            Document(
                page_content=p.text,
                metadata={
                    "release_id": p.release_id,
                    "title": p.title,
                    "date": p.date.isoformat() if p.date else None,
                    "url": p.url,
                    "language": p.language,
                    "start": p.start,
                    "end": p.end,
                    "score": p.score,
                },
            )
            for p in found.passages
        ]

    async def _aget_relevant_documents(
        self,
        query: str,
        *,
        run_manager: AsyncCallbackManagerForRetrieverRun,
        k: int | None = None,
        filters: Filters | Mapping[str, Any] | None = None,
    ) -> list[Document]:
        # retrieval is CPU-bound and synchronous: off the event loop, with the call's k/filters
        return await run_in_executor(
            None,
            self._get_relevant_documents,
            query,
            run_manager=run_manager.get_sync(),
            k=k,
            filters=filters,
        )


def _positive(k: int) -> int:
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be a positive integer, not {k!r}")
    return k


def _as_filters(filters: Filters | Mapping[str, Any]) -> Filters:
    """A mapping (``{"since": "2024-01-01", "languages": ["fr"]}``) validated into Filters."""
    if isinstance(filters, Filters):
        return filters
    if not isinstance(filters, Mapping):
        raise ValueError(f"filters must be a Filters or a mapping, not {type(filters).__name__}")
    names = [f.name for f in dataclasses.fields(Filters)]
    unknown = sorted(set(filters) - set(names))
    if unknown:
        raise ValueError(f"unknown filters {unknown}: use {', '.join(names)}")
    return TypeAdapter(Filters).validate_python(dict(filters))
