"""No traceback reaches a user (issue 8): bad questions, bad settings, missing, read-only
or damaged stores and a server lost mid-session are each a QaBotError naming the fix."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from qa_bot.answering.service import check_question
from qa_bot.app import build_app
from qa_bot.errors import ConfigError, QuestionError, StoreError
from qa_bot.settings import load_settings
from tests.conftest import EXAMPLES, free_port, run_qa_bot, start_server, stop_server
from tests.fakes import FakeEmbedder

NATO = EXAMPLES / "2024-02-28-partners-meeting.fr.txt"
QUESTION = "Who opened the meeting with NATO's partners on 28 February 2024?"


@pytest.mark.parametrize("question", ["", "   ", "?!.,;:", "🙂 🎉", "— … ¿¡ ★"])
def test_questions_with_nothing_in_them_are_refused(question: str) -> None:
    with pytest.raises(QuestionError, match="Ask something"):
        check_question(question, 2000)


def test_undecodable_and_too_long_questions_are_refused() -> None:
    with pytest.raises(QuestionError, match="not UTF-8"):
        check_question("who \udcff opened", 2000)
    with pytest.raises(QuestionError, match="QA_BOT_MAX_QUESTION_CHARS"):
        check_question("why " * 600, 2000)
    check_question("Qui ?", 2000)
    check_question("2024?", 2000)


def test_a_question_must_name_something_to_look_for() -> None:
    from qa_bot.text import searchable

    for vague in ("a", "Who?", "what is it", "Qui ?", "x y z", "hello", "OK", "ISAF", "Bonjour !"):
        assert not searchable(vague), vague
    for question in (
        "2024?",
        "Qui a ouvert la réunion ?",
        "Who opened the meeting?",
        "What did ISAF say about Kunduz?",
        "Does NATO help Ukraine?",
    ):
        assert searchable(question), question


def _app(tmp: Path, **kw: object):  # type: ignore[no-untyped-def]
    settings = load_settings(store=tmp / "store", cache_dir=tmp / "cache")
    return build_app(settings, embedder=FakeEmbedder(), **kw)  # type: ignore[arg-type]


def test_unknown_generator_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="extractive.*openai"):
        _app(tmp_path).qa("nonsense")


def test_a_missing_store_is_not_created_for_reading(tmp_path: Path) -> None:
    app = _app(tmp_path, create=False)
    with pytest.raises(StoreError, match="No store at .*qa-bot ingest"):
        app.store.stats()
    assert not (tmp_path / "store").exists()


def test_a_damaged_store_says_so(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    (store / "chroma.sqlite3").write_bytes(os.urandom(100_000))
    with pytest.raises(StoreError, match="damaged.*ingest the releases again"):
        _app(tmp_path, create=False).store.stats()


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("small") / "store"
    done = run_qa_bot("ingest", str(NATO), "--store", str(store))
    assert done.returncode == 0, done.stderr
    return store


def _ask(*args: str | bytes, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qa_bot", "ask", *args],
        capture_output=True,
        text=True,
        errors="replace",
        env={**os.environ, **(env or {})},
        timeout=300,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["?!.,;:"], "Ask something"),
        (["🙂🙂"], "Ask something"),
        (["a"], "Ask about something"),
        (["What is it?"], "Ask about something"),
        ([b"who \xff\xfe opened"], "not UTF-8"),
        (["x" * 5000], "QA_BOT_MAX_QUESTION_CHARS"),
        ([QUESTION, "--generator", "nonsense"], "Unknown generator 'nonsense'"),
    ],
)
def test_cli_refuses_bad_questions_cleanly(
    small_store: Path, args: list[str | bytes], message: str
) -> None:
    done = _ask(*args, "--store", str(small_store))
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_with_json_an_error_is_json_on_stdout_too(small_store: Path) -> None:
    import json

    done = _ask("Who?", "--json", "--store", str(small_store))
    assert done.returncode == 2 and "Ask about something" in done.stderr
    error = json.loads(done.stdout)
    assert error["kind"] == "QuestionError" and "Ask about something" in error["error"]


def test_a_typo_in_the_collection_names_the_ones_the_store_holds(small_store: Path) -> None:
    for command in (["stats"], ["ask", QUESTION]):
        done = run_qa_bot(
            *command, "--store", str(small_store), env={"QA_BOT_COLLECTION": "relases"}
        )
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert "holds no collection 'relases'; it holds 'releases'" in done.stderr
    assert not (small_store / "index" / "relases").exists()  # nothing made for it


def test_cli_ask_with_a_typo_in_the_store_path(small_store: Path) -> None:
    typo = small_store.parent / "stroe"
    done = _ask(QUESTION, "--store", str(typo))
    assert done.returncode == 2 and f"No store at {typo}" in done.stderr
    assert "Traceback" not in done.stderr and not typo.exists()
    # feedback printed nothing, as if the store had no feedback
    feedback = run_qa_bot("feedback", "--store", str(typo))
    assert feedback.returncode == 2 and f"No store at {typo}" in feedback.stderr
    assert not typo.exists()


def test_cli_with_a_damaged_or_read_only_store(small_store: Path, tmp_path: Path) -> None:
    damaged = tmp_path / "damaged"
    shutil.copytree(small_store, damaged)
    with open(damaged / "chroma.sqlite3", "r+b") as fh:
        fh.truncate(40_000)
    done = _ask(QUESTION, "--store", str(damaged))
    assert done.returncode == 2 and "is damaged" in done.stderr and "Traceback" not in done.stderr

    if shutil.which("unshare") is None or subprocess.run(["unshare", "-m", "true"]).returncode:
        pytest.skip("a read-only mount needs `unshare -m` (root)")
    ro = tmp_path / "ro"
    shutil.copytree(small_store, ro)
    script = (
        f"mount --bind {ro} {ro} && mount -o remount,bind,ro {ro} && "
        f"exec {sys.executable} -m qa_bot ask 'Who opened the meeting?' --store {ro}"
    )
    done = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True)
    assert done.returncode == 2 and "read-only" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    # an ingest stops at the write lock it cannot create, with the same advice
    ingest = script.replace("ask 'Who opened the meeting?'", f"ingest {NATO}")
    done = subprocess.run(["unshare", "-m", "sh", "-c", ingest], capture_output=True, text=True)
    assert done.returncode == 2 and "read-only" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_cli_with_a_model_that_fails_prints_the_answer_once(small_store: Path) -> None:
    done = _ask(
        QUESTION,
        "--store",
        str(small_store),
        env={"OPENAI_BASE_URL": f"http://127.0.0.1:{free_port()}/v1", "OPENAI_API_KEY": "x"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("a ouvert la réunion") == 2  # the answer, then its quote
    assert done.stdout.count("\n[1] ") == 1 and "Note:" in done.stderr  # one list of sources


def test_cli_with_a_model_shows_only_checked_markers(small_store: Path, tmp_path: Path) -> None:
    from tests.qa_bot.test_llm import _start_server

    proc, url = _start_server(tmp_path)
    try:
        done = _ask(
            QUESTION,
            "--store",
            str(small_store),
            env={"OPENAI_BASE_URL": url, "QA_BOT_CHAT_MODEL": "smollm2", "OPENAI_API_KEY": "x"},
        )
    finally:
        stop_server(proc)
    assert done.returncode == 0, done.stderr
    text, _, sources = done.stdout.partition("\n\n[1] ")
    listed = {"1", *re.findall(r"^\[(\d+)\] ", sources, flags=re.M)} if sources else set()
    assert set(re.findall(r"\[(\d+)\]", text)) <= listed, done.stdout


@pytest.mark.server
def test_a_chroma_server_lost_mid_session(tmp_path: Path) -> None:
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent))
    assert chroma is not None
    port = free_port()
    proc = start_server(
        [chroma, "run", "--path", str(tmp_path / "data"), "--port", str(port)],
        port=port,
        log=tmp_path / "chroma.log",
        name="chroma run",
    )
    try:
        settings = load_settings(chroma_url=f"http://127.0.0.1:{port}", cache_dir=tmp_path)
        app = build_app(settings, embedder=FakeEmbedder())
        assert app.store.stats().releases == 0
    finally:
        stop_server(proc)
    with pytest.raises(StoreError, match="Lost the Chroma server .*chroma run"):
        app.store.stats()
    with pytest.raises(StoreError, match="Lost the Chroma server"):
        app.retriever.search("Who opened the meeting?", k=3)
