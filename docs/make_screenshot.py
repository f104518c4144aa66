"""Rebuild ``docs/screenshot.png``: the chat over ``examples/releases``, as `make run` opens it.

usage: python docs/make_screenshot.py   (with the test tools installed: `make install-test`)

Ingests the examples into a scratch store, serves `qa-bot ui` on a free port, asks the
question below in Debian's chromium (the browser tests' launch and server helpers) and
saves the window once the answer and its source card are shown.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
QUESTION = "Who opened the meeting with NATO's partners on 28 February 2024?"


def main() -> int:
    from playwright.sync_api import sync_playwright

    from tests.conftest import EXAMPLES, free_port, start_server, stop_server
    from tests.ui.test_browser import ask, launch

    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store"
        qa_bot = [sys.executable, "-m", "qa_bot"]
        subprocess.run([*qa_bot, "ingest", str(EXAMPLES), "--store", str(store)], check=True,
                       capture_output=True)  # fmt: skip
        port = free_port()
        ui = start_server([*qa_bot, "ui", "--store", str(store), "--port", str(port)],
                          port=port, log=Path(tmp) / "streamlit.log", name="qa-bot ui")  # fmt: skip
        try:
            with sync_playwright() as pw:
                browser = launch(pw)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(f"http://127.0.0.1:{port}")
                page.get_by_text("Ask the press releases").wait_for(timeout=60_000)
                ask(page, QUESTION)
                answer = page.get_by_test_id("stChatMessage").filter(has_text="Rohling").last
                answer.wait_for(timeout=90_000)
                page.wait_for_timeout(1000)
                page.screenshot(path=str(ROOT / "docs" / "screenshot.png"))
                browser.close()
        finally:
            stop_server(ui)
    print(f"wrote {ROOT / 'docs' / 'screenshot.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
