"""`qa-bot ui` hands its process over to Streamlit: a service manager's SIGTERM (or Ctrl-C's
SIGINT) stops the server itself and leaves nothing running (issue 8)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port


def _serving(port: int) -> list[int]:
    """Processes whose command line serves this port."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--server.port" in argv and str(port).encode() in argv:
            pids.append(int(entry.name))
    return pids


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_qa_bot_ui_leaves_no_process_behind(tmp_path: Path, sig: int) -> None:
    port = free_port()
    log = open(tmp_path / "ui.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "qa_bot", "ui", "--store", str(tmp_path / "s"), "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        # up when its health check answers: Streamlit binds the port, prints its URLs and
        # only then installs its signal handlers (streamlit/web/bootstrap.py). Signalled as
        # soon as the port opened, a CI run once timed out waiting for it to exit
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/_stcore/health", timeout=1
                ) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                assert proc.poll() is None, (tmp_path / "ui.log").read_text()
                time.sleep(0.2)
        assert _serving(port) == [proc.pid]  # one process: qa-bot became the server
        os.kill(proc.pid, sig)
        assert proc.wait(timeout=20) is not None
        time.sleep(0.5)
        assert _serving(port) == []
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    finally:
        for pid in _serving(port):
            os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
        log.close()
