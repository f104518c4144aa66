"""Scale: the corpus and N copies of it (every sentence varied), measured side by side.

    python bench/scale.py [--n 20] [--work DIR [--reuse]] [--keep]

Builds two stores from empty: the corpus in ../shared/corpus (724 releases) and the
corpus replicated N times (each copy's releases get their own ids and every sentence, as
the chunker splits it, a mark of its copy, release and place, so no two are equal and
each is embedded). For each it prints:

- ingest: rate on the distinct sentences it embeds against the raw default embedder
  (warm, in this process, on a sample of the same sentences), and the peak memory of the
  ingest, its process and its workers together (proportional set size: a page they
  share, such as the mapped model, counts once; resident memory summed beside it);
- a fresh `qa-bot ask` (new process: imports, model load, opening the index): seconds
  and peak memory, median of 3;
- warm answers over the shared questions (../shared/eval/questions.jsonl; follow-ups
  with their history, only the last question timed): p50 and p95;
- the next answer after a one-release upload through the same process (as the chat's
  Add releases does): seconds for the upload and for that answer (whose first passage
  must be the upload's).

Only timings are printed, never a question.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CORPUS = ROOT.parent / "shared" / "corpus"
QUESTIONS = ROOT.parent / "shared" / "eval" / "questions.jsonl"
FRESH_QUESTION = "Who opened the meeting with NATO's partners on 28 February 2024?"
UPLOAD = (
    "Ferry service restored\n\n"
    "KABUL, Afghanistan (March 3, 2024) - Engineers of the Zardalu company restored the "
    "Qalat river ferry in Zabul province on Saturday, after three weeks of repairs.\n\n"
    "The ferry carries about 400 people a day between the two banks."
)
UPLOAD_QUESTION = "Who restored the Qalat river ferry?"
CLOSING = ".!?;:\"'”’»)]…"
"""Characters that close a sentence: a copy's mark goes before them."""
REPEATS = 3
"""Passes over the sample for the raw rate (the best counts)."""


# ------------------------------------------------------------------ the replicated corpus
def varied(text: str, spans: list[tuple[int, int]], mark: str) -> str:
    """``text`` with ``mark`` and the sentence's place at the end of each sentence
    (``spans``, as the chunker splits it), before its closing punctuation."""
    out, last = [], 0
    for k, (start, end) in enumerate(spans, 1):
        cut = end
        while cut > start and text[cut - 1] in CLOSING:
            cut -= 1
        out += [text[last:cut], f" ({mark}.{k})"]
        last = cut
    return "".join([*out, text[last:]])


def replicate(n: int, out: Path) -> Path:
    """Copies 1..n-1 of the corpus as JSONL records under ``out`` (copy 0 is the corpus)."""
    from ingest.chunking import Chunker
    from ingest.loaders import RawRelease, discover, load_file
    from ingest.metadata import build_release
    from qa_bot.settings import load_settings
    from qa_bot.tokens import TokenCounter

    chunker = Chunker(tokens=TokenCounter(cache_dir=load_settings().cache_dir / "tiktoken"))
    out.mkdir(parents=True, exist_ok=True)
    files, _, _ = discover([CORPUS])
    releases = [build_release(r) for f in files for r in load_file(f) if isinstance(r, RawRelease)]
    spans = {rel.release_id: [(s.start, s.end) for s in chunker.sentences(rel)] for rel in releases}
    for copy in range(1, n):
        with (out / f"copy-{copy:02d}.jsonl").open("w", encoding="utf-8") as f:
            for r, rel in enumerate(releases):
                # copy and release in the mark: no two sentences of the copies are equal
                body = varied(rel.text, spans[rel.release_id], f"{copy}.{r}")
                # the title heads the text: the same marked line, or it would come back unmarked
                title = body.partition("\n")[0] if rel.text.startswith(rel.title) else rel.title
                record = {
                    "id": f"{rel.release_id}-copy{copy}",
                    "title": title,
                    "date": rel.date.isoformat() if rel.date else None,
                    "language": rel.language,
                    "url": rel.url,
                    "body": body,
                }
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return out


# ------------------------------------------------------------------ measuring processes
def _tree_memory(pid: int) -> tuple[int, int]:
    """(proportional, resident) memory of a process and its descendants, in bytes.

    Proportional (PSS) counts a page shared by several of them once, split between them:
    the ingest's workers map the same model file and libraries, which resident memory
    (RSS) summed over the processes counts once per worker."""
    pss = rss = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            rollup = Path(f"/proc/{p}/smaps_rollup").read_text()
            pss += int(re.search(r"^Pss:\s+(\d+)", rollup, re.M).group(1)) * 1024
            rss += int(re.search(r"^Rss:\s+(\d+)", rollup, re.M).group(1)) * 1024
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, AttributeError, ValueError):
            continue
    return pss, rss


