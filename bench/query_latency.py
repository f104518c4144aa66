"""Query latency on the 724-release store: retrieval alone, extractive answers end to end
(warm), and the first answer of a fresh `qa-bot ask` process.

    python bench/query_latency.py [STORE_DIR]

Without STORE_DIR the corpus in ../shared/corpus is ingested into a scratch store first.
The questions are the 120 of ../shared/eval/questions.jsonl (follow-ups after their
earlier turns, which are not timed): all answered once to warm up, then 3 timed rounds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


def pct(values: list[float], q: float) -> float:
    xs = sorted(values)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def line(name: str, values: list[float], goal: str) -> str:
    return (
        f"{name:24}p50 {statistics.median(values):6.1f} ms   p95 {pct(values, 0.95):6.1f} ms   "
        f"max {max(values):6.1f} ms   ({goal})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "store", nargs="?", type=Path, help="a store of the corpus (else one is made)"
    )
    args = parser.parse_args()
    from ingest.pipeline import build_ingestor
    from qa_bot.app import build_app
    from qa_bot.settings import load_settings
    from qa_bot.types import Turn

    rows = [
        json.loads(x)
        for x in (SHARED / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
        if x.strip()
    ]
    with tempfile.TemporaryDirectory() as tmp:
        if args.store is not None:
            store = args.store
        else:
            store = Path(tmp) / "store"
            build_ingestor(build_app(load_settings(store=store))).run([SHARED / "corpus"])
        # an existing store only: a mistyped path is not made into an empty one
        app = build_app(load_settings(store=store, generator="extractive"), create=False)
        qa = app.qa("extractive")
        releases = app.store.count_releases()

        def ask(row: dict) -> float:  # type: ignore[type-arg]
            history: list[Turn] = []
            for earlier in row.get("history") or ():
                history.append(Turn(earlier, qa.ask(earlier, history=history)))
            started = time.perf_counter()
            qa.ask(row["question"], history=history)
            return (time.perf_counter() - started) * 1000

        for row in rows:  # warm-up: model, indexes, caches
            ask(row)
        total = [ask(row) for _ in range(3) for row in rows]
        retrieval = []
        for _ in range(3):
            for row in rows:
                started = time.perf_counter()
                app.retriever.search(row["question"], k=5)
                retrieval.append((time.perf_counter() - started) * 1000)
        fresh = []
        for _ in range(3):
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "qa_bot", "ask", "Who opened the meeting?",
                 "--store", str(store), "--generator", "extractive"],
                check=True, capture_output=True,
            )  # fmt: skip
            fresh.append(time.perf_counter() - started)
    print(f"store: {releases} releases; {len(total)} answers timed (warm)")
    print(line("retrieval alone:", retrieval, "goal p95 <= 100 ms"))
    print(line("extractive end to end:", total, "goal p95 <= 150 ms, none over 1 s"))
    print(
        f"{'fresh `qa-bot ask`:':24}median {statistics.median(fresh):5.2f} s of 3 "
        "(process start, model load, first answer)"
    )


if __name__ == "__main__":
    main()
