"""Several chat servers, one Chroma server (issue 9): a release added through one chat is
answered by the other at its next question, with no restart. Two `qa-bot ui` processes on
a real `chroma run`, each driven by Debian's chromium through Playwright."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, free_port, run_qa_bot, start_server, stop_server
from tests.ui.test_browser import CHROMIUM, ask

UPLOAD = (
    "Bridge reopened in Baghlan\n\n• 14 Mar. 2013\n\n"
    "Engineers of the Afghan National Army reopened the Zardalu bridge in Baghlan province "
    "on Tuesday, three weeks after a flood had closed it."
)


@pytest.fixture
def two_chats(chroma_server: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: apt-get install chromium (make test does)")
    env = {"QA_BOT_COLLECTION": "two_readers", "QA_BOT_GENERATOR": "extractive"}
    done = run_qa_bot("ingest", str(EXAMPLES), "--chroma-url", chroma_server, env=env)
    assert done.returncode == 0, done.stderr
    procs, urls = [], []
    try:
        for name in ("a", "b"):
            port = free_port()
            procs.append(
                start_server(
                    [sys.executable, "-m", "qa_bot", "ui", "--chroma-url", chroma_server]
                    + ["--port", str(port)],
                    port=port,
                    log=tmp_path / f"ui-{name}.log",
                    name=f"qa-bot ui ({name})",
                    env={**os.environ, **env},
                )
            )
            urls.append(f"http://127.0.0.1:{port}")
        yield urls[0], urls[1]
    finally:
        for proc in procs:
            stop_server(proc)


def test_an_upload_through_one_chat_is_answered_by_the_other(
    two_chats: tuple[str, str], tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    upload = tmp_path / "bridge-reopened.txt"
    upload.write_text(UPLOAD, encoding="utf-8")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        first, second = (browser.new_page(viewport={"width": 1400, "height": 1000}) for _ in "ab")
        for page, url in ((first, two_chats[0]), (second, two_chats[1])):
            page.goto(url)
            page.get_by_text("Ask the press releases").wait_for(timeout=90_000)
        # the second chat has answered already: its index is open and warm
        ask(second, "Who opened the meeting with NATO's partners?")
        second.get_by_test_id("stChatMessage").nth(1).wait_for(timeout=90_000)

        first.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(upload))
        first.get_by_role("button", name="Add to the library").click()
        first.get_by_text("bridge-reopened.txt: added").wait_for(timeout=90_000)

        ask(second, "Which bridge did the engineers reopen in Baghlan?")
        answer = second.get_by_test_id("stChatMessage").filter(
            has_text="Engineers of the Afghan National Army reopened"
        )
        answer.last.wait_for(timeout=90_000)  # answered from the upload, no restart
        assert "Bridge reopened in Baghlan" in answer.last.inner_text()  # its source card
        browser.close()
