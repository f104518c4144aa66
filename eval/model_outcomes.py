"""What became of a model's answers in a predictions file, by split: aggregates only.

usage: python eval/model_outcomes.py QUESTIONS.jsonl PREDICTIONS.jsonl...

PREDICTIONS are files written by ``qa-bot eval QUESTIONS --generator openai --out FILE``
(several when the questions were answered in parts, e.g. by two servers side by side).
Prints, for all questions and for each ``split`` the questions carry, the figures
``qa-bot eval --generator openai`` adds to its summary (:func:`qa_bot.evaluation.
model_outcomes`): shares kept as written, with sentences dropped, replaced by the offline
answer, refused by the model; shares of shown sentences backed and citing a gold release.
Never a question or an answer.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv: list[str]) -> int:
    from qa_bot.evaluation import load_items, model_outcomes

    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    questions = Path(argv[0])
    items = load_items(questions)
    rows = [json.loads(x) for x in questions.read_text(encoding="utf-8").splitlines() if x.strip()]
    split = {str(r["id"]): r.get("split") for r in rows}
    predictions: dict[str, dict] = {}
    for path in argv[1:]:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if line.strip():
                answer = json.loads(line)
                predictions[str(answer["id"])] = answer
    columns = {"all": model_outcomes(items, predictions)}
    for name in sorted({s for s in split.values() if s}):
        columns[name] = model_outcomes([i for i in items if split[i.id] == name], predictions)
    names = list(columns)
    print(f"{'':28}" + "".join(f"{n:>10}" for n in names))
    for metric in columns["all"]:
        print(f"{metric:28}" + "".join(f"{columns[n][metric]!s:>10}" for n in names))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
