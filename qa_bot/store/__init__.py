"""Where releases and their chunks live: Chroma, embedded or a server."""

from .chroma import ChromaStore

__all__ = ["ChromaStore"]
