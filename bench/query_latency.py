"""Warm query latency on the 724-release store: retrieval alone and extractive end to end.

    python bench/query_latency.py [STORE_DIR]

Without STORE_DIR the corpus in ../shared/corpus is ingested into a scratch store
first. The questions are those of eval/dev.jsonl, each asked 3 times after a warm-up.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path


def pct(values: list[float], q: float) -> float:
    xs = sorted(values)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main() -> None:
    from ingest.pipeline import build_ingestor
    from qa_bot.app import build_app
    from qa_bot.evaluation import load_items
    from qa_bot.settings import load_settings

    root = Path(__file__).resolve().parent.parent
    questions = [i.question for i in load_items(root / "eval" / "dev.jsonl")]
    with tempfile.TemporaryDirectory() as tmp:
        if len(sys.argv) > 1:
            store = Path(sys.argv[1])
        else:
            store = Path(tmp) / "store"
            build_ingestor(build_app(load_settings(store=store))).run(
                [root.parent / "shared" / "corpus"]
            )
        app = build_app(load_settings(store=store, generator="extractive"))
        qa = app.qa("extractive")
        releases = app.store.count_releases()
        for q in questions[:5]:  # warm-up: model, indexes, caches
            qa.ask(q)
        retrieval, total = [], []
        for _ in range(3):
            for q in questions:
                started = time.perf_counter()
                app.retriever.search(q, k=5)
                retrieval.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                qa.ask(q)
                total.append((time.perf_counter() - started) * 1000)
    print(f"store: {releases} releases; {len(total)} questions asked (warm)")
    print(
        f"retrieval alone:        p50 {statistics.median(retrieval):6.1f} ms   "
        f"p95 {pct(retrieval, 0.95):6.1f} ms   (goal p95 <= 100 ms)"
    )
    print(
        f"extractive end to end:  p50 {statistics.median(total):6.1f} ms   "
        f"p95 {pct(total, 0.95):6.1f} ms   (goal p95 <= 300 ms)"
    )


if __name__ == "__main__":
    main()
