"""The chat in a real browser: `streamlit run` on 127.0.0.1, Debian's chromium driven by
Playwright (never `playwright install`). Screenshots go to tests/ui/screenshots/."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import CORPUS, free_port, start_server, stop_server

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "tests" / "ui" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
XSS = (
    "Security update for Camp Zulu\n\n• 5 May 2012\n\n"
    "The Camp Zulu garrison reported <script>alert(1)</script> an unusual message "
    "<img src=x onerror=alert(1)> on its notice board."
)


@pytest.fixture(scope="module")
def server(
    corpus_store: tuple[Path, dict],  # type: ignore[type-arg]
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: apt-get install chromium (make test does)")
    store = tmp_path_factory.mktemp("browser") / "store"
    shutil.copytree(corpus_store[0], store)  # all 724 releases
    port = free_port()
    env = {**os.environ, "QA_BOT_GENERATOR": "extractive"}
    # `qa-bot ui` runs `streamlit run` headless with usage statistics off
    proc = start_server(
        [sys.executable, "-m", "qa_bot", "ui", "--store", str(store), "--port", str(port)],
        port=port,
        log=store.parent / "streamlit.log",
        name="qa-bot ui",
        env=env,
    )
    yield f"http://127.0.0.1:{port}"
    stop_server(proc)


@pytest.fixture(scope="module")
def page(server: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
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
        context = browser.new_context(
            viewport={"width": 1400, "height": 1000}, accept_downloads=True
        )
        pg = context.new_page()
        pg.dialogs = []  # type: ignore[attr-defined]
        pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))  # type: ignore[attr-defined]
        pg.goto(server)
        pg.get_by_text("Ask the press releases").wait_for(timeout=60_000)
        yield pg
        browser.close()


def ask(page, question: str) -> None:  # type: ignore[no-untyped-def]
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(question)
    box.press("Enter")


def test_ask_and_see_the_cited_sentence(page) -> None:  # type: ignore[no-untyped-def]
    """The headline conversation's first turns, over the whole corpus: who opened the
    meeting (in English, then in French), then the topics."""
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
