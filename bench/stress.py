"""Concurrent writers (issue 8): 3 ingests of disjoint thirds of the corpus at once, with a
reader asking and searching beside them, on the embedded store and on a real `chroma run`
server; in one run of each set one ingest is killed with SIGKILL midway.

    python bench/stress.py [--runs 10] [--backend both|embedded|server] [--seed 8]

Each run starts from an empty store; the ingests start at random offsets (0-4 s). On the
server, each ingest and the reader has its own cache directory, as on four machines (their
search indexes are their own and no lock is shared: only the store's run ownership keeps
them apart); on the embedded store they share the store's lock. After the ingests end, a
check counts the releases whose chunks are missing and those the search index does not
hold; then one re-ingest of the three thirds (in one process) must repair what is missing,
and the store must then hold what a serial ingest of the same files holds.

Goals: 0 reader crashes (an exception that is not a QaBotError, or a process killed by a
signal), 0 releases without chunks, final stats equal to the serial ingest.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("QA_BOT_CORPUS", ROOT.parent / "shared" / "corpus"))
QUESTIONS = [
    "Who opened the meeting with NATO's partners on 28 February 2024?",
    "What happened in Kandahar province?",
    "How many insurgents were detained in Helmand?",
    "Qui a ouvert la réunion ?",
    "Which Taliban leader was killed in Ghazni?",
]
PYTHON = sys.executable


# ---------------------------------------------------------------------- the corpus
def split_corpus(corpus: Path, out: Path) -> list[Path]:
    """Three files holding disjoint thirds of the corpus's releases."""
    out.mkdir(parents=True, exist_ok=True)
    records: list[str] = []
    others: list[Path] = []
    for path in sorted(corpus.rglob("*")):
        if not path.is_file() or path.name.lower().startswith("readme"):
            continue
        if path.suffix == ".jsonl":
            text = path.read_text(encoding="utf-8")
            records += [line for line in text.split("\n") if line.strip()]
        else:
            others.append(path)
    if not records:
        raise SystemExit(f"no JSONL releases under {corpus}: give --corpus or QA_BOT_CORPUS")
    parts = []
    for i in range(3):
        folder = out / f"third{i}"
        folder.mkdir(exist_ok=True)
        (folder / "releases.jsonl").write_text("\n".join(records[i::3]) + "\n", encoding="utf-8")
        for other in others[i::3]:
            shutil.copy(other, folder / other.name)
        parts.append(folder)
    return parts


# ---------------------------------------------------------------------- the reader
def reader(args: argparse.Namespace) -> None:
    """Ask and search until the stop file appears; write counts as JSON."""
    from qa_bot.app import build_app
    from qa_bot.errors import QaBotError
    from qa_bot.settings import load_settings

    stop = Path(args.stop)
    counts: dict[str, object] = {"asks": 0, "searches": 0, "clean_errors": 0, "crashes": 0}
    errors: dict[str, int] = {}
    crashes: list[str] = []
    app = None
    i = 0
    while not stop.exists():
        i += 1
        try:
            if app is None:
                app = build_app(
                    load_settings(
                        store=args.store, chroma_url=args.chroma_url, generator="extractive"
                    ),
                    create=False,
                )
            question = QUESTIONS[i % len(QUESTIONS)]
            if i % 2:
                app.qa().ask(question)
                counts["asks"] = int(counts["asks"]) + 1  # type: ignore[call-overload]
            else:
                app.retriever.search(question, k=5)
                counts["searches"] = int(counts["searches"]) + 1  # type: ignore[call-overload]
        except QaBotError as exc:  # a message for the user (e.g. no store yet): not a crash
            counts["clean_errors"] = int(counts["clean_errors"]) + 1  # type: ignore[call-overload]
            head = str(exc)[:90]
            errors[head] = errors.get(head, 0) + 1
            if "No store at" in head or "Cannot reach" in head:
                app = None
            time.sleep(0.2)
        except Exception:
            counts["crashes"] = int(counts["crashes"]) + 1  # type: ignore[call-overload]
            crashes.append(traceback.format_exc()[-1500:])
            app = None
    counts["errors"] = errors
    counts["crash_tracebacks"] = crashes[:5]
    Path(args.out).write_text(json.dumps(counts, indent=1), encoding="utf-8")


