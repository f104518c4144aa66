"""The retriever as a LangChain ``BaseRetriever``, for LangChain chains and tools."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from .types import Filters


class ReleaseRetriever(BaseRetriever):
    """Passages of releases as Documents (metadata: release id, title, date, url, span)."""

    retriever: Any
    k: int = 5
    filters: Filters = Filters()

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        found = self.retriever.search(query, k=self.k, filters=self.filters)
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
