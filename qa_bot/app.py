"""The composition root: builds every object from Settings, once.

The CLI calls :func:`build_app` once per command; the UI caches it with
``st.cache_resource``. Nothing else reads settings or constructs backends.
"""

from __future__ import annotations

from dataclasses import dataclass

from .embedders import Embedder, make_embedder
from .settings import Settings
from .store import ChromaStore
from .tokens import TokenCounter


@dataclass
class App:
    settings: Settings
    embedder: Embedder
    store: ChromaStore
    tokens: TokenCounter


def build_app(settings: Settings, *, embedder: Embedder | None = None) -> App:
    """Everything the CLI and UI need, from settings (``embedder`` overrides, for tests)."""
    embedder = embedder or make_embedder(
        settings.embedder,
        openai_model=settings.embedding_model,
        api_key=settings.openai_api_key,
        base_url=settings.openai_base_url,
    )
    store = ChromaStore(
        embedder=embedder,
        collection=settings.collection,
        path=None if settings.chroma_url else settings.store,
        url=settings.chroma_url,
    )
    tokens = TokenCounter(encoding=settings.tokenizer, cache_dir=settings.cache_dir / "tiktoken")
    return App(settings=settings, embedder=embedder, store=store, tokens=tokens)
