"""Errors a user can act on.

Every message says what went wrong and how to fix it; the CLI and the UI show
them without a traceback. Anything that is not a ``QaBotError`` is a bug.

    QaBotError
    ├── ConfigError        bad settings (collection name, embedder spec, URL)
    ├── IngestError        a file or record that cannot be read as a release
    ├── StoreError         the vector store cannot be opened, or was built differently
    │   ├── EmbedderMismatchError
    │   └── WriterBusyError    another writer held the store longer than QA_BOT_WRITE_WAIT
    ├── EmbedderError      the embedding backend failed or is not installed
    ├── GeneratorError     the answer model failed (the caller falls back)
    └── QuestionError      a question that cannot be asked (empty, too long, not text)
"""

from __future__ import annotations


class QaBotError(Exception):
    """Base class: a problem the user can fix; the message names the fix."""


class ConfigError(QaBotError):
    pass


class IngestError(QaBotError):
    pass


class StoreError(QaBotError):
    pass


class EmbedderMismatchError(StoreError):
    pass


class WriterBusyError(StoreError):
    pass


class EmbedderError(QaBotError):
    pass


class GeneratorError(QaBotError):
    pass


class QuestionError(QaBotError):
    pass
