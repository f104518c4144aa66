"""`make eval`: the shared questions (tune and holdout), our dev set and the baseline.

usage: python eval/run.py --store DIR [--out DIR] [--generator extractive|openai]

Answers ``../shared/eval/questions.jsonl`` (follow-ups with their history) and
``eval/dev.jsonl`` in one warm process, writes the predictions, scores them with the shared
scorer (``../shared/eval/score.py``, the figures the project is judged by) and prints:
tune and holdout side by side, with the LangChain-tutorial baseline beside ours; then the
dev set; then every split by ``style``. Only figures are printed, never a holdout question.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "eval"
sys.path.insert(0, str(SHARED))
sys.path.insert(0, str(ROOT))

METRICS = (
    "recall@5", "mrr", "must_include_acc", "citation_precision", "abstention_recall",
    "false_abstention", "words_median", "words_p90", "latency_p50_ms", "latency_p95_ms",
)  # fmt: skip


def load(path: Path) -> list[dict]:
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    return [{"type": "what", **row} for row in rows]  # the scorer wants a type


def predictions(path: Path) -> dict[str, dict]:
    return {str(p["id"]): p for p in load(path)}


def table(columns: dict[str, dict]) -> str:
    names = list(columns)
    lines = [f"{'metric':20}" + "".join(f"{n:>18}" for n in names)]
    for metric in METRICS:
        cells = "".join(f"{str(columns[n].get(metric, '-')):>18}" for n in names)
        lines.append(f"{metric:20}{cells}")
    lines.append(f"{'questions':20}" + "".join(f"{columns[n]['questions']:>18}" for n in names))
    return "\n".join(lines)


def main() -> int:
    from score import score

    from qa_bot import evaluation
    from qa_bot.app import build_app
    from qa_bot.baseline import TutorialBaseline
    from qa_bot.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=ROOT / ".qa-bot")
    parser.add_argument("--generator", default="extractive")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    app = build_app(Settings(store=args.store))
    qa = app.qa(args.generator)

    def ours(question: str, history):  # type: ignore[no-untyped-def]
        answer = qa.ask(question, history=history)
        return answer, [p.release_id for p in answer.passages]

    shared_q = SHARED / "questions.jsonl"
    dev_q = ROOT / "eval" / "dev.jsonl"
    runs = {
        "shared": (shared_q, args.out / "eval-shared.jsonl"),
        "dev": (dev_q, args.out / "eval-dev.jsonl"),
    }
    for question_file, out in runs.values():
        evaluation.run(evaluation.load_items(question_file), ours, out)
    baseline_out = args.out / "eval-shared-baseline.jsonl"
    with tempfile.TemporaryDirectory() as tmp:
        base = TutorialBaseline(embedder=app.embedder, directory=Path(tmp))
        base.index(list(app.store.all_releases().values()))
        evaluation.run(evaluation.load_items(shared_q), base.ask, baseline_out)

    shared = load(shared_q)
    ours_pred = predictions(runs["shared"][1])
    base_pred = predictions(baseline_out)
    split = {s: [q for q in shared if q.get("split") == s] for s in ("tune", "holdout")}
    columns = {
        "tune": score(split["tune"], ours_pred),
        "holdout": score(split["holdout"], ours_pred),
        "baseline tune": score(split["tune"], base_pred),
        "baseline holdout": score(split["holdout"], base_pred),
        "dev (ours)": score(load(dev_q), predictions(runs["dev"][1])),
    }
    print(f"qa-bot ({args.generator}) over {app.store.stats().releases} releases\n")
    print(table(columns))
    for name, questions in split.items():
        styles = sorted({str(q.get("style")) for q in questions})
        by = {s: score([q for q in questions if q.get("style") == s], ours_pred) for s in styles}
        print(f"\n{name} by style\n" + table(by))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
