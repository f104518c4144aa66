"""What limits the answers: how far the sentence model's pick is from what the candidates hold.

usage: python eval/ceiling.py --store DIR

Over the answerable training questions (``eval/fit.py``'s, with the shipped parameters for
retrieval and for the earlier turns of follow-ups), the sentence model is refitted in 5
folds and each question is scored by the fold that did not see it. Printed per style:
- ``union``: the candidates of gold releases together hold every must_include string;
- ``one``: a single such candidate holds them all;
- ``pick_some``: the model's first pick holds one of them (on a gold release);
- ``pick_all`` / ``top2_all`` / ``top3_all``: the first pick, the first two, the first three
  together hold them all.
No figure of ``../shared/eval`` is used.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fit  # noqa: E402  (puts the shared scorer and the package on the path)

COLUMNS = ("union", "one", "pick_some", "pick_all", "top2_all", "top3_all")


def main() -> int:
    import numpy as np
    from must_include import matches

    from qa_bot.fitted import load

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", type=Path, required=True, help="a store of the corpus")
    args = parser.parse_args()
    params = load()
    fitter = fit.Fitter(args.store)
    fitter.retriever.config = dataclasses.replace(fitter.retriever.config, **params.retrieval)
    fitter.answerer.params = params
    data = fit.examples(fitter, fit.training_questions())
    xs = [e.scored.x for e in data]  # type: ignore[attr-defined]
    ys = [np.array(e.labels) for e in data]
    picked = [np.argsort(-p, kind="stable") if len(p) else None for p in fit.out_of_fold(xs, ys)[0]]
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for e, order in zip(data, picked, strict=True):
        if e.row.get("type") == "unanswerable":
            continue
        must = e.row["must_include"]
        on_gold = [
            t
            for t, c in zip(e.texts, e.scored.candidates, strict=True)  # type: ignore[attr-defined]
            if fit.gold(e.row, c.passage.release_id)
        ]
        first = [] if order is None else [e.texts[int(i)] for i in order[:3]]
        row = {
            "union": all(any(matches(t, [m]) for t in on_gold) for m in must),
            "one": any(matches(t, must) for t in on_gold),
            "pick_some": order is not None and e.labels[int(order[0])] == 1,
            "pick_all": bool(first) and matches(first[0], must),
            "top2_all": bool(first) and matches(" ".join(first[:2]), must),
            "top3_all": bool(first) and matches(" ".join(first[:3]), must),
        }
        for style in ("all", e.row.get("style") or "dev"):
            counts[style]["n"] += 1
            counts[style].update(k for k, v in row.items() if v)
    print(f"{'style':14s} {'n':>4s} " + " ".join(f"{c:>9s}" for c in COLUMNS))
    for style, c in sorted(counts.items(), key=lambda kv: (kv[0] != "all", kv[0])):
        print(f"{style:14s} {c['n']:4d} " + " ".join(f"{c[col] / c['n']:9.2f}" for col in COLUMNS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
