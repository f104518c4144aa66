"""qa-bot's embedder as a LangChain ``Embeddings``, for LangChain vector stores and chains.

By default it is the embedder qa-bot is configured with (``QA_BOT_EMBEDDER``; unset, the
offline ``use-multilingual``), the one its store is built with, so a LangChain ``Chroma``
built with it holds the same vectors as qa-bot's store::

    from langchain_chroma import Chroma
    from qa_bot.langchain_embeddings import QaBotEmbeddings

    Chroma("releases", QaBotEmbeddings(), persist_directory="~/.local/share/qa-bot/store")
"""

from __future__ import annotations

from langchain_core.embeddings import Embeddings

from .embedders import Embedder, make_embedder


class QaBotEmbeddings(Embeddings):
    """qa-bot's embedder for LangChain: the one qa-bot is configured with (``QA_BOT_EMBEDDER``,
    default ``use-multilingual``), or one named by its spec, or an ``Embedder`` given.

    The model loads on the first text embedded, not when this is built.
    """

    def __init__(self, embedder: Embedder | str | None = None) -> None:
        if embedder is None or isinstance(embedder, str):
            from .settings import load_settings

            settings = load_settings()
            embedder = make_embedder(
                embedder or settings.embedder,
                openai_model=settings.embedding_model,
                api_key=settings.openai_api_key,
                base_url=settings.openai_base_url,
            )
        self.embedder = embedder

    @property
    def name(self) -> str:
        """The embedder's spec, as qa-bot's store records it."""
        return self.embedder.name

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed([text])[0]

    def __repr__(self) -> str:
        return f"QaBotEmbeddings({self.name!r})"
