"""The comparison baseline: plain dense retrieval as in LangChain's RAG tutorial.

RecursiveCharacterTextSplitter (1,000 characters, 200 overlap) over each release,
a langchain-chroma vector store with the same embedder, ``similarity_search(k=5)``.
Its "answer" is the top chunk, cited to that chunk's release; it never abstains.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .embedders import Embedder
from .types import Answer, Citation, Release, Turn


class _LangChainEmbeddings:
    """Our embedder behind LangChain's Embeddings interface."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed([text])[0]


class TutorialBaseline:
    name = "baseline"

    def __init__(self, *, embedder: Embedder, directory: Path) -> None:
        from langchain_chroma import Chroma
        from langchain_core.embeddings import Embeddings

        class _Emb(_LangChainEmbeddings, Embeddings):
            pass

        self._store: Any = Chroma(
            collection_name="baseline",
            persist_directory=str(directory),
            embedding_function=_Emb(embedder),
        )

    def index(self, releases: Sequence[Release]) -> None:
        from langchain_core.documents import Document
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        splitter = RecursiveCharacterTextSplitter(
            chunk_size=1000, chunk_overlap=200, add_start_index=True
        )
        docs = splitter.split_documents(
            [
                Document(
                    page_content=r.text,
                    metadata={
                        "release_id": r.release_id,
                        "title": r.title,
                        "date": r.date.isoformat() if r.date else "",
                    },
                )
                for r in releases
            ]
        )
        for i in range(0, len(docs), 500):
            self._store.add_documents(docs[i : i + 500])

    def ask(self, question: str, history: Sequence[Turn] = ()) -> tuple[Answer, list[str]]:
        started = time.perf_counter()
        hits = self._store.similarity_search(question, k=5)
        ranked = [h.metadata["release_id"] for h in hits]
        top = hits[0] if hits else None
        citations: tuple[Citation, ...] = ()
        if top is not None:
            start = int(top.metadata.get("start_index", 0))
            citations = (
                Citation(
                    n=1,
                    release_id=top.metadata["release_id"],
                    title=top.metadata["title"],
                    date=None,
                    url=None,
                    quote=top.page_content,
                    start=start,
                    end=start + len(top.page_content),
                ),
            )
        ms = (time.perf_counter() - started) * 1000
        return Answer(
            question=question,
            text=top.page_content if top else "",
            abstained=False,
            citations=citations,
            passages=(),
            generator=self.name,
            timings={"total": ms},
        ), ranked
