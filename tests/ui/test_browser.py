"""The chat in a real browser: `streamlit run` on 127.0.0.1, Debian's chromium driven by
Playwright (never `playwright install`). Screenshots go to tests/ui/screenshots/."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CORPUS, free_port, start_server, stop_server
from tests.openai_script import ScriptedServer
from tests.qa_bot.test_grounded import MIXED, NATO_Q, UNCITED

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "tests" / "ui" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
XSS = (
    "Security update for Camp Zulu\n\n• 5 May 2012\n\n"
    "The Camp Zulu garrison reported <script>alert(1)</script> an unusual message "
    "<img src=x onerror=alert(1)> on its notice board."
)


@contextlib.contextmanager
def _serve(corpus_store: Path, tmp: Path, env: dict[str, str]) -> Iterator[str]:
    """`qa-bot ui` over a copy of the whole corpus's store, with ``env`` added."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: apt-get install chromium (make test does)")
    store = tmp / "store"
    shutil.copytree(corpus_store, store)  # all 724 releases
    port = free_port()
    # `qa-bot ui` runs `streamlit run` headless with usage statistics off
    proc = start_server(
        [sys.executable, "-m", "qa_bot", "ui", "--store", str(store), "--port", str(port)],
        port=port,
        log=tmp / "streamlit.log",
        name="qa-bot ui",
        env={**os.environ, **env},
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_server(proc)


def launch(pw: Any) -> Any:
    """Debian's chromium, headless, quiet (no network of its own, no first-run pages)."""
    return pw.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One chromium for the module (Playwright's sync API runs one at a time)."""
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        chromium = launch(pw)
        yield chromium
        chromium.close()


@contextlib.contextmanager
def _browse(browser: Any, url: str) -> Iterator[Any]:
    """A fresh browser context on the chat at ``url``."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    pg.dialogs = []
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    pg.goto(url)
    pg.get_by_text("Ask the press releases").wait_for(timeout=60_000)
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture(scope="module")
def server(
    corpus_store: tuple[Path, dict],  # type: ignore[type-arg]
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("browser")
    with _serve(corpus_store[0], tmp, {"QA_BOT_GENERATOR": "extractive"}) as url:
        yield url


@pytest.fixture(scope="module")
def page(browser: Any, server: str) -> Iterator[Any]:
    with _browse(browser, server) as pg:
        yield pg


def ask(page, question: str) -> None:  # type: ignore[no-untyped-def]
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(question)
    box.press("Enter")


def test_ask_and_see_the_cited_sentence(page) -> None:  # type: ignore[no-untyped-def]
    """The headline conversation over the whole corpus: who opened the meeting (in English,
    then in French), the topics, who spoke after him; then a reload keeps it."""
    ask(page, "Who opened the meeting?")
    answer = page.get_by_test_id("stChatMessage").filter(has_text="Rohling").last
    answer.wait_for(timeout=90_000)
    assert "a ouvert la réunion" in answer.inner_text()
    assert "[1]" in answer.inner_text()
    assert "Des représentants de l’OTAN" in answer.inner_text()  # the source card's title
    # the card names the release's file, never where it lies on the server
    assert "2024-02-28-partners-meeting.fr.txt" in answer.inner_text()
    assert str(CORPUS) not in page.content() and "/nato/" not in answer.inner_text()
    page.screenshot(path=str(SHOTS / "chat-answer.png"), full_page=True)
    ask(page, "Qui a ouvert la réunion ?")
    page.get_by_test_id("stChatMessage").filter(has_text="Rohling").nth(1).wait_for(timeout=90_000)
    ask(page, "Quels sujets ont été abordés ?")
    topics = page.get_by_test_id("stChatMessage").filter(has_text="partenariats stratégiques")
    topics.last.wait_for(timeout=90_000)
    assert "renforcement des capacités" in topics.last.inner_text()
    ask(page, "Et qui a parlé après lui ?")
    after = page.get_by_test_id("stChatMessage").filter(has_text="a ensuite pris la parole")
    after.last.wait_for(timeout=90_000)
    assert "Serban" in after.last.inner_text()
    # a reload brings the conversation back: its id is in the address
    assert "?c=" in page.url
    page.reload()
    page.get_by_test_id("stChatMessage").filter(has_text="a ensuite pris la parole").last.wait_for(
        timeout=90_000
    )
    # a product, not a dev server: no Deploy button
    assert page.get_by_text("Deploy", exact=True).count() == 0
    assert page.get_by_test_id("stAppDeployButton").count() == 0


def test_upload_then_ask_and_nothing_runs(page) -> None:  # type: ignore[no-untyped-def]
    upload = SHOTS / "camp-zulu.txt"
    upload.write_text(XSS, encoding="utf-8")
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(upload))
    page.get_by_role("button", name="Add to the library").click()
    page.get_by_text("camp-zulu.txt: added").wait_for(timeout=90_000)
    ask(page, "What did the Camp Zulu garrison report on its notice board?")
    answer = page.get_by_test_id("stChatMessage").filter(has_text="garrison reported").last
    answer.wait_for(timeout=90_000)
    text = answer.inner_text()
    assert "<script>alert(1)</script>" in text and "<img src=x onerror=alert(1)>" in text
    assert page.locator("img[src='x']").count() == 0
    assert page.evaluate("document.querySelectorAll('script:not([src])').length") <= 1
    page.wait_for_timeout(1000)
    assert page.dialogs == []  # type: ignore[attr-defined]  # no alert() ran
    page.screenshot(path=str(SHOTS / "upload-escaped.png"), full_page=True)


def test_download_the_briefing_note(page) -> None:  # type: ignore[no-untyped-def]
    with page.expect_download() as download:
        page.get_by_role("button", name="Download Markdown").click()
    path = download.value.path()
    note = Path(path).read_text(encoding="utf-8")
    assert note.startswith("# Briefing note")
    assert "## Who opened the meeting?" in note
    assert "[^1]:" in note and "Rohling" in note and "2024-02-28" in note


# ------------------------------------------------ a model that cites badly (issue 10)
@pytest.fixture(scope="module")
def scripted() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def model_page(
    corpus_store: tuple[Path, dict],  # type: ignore[type-arg]
    tmp_path_factory: pytest.TempPathFactory,
    scripted: ScriptedServer,
    browser: Any,
) -> Iterator[object]:
    """The chat with the scripted OpenAI-compatible server as its model."""
    env = {
        "OPENAI_BASE_URL": scripted.url,
        "QA_BOT_CHAT_MODEL": "scripted",
        "QA_BOT_GENERATOR": "openai",
    }
    with _serve(corpus_store[0], tmp_path_factory.mktemp("browser-model"), env) as url:
        with _browse(browser, url) as pg:
            yield pg


def _answered(page, question: str, notice: str):  # type: ignore[no-untyped-def]
    """Ask, and wait for the finished answer: the message that holds its notice."""
    ask(page, question)
    answer = page.get_by_test_id("stChatMessage").filter(has_text=notice).last
    answer.wait_for(timeout=90_000)
    return answer


def test_a_mixed_answer_keeps_only_its_cited_sentence(model_page, scripted) -> None:  # type: ignore[no-untyped-def]
    """Rohling's meeting [n], Mickey Mouse [7], Mons [99]: the browser shows only the
    backed sentence with its source card, and a notice that two were dropped."""
    scripted.reply = MIXED
    answer = _answered(model_page, NATO_Q, "2 of the 3 sentences the model")
    text = answer.inner_text()
    assert "'scripted'" in text and "were dropped" in text
    assert answer.get_by_test_id("stAlert").count() == 1  # shown as a warning
    assert "28 February 2024" in text and "[1]" in text
    assert "Mickey" not in text and "It was held in Mons" not in text and "[7]" not in text
    assert "Des représentants de l’OTAN" in text  # the cited release's source card
    model_page.screenshot(path=str(SHOTS / "chat-model-dropped.png"), full_page=True)


def test_an_uncited_answer_is_replaced_by_the_offline_one(model_page, scripted) -> None:  # type: ignore[no-untyped-def]
    scripted.reply = UNCITED
    answer = _answered(
        model_page,
        "Who opened the meeting with NATO's partners on 28 February 2024?",
        "showing the offline answer instead",
    )
    text = answer.inner_text()
    assert "'scripted'" in text and "1 cite no release" in text
    assert "Secretary General" not in model_page.content()
    assert "Rohling" in text and "[1]" in text  # the offline answer, cited
    model_page.screenshot(path=str(SHOTS / "chat-model-replaced.png"), full_page=True)


def test_the_briefing_note_says_what_the_chat_said(model_page) -> None:  # type: ignore[no-untyped-def]
    with model_page.expect_download() as download:
        model_page.get_by_role("button", name="Download Markdown").click()
    note = Path(download.value.path()).read_text(encoding="utf-8")
    assert "> **Note:** 2 of the 3 sentences the model 'scripted'" in note
    assert "wrote no sentence that the releases back" in note
    assert "Mickey" not in note and "Secretary General" not in note
