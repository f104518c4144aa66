from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes import FakeEmbedder

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("QA_BOT_CORPUS", ROOT.parent / "shared" / "corpus"))
NATO = CORPUS / "nato" / "2024-02-28-partners-meeting.fr.txt"
ISAF = CORPUS / "isaf" / "isaf-press-releases-2009-2013.jsonl"
EXAMPLES = ROOT / "examples" / "releases"


# --------------------------------------------------------------------- offline guard
_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: object) -> None:
    if self.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
        host = address[0]
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            ip = None if host != "localhost" else ipaddress.ip_address("127.0.0.1")
        if ip is None or not ip.is_loopback:
            raise OSError(f"test tried to reach the network ({address!r}): tests run offline")
    return _real_connect(self, address)


@pytest.fixture(autouse=True, scope="session")
def offline() -> Iterator[None]:
    """Any connection that leaves 127.0.0.1 fails (the Makefile also runs the suite
    in a network namespace with only loopback, where it can)."""
    socket.socket.connect = _loopback_only  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's own store, .env or cache."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    for var in (
        "QA_BOT_STORE",
        "QA_BOT_CHROMA_URL",
        "QA_BOT_EMBEDDER",
        "QA_BOT_COLLECTION",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "TIKTOKEN_CACHE_DIR",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(home)


# --------------------------------------------------------------------- components
@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not ISAF.exists():
        pytest.fail(
            f"the real corpus is missing at {CORPUS}: put ../shared beside the repo "
            "or set QA_BOT_CORPUS"
        )
    return CORPUS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    argv: list[str],
    *,
    port: int,
    log: Path,
    name: str,
    timeout: float = 60,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start a server the tests need and wait until it listens on 127.0.0.1:port."""
    out = open(log, "wb")  # noqa: SIM115  (closed when the process ends)
    proc = subprocess.Popen(
        argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    stop_server(proc)
    pytest.fail(f"{name} did not start: {log.read_text(errors='replace')[-2000:]}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    import signal

    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `chroma run` on 127.0.0.1, started for the session."""
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    if chroma is None:
        pytest.fail("the `chroma` command (from the chromadb package) is not installed")
    port = free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    proc = start_server(
        [chroma, "run", "--path", str(path / "data"), "--host", "127.0.0.1", "--port", str(port)],
        port=port,
        log=path / "server.log",
        name="chroma run",
        timeout=30,
    )
    yield f"http://127.0.0.1:{port}"
    stop_server(proc)


def run_qa_bot(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qa_bot", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=900,
    )


@pytest.fixture(scope="session")
def corpus_store(tmp_path_factory: pytest.TempPathFactory, corpus: Path) -> tuple[Path, dict]:  # type: ignore[type-arg]
    """The whole real corpus, ingested once by the real CLI with the default embedder."""
    import json

    store = tmp_path_factory.mktemp("corpus") / "store"
    done = run_qa_bot("ingest", str(corpus), "--store", str(store), "--json")
    assert done.returncode == 0, done.stderr
    return store, json.loads(done.stdout)


@pytest.fixture(scope="session")
def corpus_app(corpus_store: tuple[Path, dict]):  # type: ignore[no-untyped-def,type-arg]
    from qa_bot.app import build_app
    from qa_bot.settings import load_settings

    return build_app(
        load_settings(
            store=corpus_store[0],
            generator="extractive",
            cache_dir=corpus_store[0].parent / "cache",
        )
    )


@pytest.fixture(params=["embedded", "server"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A store maker, once embedded and once on the real `chroma run` server."""
    from qa_bot.store import ChromaStore

    collection = f"test-{uuid.uuid4().hex[:8]}"

    def make(embedder: FakeEmbedder) -> ChromaStore:
        if request.param == "server":
            url = request.getfixturevalue("chroma_server")
            return ChromaStore(embedder=embedder, collection=collection, url=url)
        return ChromaStore(embedder=embedder, collection=collection, path=tmp_path / "store")

    return make
