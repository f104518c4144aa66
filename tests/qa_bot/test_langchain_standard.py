"""qa-bot's LangChain pieces through LangChain's own standard tests (``langchain-tests``),
then what a LangChain user notices beyond them: filters per call, the store opened by
path, vectors that are the store's own."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_tests.integration_tests import (
    EmbeddingsIntegrationTests,
    RetrieversIntegrationTests,
)
from langchain_tests.unit_tests import EmbeddingsUnitTests

from qa_bot.errors import StoreError
from qa_bot.langchain_embeddings import QaBotEmbeddings
from qa_bot.langchain_retriever import ReleaseRetriever
from qa_bot.types import Filters

QUERY = "precision strike near the Ariana hotel in Kunduz"
PARTNERS = "Who opened the meeting with NATO's partners?"


# --------------------------------------------------------------------- standard suites
class TestReleaseRetrieverStandard(RetrieversIntegrationTests):
    """Over the real 724-release store, ingested once by the real CLI."""

    @pytest.fixture(autouse=True)
    def _corpus(self, corpus_app: Any) -> None:
        self._retriever = corpus_app.retriever

    @property
    def retriever_constructor(self) -> type[ReleaseRetriever]:
        return ReleaseRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"retriever": self._retriever}

    @property
    def retriever_query_example(self) -> str:
        return QUERY


class TestQaBotEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[QaBotEmbeddings]:
        return QaBotEmbeddings

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        # QA_BOT_EMBEDDER chooses the embedder, as for qa-bot itself (built lazily: no request)
        return (
            {
                "QA_BOT_EMBEDDER": "openai:text-embedding-3-small",
                "OPENAI_BASE_URL": "http://127.0.0.1:9",
            },
            {},
            {"name": "openai:text-embedding-3-small"},
        )


class TestQaBotEmbeddingsIntegration(EmbeddingsIntegrationTests):
    """The default embedder (use-multilingual, offline), as a user builds it: no arguments."""

    @property
    def embeddings_class(self) -> type[QaBotEmbeddings]:
        return QaBotEmbeddings


# --------------------------------------------------------------------- beyond them
@pytest.fixture
def retriever(corpus_app: Any) -> ReleaseRetriever:
    return ReleaseRetriever(retriever=corpus_app.retriever, k=4)


def _ids(docs: list[Document]) -> list[str]:
    return [d.metadata["release_id"] for d in docs]


def test_filters_given_at_call_time(retriever: ReleaseRetriever) -> None:
    french = retriever.invoke(PARTNERS, filters={"languages": ["fr"]})
    assert french and {d.metadata["language"] for d in french} == {"fr"}
    assert french[0].metadata["release_id"] == "2024-02-28-partners-meeting.fr"

    in_2010 = retriever.invoke(QUERY, k=2, filters={"since": "2010-07-01", "until": "2010-07-31"})
    assert len(in_2010) == 2
    assert all("2010-07-01" <= d.metadata["date"] <= "2010-07-31" for d in in_2010)

    one = retriever.invoke(QUERY, filters=Filters(release_ids=(_ids(in_2010)[1],)))
    assert set(_ids(one)) == {_ids(in_2010)[1]}


def test_call_time_filters_replace_the_constructor_filters(corpus_app: Any) -> None:
    english_only = ReleaseRetriever(retriever=corpus_app.retriever, filters={"languages": ["en"]})
    assert "2024-02-28-partners-meeting.fr" not in _ids(english_only.invoke(PARTNERS))
    assert _ids(english_only.invoke(PARTNERS, filters={"languages": ["fr"]}))[0] == (
        "2024-02-28-partners-meeting.fr"
    )
    assert english_only.invoke(PARTNERS, k=1)[0].metadata["language"] == "en"


def test_ainvoke_honours_k_and_filters(retriever: ReleaseRetriever) -> None:
    async def both() -> tuple[list[Document], list[Document]]:
        return (
            await retriever.ainvoke(QUERY, k=1),
            await retriever.ainvoke(PARTNERS, k=2, filters={"languages": ["fr"]}),
        )

    one, french = asyncio.run(both())
    assert len(one) == 1 and "Ariana" in one[0].page_content
    assert len(french) == 2 and {d.metadata["language"] for d in french} == {"fr"}


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"top_k": 2}, "top_k"),
        ({"k": 0}, "k must be a positive integer"),
        ({"filters": {"langs": ["fr"]}}, "unknown filters ['langs']"),
        ({"filters": {"since": "last year"}}, "since"),
    ],
)
def test_a_wrong_argument_is_refused_not_ignored(
    retriever: ReleaseRetriever, kwargs: dict[str, Any], error: str
) -> None:
    with pytest.raises((TypeError, ValueError), match=error.replace("[", r"\[")):
        retriever.invoke(QUERY, **kwargs)


def test_retriever_over_an_existing_store_by_path(corpus_store: tuple[Any, Any]) -> None:
    """The README's three lines: the store opened by its path, with a filter."""
    retriever = ReleaseRetriever(store=corpus_store[0], k=2, filters={"since": dt.date(2024, 1, 1)})
    docs = retriever.invoke(PARTNERS)
    assert len(docs) == 2 and all(d.metadata["date"] >= "2024-01-01" for d in docs)
    assert _ids(docs)[0] == "2024-02-28-partners-meeting.fr"


def test_a_store_path_that_holds_no_store_is_refused(tmp_path: Path) -> None:
    retriever = ReleaseRetriever(store=tmp_path / "typo")
    with pytest.raises(StoreError, match="No store at .*typo"):
        retriever.invoke(QUERY)
    assert not (tmp_path / "typo").exists()


def test_embeddings_are_the_vectors_of_the_store(corpus_app: Any) -> None:
    """A LangChain Chroma opened on qa-bot's store with QaBotEmbeddings: the vectors are the
    ones qa-bot stored, and a search finds the sentences qa-bot's own dense search finds."""
    from chromadb.config import Settings as ChromaSettings
    from langchain_chroma import Chroma

    store = corpus_app.store
    meta, sentence = next(iter(store.all_chunks()))
    stored = store.embeddings([meta["chunk_id"]])[meta["chunk_id"]]
    assert QaBotEmbeddings().embed_query(sentence) == pytest.approx(stored, abs=1e-4)

    chroma = Chroma(
        collection_name=corpus_app.settings.collection,
        embedding_function=QaBotEmbeddings(),
        persist_directory=str(corpus_app.settings.store),
        # the settings qa-bot opens its store with, as it is open in this process too
        client_settings=ChromaSettings(anonymized_telemetry=False),
    )
    found = chroma.similarity_search(QUERY, k=3)
    vector = corpus_app.embedder.embed([QUERY])[0]
    ours = store.query(vector, k=3, where=None)
    assert [d.id for d in found] == [m["chunk_id"] for m, _ in ours]
    # Chroma's graph is approximate (and built in an order that varies from ingest to
    # ingest): its first hit is among the ten best of qa-bot's exact search, not always the
    # best (a CI run found the fifth first)
    snap = corpus_app.retriever.snapshot
    best = [pos for pos, _ in snap.dense(vector, k=10, mask=snap.live)]
    assert snap.release_of_row(best[0]).startswith("isaf-2010-07")
    assert (found[0].metadata["release_id"], found[0].metadata["position"]) in {
        (snap.release_of_row(pos), snap.row(pos)[4]) for pos in best
    }
