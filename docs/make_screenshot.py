"""Rebuild ``docs/screenshot.png``: the chat over ``examples/releases``, as `make run` opens it.

usage: python docs/make_screenshot.py

Ingests the examples into a scratch store, serves `qa-bot ui` on a free port, asks the
question below in Debian's chromium (headless, through Playwright; never `playwright
install`) and saves the window once the answer and its source card are shown.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "Who opened the meeting with NATO's partners on 28 February 2024?"
CHROMIUM = "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store"
        qa_bot = [sys.executable, "-m", "qa_bot"]
        subprocess.run([*qa_bot, "ingest", str(ROOT / "examples" / "releases"), "--store",
                        str(store)], check=True, capture_output=True)  # fmt: skip
        port = free_port()
        ui = subprocess.Popen([*qa_bot, "ui", "--store", str(store), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(120):
                try:
                    urllib.request.urlopen(url, timeout=1)
                    break
                except OSError:
                    time.sleep(0.5)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=CHROMIUM,
                    headless=True,
                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                          "--disable-component-update", "--disable-sync", "--no-first-run"],
                )  # fmt: skip
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(url)
                page.get_by_text("Ask the press releases").wait_for(timeout=60_000)
                box = page.get_by_test_id("stChatInputTextArea")
                box.fill(QUESTION)
                box.press("Enter")
                answer = page.get_by_test_id("stChatMessage").filter(has_text="Rohling").last
                answer.wait_for(timeout=90_000)
                page.wait_for_timeout(1000)
                page.screenshot(path=str(ROOT / "docs" / "screenshot.png"))
                browser.close()
        finally:
            ui.terminate()
            ui.wait(timeout=30)
    print(f"wrote {ROOT / 'docs' / 'screenshot.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
