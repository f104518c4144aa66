"""Our embedders as registered Chroma embedding functions.

Registering them means a collection reopened in a new process (or by any
Chroma client that imports this module) rebuilds the same embedder from the
configuration Chroma stored with the collection. Keys are never stored: the
OpenAI function reads OPENAI_API_KEY from the environment when rebuilt.
"""

from __future__ import annotations

import os
from typing import Any

from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

from ..embedders import (
    Embedder,
    OpenAIEmbedder,
    SentenceTransformerEmbedder,
    UseMultilingualEmbedder,
)


class _EmbedderFunction(EmbeddingFunction[Documents]):
    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def __call__(self, input: Documents) -> Embeddings:
        import numpy as np

        return [np.asarray(v, dtype=np.float32) for v in self.embedder.embed(list(input))]

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "l2", "ip"]


@register_embedding_function
class UseMultilingualFunction(_EmbedderFunction):
    @staticmethod
    def name() -> str:
        return "qa_bot_use_multilingual"

    def get_config(self) -> dict[str, Any]:
        return {"embedder": "use-multilingual"}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> UseMultilingualFunction:
        return UseMultilingualFunction(UseMultilingualEmbedder())


@register_embedding_function
class OpenAIFunction(_EmbedderFunction):
    @staticmethod
    def name() -> str:
        return "qa_bot_openai"

    def get_config(self) -> dict[str, Any]:
        embedder = self.embedder
        assert isinstance(embedder, OpenAIEmbedder)
        return {"embedder": embedder.name, "model": embedder.model, "base_url": embedder._base_url}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> OpenAIFunction:
        embedder = OpenAIEmbedder(
            model=config["model"],
            api_key=os.environ.get("OPENAI_API_KEY"),
            base_url=config.get("base_url") or os.environ.get("OPENAI_BASE_URL") or "unset",
        )
        embedder.name = config["embedder"]
        return OpenAIFunction(embedder)


@register_embedding_function
class SentenceTransformerFunction(_EmbedderFunction):
    @staticmethod
    def name() -> str:
        return "qa_bot_sentence_transformers"

    def get_config(self) -> dict[str, Any]:
        embedder = self.embedder
        assert isinstance(embedder, SentenceTransformerEmbedder)
        return {"embedder": embedder.name, "model": embedder.model}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> SentenceTransformerFunction:
        return SentenceTransformerFunction(SentenceTransformerEmbedder(model=config["model"]))


def function_for(embedder: Embedder) -> _EmbedderFunction:
    """The registered Chroma embedding function wrapping ``embedder``."""
    if isinstance(embedder, OpenAIEmbedder):
        return OpenAIFunction(embedder)
    if isinstance(embedder, SentenceTransformerEmbedder):
        return SentenceTransformerFunction(embedder)
    if isinstance(embedder, UseMultilingualEmbedder):
        return UseMultilingualFunction(embedder)
    # our own seam (tests, plug-ins): stored by name; reopened with the embedder it is given
    return _Unregistered(embedder)


class _Unregistered(_EmbedderFunction):
    @staticmethod
    def name() -> str:
        return "qa_bot_custom"

    def get_config(self) -> dict[str, Any]:
        return {"embedder": self.embedder.name}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> _Unregistered:
        raise NotImplementedError("custom embedders are passed in, not rebuilt from config")

    def is_legacy(self) -> bool:
        return True