def measured(argv: list[str]) -> tuple[float, int, str, int]:
    """(seconds, peak proportional memory of the process tree in bytes, stdout, peak of
    its resident memory summed over the processes) of a command."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )
    peak = peak_rss = 0

    def watch() -> None:
        nonlocal peak, peak_rss
        while proc.poll() is None:
            pss, rss = _tree_memory(proc.pid)
            peak, peak_rss = max(peak, pss), max(peak_rss, rss)
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - started
    watcher.join()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{err[-3000:]}")
    return seconds, peak, out, peak_rss


def qa_bot(*args: str) -> list[str]:
    return [sys.executable, "-m", "qa_bot", *args]


# ------------------------------------------------------------------ in this process
def raw_rate(paths: list[Path], sample: int) -> float:
    """Sentences per second of the default embedder alone, warm, on the sentences of
    releases drawn at random (seeded) from all the files of ``paths``."""
    from ingest.chunking import Chunker
    from ingest.loaders import RawRelease, discover, load_file
    from ingest.metadata import build_release
    from qa_bot.embedders import UseMultilingualEmbedder
    from qa_bot.settings import load_settings
    from qa_bot.tokens import TokenCounter

    settings = load_settings()
    chunker = Chunker(tokens=TokenCounter(cache_dir=settings.cache_dir / "tiktoken"))
    sentences: dict[str, None] = {}
    files, _, _ = discover(paths)
    # releases drawn at random from all of them (seeded): the large store embeds mostly the
    # copies' varied sentences, and the first releases of a file are not like the rest
    raws = [raw for f in files for raw in load_file(f) if isinstance(raw, RawRelease)]
    for raw in random.Random(0).sample(raws, len(raws)):
        for c in chunker.chunk(build_release(raw), "bench"):
            sentences.setdefault(c.text)
        if len(sentences) >= sample:
            break
    texts = list(sentences)[:sample]
    rates = []
    # the best of every core and of one thread (its default, and the ingest worker's), each
    # the best of REPEATS passes: one pass moved between 803 and 1,024 sentences/s from one
    # quiet run to the next, and the ratio with it
    for embedder in (UseMultilingualEmbedder(threads=os.cpu_count()), UseMultilingualEmbedder()):
        embedder.embed(texts[: settings.batch_size])  # warm up on a whole batch
        for _ in range(REPEATS):
            started = time.perf_counter()
            for i in range(0, len(texts), settings.batch_size):
                embedder.embed(texts[i : i + settings.batch_size])
            rates.append(len(texts) / (time.perf_counter() - started))
    return max(rates)


def warm(store: Path, upload_dir: Path) -> dict[str, float]:
    """Warm answers over the shared questions, then a one-release upload and the next answer
    (run in its own process: ``--warm STORE UPLOAD_DIR``)."""
    from ingest.pipeline import build_ingestor
    from qa_bot.app import build_app
    from qa_bot.evaluation import load_items
    from qa_bot.settings import load_settings
    from qa_bot.types import Turn

    app = build_app(load_settings(store=store, generator="extractive"), create=False)
    qa = app.qa("extractive")
    items = load_items(QUESTIONS)
    for item in items[:5]:  # warm-up: model, index pages, caches
        qa.ask(item.question)
    times = []
    for item in items:
        history: list[Turn] = []
        for earlier in item.history:
            history.append(Turn(earlier, qa.ask(earlier, history=history)))
        started = time.perf_counter()
        qa.ask(item.question, history=history)
        times.append((time.perf_counter() - started) * 1000)
    upload_dir.mkdir(parents=True, exist_ok=True)
    path = upload_dir / "ferry-restored.txt"
    path.write_text(UPLOAD, encoding="utf-8")
    started = time.perf_counter()
    report = build_ingestor(app).run([path])
    upload = time.perf_counter() - started
    started = time.perf_counter()
    answer = qa.ask(UPLOAD_QUESTION)
    after = time.perf_counter() - started
    found = bool(answer.passages) and answer.passages[0].release_id == "ferry-restored"
    app.delete(["ferry-restored"])  # the store as it was, for another run
    times.sort()
    return {
        "p50": statistics.median(times),
        "p95": times[min(len(times) - 1, int(0.95 * len(times)))],
        "questions": len(times),
        "upload_s": upload,
        "upload_added": report.added,
        "next_s": after,
        "next_finds_upload": found,
    }


# ------------------------------------------------------------------ the run
def ingest(label: str, paths: list[Path], work: Path, sample: int, reuse: bool) -> dict[str, Any]:
    """Build the store from empty and measure it; with ``reuse``, a store this script built
    before in ``work`` is kept, with the figures measured when it was built."""
    store, figures = work / f"store-{label}", work / f"ingest-{label}.json"
    if reuse and store.is_dir() and figures.is_file():
        return dict(json.loads(figures.read_text(encoding="utf-8")))
    if store.exists():
        shutil.rmtree(store)
    rate = raw_rate(paths, sample)
    _, peak, out, peak_rss = measured(
        qa_bot("ingest", *map(str, paths), "--store", str(store), "--json")
    )
    report = json.loads(out)
    result = {
        "releases": report["releases"],
        "chunks": report["chunks"],
        "embedded": report["embedded"],
        "ingest_s": report["seconds"],
        "ingest_rate": report["embedded"] / report["seconds"],
        "raw_rate": rate,
        "ingest_peak_mb": peak / 2**20,
        "ingest_peak_rss_mb": peak_rss / 2**20,
    }
    figures.write_text(json.dumps(result), encoding="utf-8")
    return result


def measure(
    label: str, paths: list[Path], work: Path, sample: int, reuse: bool = False
) -> dict[str, object]:
    store = work / f"store-{label}"
    built = ingest(label, paths, work, sample, reuse)
    fresh = [measured(qa_bot("ask", FRESH_QUESTION, "--store", str(store))) for _ in range(3)]
    fresh.sort()
    _, _, warm_out, _ = measured(
        [sys.executable, __file__, "--warm", str(store), str(work / f"upload-{label}")]
    )
    return {
        "label": label,
        **built,
        "fresh_s": fresh[1][0],
        "fresh_peak_mb": max(f[1] for f in fresh) / 2**20,
        **json.loads(warm_out),
    }


def table(rows: list[dict[str, object]]) -> str:
    def f(key: str, fmt: str) -> list[str]:
        return [format(r[key], fmt) for r in rows]

    lines = [
        ("", [f"{r['releases']:,} releases ({r['chunks']:,} chunks)" for r in rows]),
        (
            "ingest, from empty",
            [
                f"{r['ingest_s']:.0f} s, {r['ingest_rate']:.0f} sentences/s = "
                f"{r['ingest_rate'] / r['raw_rate']:.2f} of the raw embedder "
                f"({r['raw_rate']:.0f}/s)"
                for r in rows
            ],
        ),
        (
            "peak memory of the ingest (proportional; resident summed over its processes)",
            [
                f"{r['ingest_peak_mb']:.0f} MB ({r.get('ingest_peak_rss_mb', float('nan')):.0f} MB)"
                for r in rows
            ],
        ),
        (
            "`qa-bot ask` in a fresh process",
            [f"{r['fresh_s']:.2f} s, {r['fresh_peak_mb']:.0f} MB" for r in rows],
        ),
        (
            f"warm answers over the {rows[0]['questions']} shared questions, p50 / p95",
            [f"{r['p50']:.0f} / {r['p95']:.0f} ms" for r in rows],
        ),
        (
            "one-release upload, then the next answer",
            [
                f"{r['upload_s']:.2f} s, then {r['next_s']:.2f} s"
                + ("" if r["next_finds_upload"] else " (the upload not found first!)")
                for r in rows
            ],
        ),
    ]
    out = ["| | " + " | ".join(lines[0][1]) + " |", "| --- |" + " --- |" * len(rows)]
    out += [f"| {name} | " + " | ".join(cells) + " |" for name, cells in lines[1:]]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20, help="copies of the corpus (default 20)")
    parser.add_argument("--work", type=Path, help="where the stores go (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the stores")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="with --work: keep the stores an earlier run built there (and its ingest "
        "figures); only the rest is measured again",
    )
    parser.add_argument("--sample", type=int, default=3000, help="sentences for the raw rate")
    parser.add_argument("--warm", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.warm:
        print(json.dumps(warm(*args.warm)))
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="qa-bot-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    reuse = args.reuse and args.work is not None
    copies = work / "copies"
    if not (reuse and copies.is_dir()):
        replicate(args.n, copies)
    rows = [measure("corpus", [CORPUS], work, args.sample, reuse)]
    print(table(rows), flush=True)
    rows.append(measure(f"x{args.n}", [CORPUS, copies], work, args.sample, reuse))
    print()
    print(table(rows))
    a, b = rows
    print(
        f"\nfresh ask {b['fresh_s']:.2f} s = {b['fresh_s'] / a['fresh_s']:.2f}x the corpus's "
        f"(goal <= 2.5 s and <= 1.3x; peak <= 500 MB: {b['fresh_peak_mb']:.0f} MB); warm p50 "
        f"{b['p50'] / a['p50']:.2f}x (goal <= 1.5x), p95 {b['p95']:.0f} ms (goal <= 300); "
        f"next answer after an upload {b['next_s']:.2f} s (goal <= 1 s); ingest "
        f"{b['ingest_rate'] / b['raw_rate']:.2f} of the raw embedder (goal >= 0.70), "
        f"peak {b['ingest_peak_mb']:.0f} MB (goal <= 1024)"
    )
    if not args.keep and args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