# ---------------------------------------------------------------------- the check
def check(args: argparse.Namespace) -> None:
    """Releases without (all) their chunks, and releases the search index does not hold."""
    from qa_bot.app import build_app
    from qa_bot.settings import load_settings

    app = build_app(load_settings(store=args.store, chroma_url=args.chroma_url), create=False)
    store = app.store
    registry = store.release_index()
    found: dict[tuple[str, str], int] = {}
    for meta, _ in store.all_chunks():
        key = (str(meta.get("release_id")), str(meta.get("version")))
        found[key] = found.get(key, 0) + 1
    missing = sorted(
        rid for rid, info in registry.items() if found.get((rid, info.version), 0) < info.chunks
    )
    snap = app.retriever.snapshot
    unsearchable = sorted(
        rid
        for rid, info in registry.items()
        if (got := snap.release(rid)) is None or got[0] != info.version
    )
    print(
        json.dumps(
            {
                "releases": len(registry),
                "chunks": store.count_chunks(),
                "named_chunks": sum(i.chunks for i in registry.values()),
                "without_chunks": missing,
                "unsearchable": unsearchable,
            }
        )
    )


# ---------------------------------------------------------------------- a run
@dataclass
class Result:
    backend: str
    run: int
    offsets: list[float]
    killed: str = ""
    codes: list[int] = field(default_factory=list)
    asks: int = 0
    clean_errors: int = 0
    crashes: int = 0
    after: dict = field(default_factory=dict)  # type: ignore[type-arg]
    reingest: dict = field(default_factory=dict)  # type: ignore[type-arg]
    final: dict = field(default_factory=dict)  # type: ignore[type-arg]
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A real `chroma run` on 127.0.0.1 with its own data directory."""

    def __init__(self, path: Path) -> None:
        chroma = shutil.which("chroma", path=str(Path(PYTHON).parent)) or "chroma"
        self.port = free_port()
        self.log = open(path.with_suffix(".log"), "wb")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            [chroma, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.5),
            ):
                return
            time.sleep(0.2)
        raise SystemExit(f"chroma run did not start on port {self.port}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.log.close()


def env_for(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QA_BOT_", "OPENAI_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    env["XDG_CACHE_HOME"] = str(cache)
    return env


def target(store: Path | None, url: str | None) -> list[str]:
    return ["--chroma-url", url] if url else ["--store", str(store)]


def lock_holder(lock: Path) -> int | None:
    """The pid holding a flock on ``lock`` (from /proc/locks), if any."""
    try:
        inode = lock.stat().st_ino
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split()
        if len(parts) >= 6 and parts[1] == "FLOCK" and parts[5].endswith(f":{inode}"):
            if "->" not in line:  # a holder, not a waiter
                return int(parts[4])
    return None


def written(data: Path) -> int:
    """How many records were written to a Chroma directory so far (its log's last seq)."""
    import sqlite3

    try:
        db = sqlite3.connect(f"file:{data / 'chroma.sqlite3'}?mode=ro", uri=True, timeout=1)
        try:
            row = db.execute("SELECT MAX(seq_id) FROM embeddings_queue").fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return 0
    return int(row[0] or 0)


def ingest_cmd(part: Path, where: list[str]) -> list[str]:
    return [PYTHON, "-m", "qa_bot", "ingest", str(part), *where, "--json"]


def one_run(
    backend: str, run: int, parts: list[Path], work: Path, rng: random.Random, kill: bool
) -> Result:
    started = time.monotonic()
    base = work / f"{backend}-{run}"
    base.mkdir(parents=True)
    server = Server(base / "chroma") if backend == "server" else None
    store = None if server else base / "store"
    url = server.url if server else None
    where = target(store, url)
    # the server's writers are as on three machines (own caches, own indexes, no shared
    # lock); the embedded store's share this machine's cache and the store's lock
    caches = [base / f"cache{i}" for i in range(4)] if server else [base / "cache"] * 4
    stop = base / "stop"
    reader_out = base / "reader.json"
    result = Result(backend, run, offsets=[round(rng.uniform(0, 4), 1) for _ in parts])
    procs: list[subprocess.Popen[bytes] | None] = [None] * len(parts)
    logs = [open(base / f"ingest{i}.out", "wb") for i in range(len(parts))]  # noqa: SIM115
    reader_proc = subprocess.Popen(
        [PYTHON, __file__, "reader", "--stop", str(stop), "--out", str(reader_out), *where],
        env=env_for(caches[3]),
        stdout=subprocess.DEVNULL,
        stderr=open(base / "reader.err", "wb"),  # noqa: SIM115
    )
    reader_restarts = 0
    # "midway": once the victim has begun writing and some hundred records more went into
    # the store (an ingest embeds ahead, so a third of the corpus is written in its last
    # seconds); on the embedded store the victim is the ingest that holds the lock
    kill_after = rng.randrange(300, 1500) if kill else None
    victim = rng.randrange(len(parts)) if kill else None
    data = store if store is not None else base / "chroma"
    holder: tuple[int | None, int] = (None, 0)
    t0 = time.monotonic()
    try:
        while True:
            now = time.monotonic() - t0
            for i, part in enumerate(parts):
                if procs[i] is None and now >= result.offsets[i]:
                    procs[i] = subprocess.Popen(
                        ingest_cmd(part, where),
                        env=env_for(caches[i]),
                        stdout=logs[i],
                        stderr=subprocess.STDOUT,
                    )
            if kill_after is not None:
                running = [p for p in procs if p is not None and p.poll() is None]
                chosen = None
                if store is not None:
                    pid = lock_holder(store / "index" / "releases" / "write.lock")
                    if pid != holder[0]:
                        holder = (pid, written(data))
                    if pid is not None and written(data) - holder[1] >= kill_after:
                        chosen = next((p for p in running if p.pid == pid), None)
                elif victim is not None and procs[victim] is not None:
                    if holder[0] is None:
                        holder = (procs[victim].pid, written(data))  # type: ignore[union-attr]
                    if written(data) - holder[1] >= kill_after:
                        chosen = procs[victim] if procs[victim] in running else None
                if chosen is not None:
                    chosen.send_signal(signal.SIGKILL)
                    result.killed = f"ingest {procs.index(chosen)} at {now:.1f} s"
                    kill_after = None
                elif not running and all(p is not None for p in procs):
                    result.notes.append("nothing left to kill")
                    kill_after = None
            if reader_proc.poll() is not None:  # died by a signal or otherwise: a crash
                result.crashes += 1
                reader_restarts += 1
                result.notes.append(f"reader exited {reader_proc.returncode}")
                reader_proc = subprocess.Popen(
                    [
                        PYTHON,
                        __file__,
                        "reader",
                        "--stop",
                        str(stop),
                        "--out",
                        str(reader_out),
                        *where,
                    ],
                    env=env_for(caches[3]),
                    stdout=subprocess.DEVNULL,
                    stderr=open(base / f"reader{reader_restarts}.err", "wb"),  # noqa: SIM115
                )
            if all(p is not None and p.poll() is not None for p in procs):
                break
            time.sleep(0.1)
        result.codes = [p.returncode for p in procs if p is not None]
        time.sleep(1.0)  # the reader also reads the finished store
        stop.touch()
        try:
            reader_proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            reader_proc.kill()
            result.notes.append("reader did not stop")
        if reader_proc.returncode != 0:
            result.crashes += 1
            result.notes.append(f"reader exited {reader_proc.returncode}")
        if reader_out.exists():
            counts = json.loads(reader_out.read_text(encoding="utf-8"))
            result.asks = counts["asks"] + counts["searches"]
            result.clean_errors = counts["clean_errors"]
            result.crashes += counts["crashes"]
            if counts["crash_tracebacks"]:
                (base / "crashes.txt").write_text("\n\n".join(counts["crash_tracebacks"]))
                result.notes.append(f"crash tracebacks in {base / 'crashes.txt'}")
            if counts["errors"]:
                result.notes.append("reader messages: " + "; ".join(counts["errors"]))
        result.after = run_check(where, caches[3])
        again = subprocess.run(
            [PYTHON, "-m", "qa_bot", "ingest", *map(str, parts), *where, "--json"],
            env=env_for(caches[0]),
            capture_output=True,
            text=True,
        )
        result.reingest = (
            json.loads(again.stdout)
            if again.returncode in (0, 1)
            else {"error": again.stderr[-300:]}
        )
        result.final = run_check(where, caches[3])
    finally:
        for p in procs:
            if p is not None and p.poll() is None:
                p.kill()
        for log in logs:
            log.close()
        if server is not None:
            server.stop()
    result.seconds = time.monotonic() - started
    return result


def run_check(where: list[str], cache: Path) -> dict:  # type: ignore[type-arg]
    done = subprocess.run(
        [PYTHON, __file__, "check", *where], env=env_for(cache), capture_output=True, text=True
    )
    if done.returncode != 0:
        return {"error": done.stderr[-500:]}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def serial(backend: str, parts: list[Path], work: Path) -> dict:  # type: ignore[type-arg]
    base = work / f"{backend}-serial"
    base.mkdir(parents=True)
    server = Server(base / "chroma") if backend == "server" else None
    where = target(None if server else base / "store", server.url if server else None)
    try:
        for part in parts:
            done = subprocess.run(
                ingest_cmd(part, where), env=env_for(base / "cache"), capture_output=True
            )
            if done.returncode != 0:
                raise SystemExit(f"serial ingest failed: {done.stderr[-500:]!r}")
        return run_check(where, base / "cache")
    finally:
        if server is not None:
            server.stop()


# ---------------------------------------------------------------------- the table
def table(results: list[Result], serial_stats: dict[str, dict]) -> str:  # type: ignore[type-arg]
    head = (
        "| backend | run | start offsets (s) | killed | ingest exit codes | reader asks+searches "
        "| reader clean errors | reader crashes | after the ingests: releases / chunks "
        "| left-over chunks | releases without chunks | not in the index "
        "| re-ingest: added / updated / repaired / unchanged | final releases / chunks "
        "| = serial | s |"
    )
    lines = [head, "|" + " --- |" * 16]
    for r in results:
        a, f, g = r.after, r.final, r.reingest
        ref = serial_stats[r.backend]
        same = (f.get("releases"), f.get("chunks")) == (ref["releases"], ref["chunks"])
        lines.append(
            f"| {r.backend} | {r.run} | {' '.join(map(str, r.offsets))} | {r.killed or '-'} "
            f"| {' '.join(map(str, r.codes))} | {r.asks} | {r.clean_errors} | {r.crashes} "
            f"| {a.get('releases')} / {a.get('chunks')} "
            f"| {(a.get('chunks') or 0) - (a.get('named_chunks') or 0)} "
            f"| {len(a.get('without_chunks', []))} -> {len(f.get('without_chunks', []))} "
            f"| {len(a.get('unsearchable', []))} -> {len(f.get('unsearchable', []))} "
            f"| {g.get('added')} / {g.get('updated')} / {g.get('repaired')} / {g.get('unchanged')} "
            f"| {f.get('releases')} / {f.get('chunks')} | {'yes' if same else 'NO'} "
            f"| {r.seconds:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode")
    for name in ("reader", "check"):
        p = sub.add_parser(name)
        p.add_argument("--store", type=Path)
        p.add_argument("--chroma-url")
        if name == "reader":
            p.add_argument("--stop", required=True)
            p.add_argument("--out", required=True)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--backend", choices=("both", "embedded", "server"), default="both")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--work", type=Path, help="keep the stores and logs here")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args()
    if args.mode == "reader":
        return reader(args)
    if args.mode == "check":
        return check(args)

    work = args.work or Path(tempfile.mkdtemp(prefix="qa-bot-stress-"))
    parts = split_corpus(args.corpus, work / "parts")
    rng = random.Random(args.seed)
    backends = ["embedded", "server"] if args.backend == "both" else [args.backend]
    results: list[Result] = []
    serial_stats = {}
    for backend in backends:
        serial_stats[backend] = serial(backend, parts, work)
        print(
            f"{backend}: serial ingest of the three thirds: {serial_stats[backend]['releases']} "
            f"releases, {serial_stats[backend]['chunks']} chunks",
            flush=True,
        )
        kill_run = rng.randrange(1, args.runs + 1)
        for run in range(1, args.runs + 1):
            r = one_run(backend, run, parts, work, rng, kill=run == kill_run)
            results.append(r)
            print(table([r], serial_stats).splitlines()[-1], flush=True)
            for note in r.notes:
                print(f"    {note}", flush=True)
    print()
    print(table(results, serial_stats))
    crashes = sum(r.crashes for r in results)
    missing = sum(len(r.final.get("without_chunks", [1])) for r in results)
    missing_before = sum(len(r.after.get("without_chunks", [1])) for r in results)
    unsearchable = sum(len(r.final.get("unsearchable", [1])) for r in results)
    equal = sum(
        (r.final.get("releases"), r.final.get("chunks"))
        == (serial_stats[r.backend]["releases"], serial_stats[r.backend]["chunks"])
        for r in results
    )
    print(
        f"\nruns: {len(results)}; reader crashes: {crashes}; releases without chunks after "
        f"the concurrent ingests: {missing_before}, after the re-ingest: {missing}; not in the "
        f"search index after the re-ingest: {unsearchable}; final stats equal to the serial "
        f"ingest: {equal} of {len(results)}  (work directory: {work})"
    )


if __name__ == "__main__":
    main()
