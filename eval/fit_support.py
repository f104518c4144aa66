"""Fit the support check of a model's sentences (``qa_bot/support.json``).

usage: python eval/fit_support.py --store STORE [--out qa_bot/support.json]

STORE holds ../shared/corpus, ingested with the default embedder. Rerunning the script
reproduces the file. The labelled (claim, release sentence) pairs are built, not
hand-labelled:

- claims are the written ``answer`` of the training questions (``eval/train/written-*.jsonl``)
  and of the ``tune`` split of ``../shared/eval/questions.jsonl`` (never ``holdout``):
  answerable questions with a single source release; English and French, including the
  cross-lingual ones (a French answer over an English release, an English answer over the
  French NATO item);
- **supported**: the answer against the sentence of its source release that holds the
  most of its ``must_include`` strings (ties: the closer one in the embedder);
- **unsupported**: the answer against (a) the closest sentence of another release,
  (b) the closest other sentence of its own release and (d) a sentence drawn from the 50
  closest of other releases, none holding any ``must_include`` string; and (c) the answer
  with its first ``must_include`` string swapped for that of another question of the same
  type (an invented name, number or place) against the sentence that supported the original.

Honest limits: the positive labels are noisy (a written answer often joins facts from two
sentences or adds the release's date), cross-language positives are few (about 80), and the
negatives are made, not collected from models; out-of-fold figures are in ``support.json``.

A ``StandardScaler`` + ``LogisticRegression`` pipeline over :data:`FEATURES` is fitted;
the probability from which a sentence counts as supported is the one that maximises F0.5
(precision counts twice: showing an unbacked sentence is worse than dropping a backed one)
over 5-fold out-of-fold probabilities, folds grouped by question.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SHARED = ROOT.parent / "shared" / "eval" / "questions.jsonl"
SEED_ID = "seed-2024-02-28-partners"


def questions(shared: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for path in sorted((ROOT / "eval" / "train").glob("written-*.jsonl")):
        rows += [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    if shared.exists():
        for line in shared.read_text(encoding="utf-8").splitlines():
            row = json.loads(line) if line.strip() else {}
            if row.get("split") == "tune":  # never holdout
                rows.append(row)
    return [
        r
        for r in rows
        if r.get("answer")
        and r.get("must_include")
        and len(r.get("source_ids") or ()) == 1
        and r.get("type") != "unanswerable"
        and r.get("style") != "multi"
    ]


def main() -> int:
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from qa_bot.answering.support import (
        EMBEDDER,
        FEATURES,
        cosine,
        evidence_text,
        pair_features,
        passage_context,
    )
    from qa_bot.app import build_app
    from qa_bot.embedders import make_embedder
    from qa_bot.evaluation import contains
    from qa_bot.settings import load_settings
    from qa_bot.words import WordMatcher

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=ROOT / "qa_bot" / "support.json")
    parser.add_argument("--shared", type=Path, default=SHARED, help="the shared question set")
    parser.add_argument("--dump", type=Path, help="also write the pairs' features here (.npz)")
    args = parser.parse_args()

    app = build_app(load_settings(store=args.store, generator="extractive"), create=False)
    retriever = app.retriever
    retriever.refresh()
    embedder = app.embedder if app.embedder.name == EMBEDDER else make_embedder(EMBEDDER)

    # every sentence of the corpus, with its passage
    sentences: list[tuple[str, Any, Any]] = []  # (release_id, passage, sentence)
    for rid in sorted(app.store.release_index()):
        for p in retriever.release_passages(rid):
            sentences += [(rid, p, s) for s in p.sentences]
    texts = [evidence_text(s, p) for _, p, s in sentences]
    print(f"embedding {len(texts)} release sentences…", file=sys.stderr)
    vectors = np.asarray(embedder.embed(texts))
    by_release: dict[str, list[int]] = defaultdict(list)
    for k, (rid, _, _) in enumerate(sentences):
        by_release[rid].append(k)

    def release_of(gold: str) -> str | None:
        if gold == SEED_ID:
            return next((r for r in by_release if "partners" in r), None)
        return gold if gold in by_release else None

    words = WordMatcher(lambda batch: embedder.embed(batch))
    rows = questions(args.shared)
    claims = [r["answer"] for r in rows]
    claim_vectors = np.asarray(embedder.embed(claims))
    sims = cosine(claim_vectors, vectors)
    by_type: dict[str, list[int]] = defaultdict(list)
    for qi, r in enumerate(rows):
        by_type[r["type"]].append(qi)

    rng = random.Random(7)
    x: list[list[float]] = []
    y: list[int] = []
    groups: list[int] = []
    kinds: list[str] = []
    cross: list[bool] = []

    def add(qi: int, claim: str, k: int, label: int, kind: str, sim: float) -> None:
        _, p, s = sentences[k]
        x.append(pair_features(claim, texts[k], passage_context(p), sim, s.language, words))
        y.append(label)
        groups.append(qi)
        kinds.append(kind)
        cross.append(x[-1][FEATURES.index("cross_language")] == 1.0)

    used = 0
    for qi, r in enumerate(rows):
        rid = release_of(r["source_ids"][0])
        if rid is None:
            continue
        must = list(r["must_include"])
        own = by_release[rid]
        held = [sum(contains(texts[k], m) for m in must) for k in own]
        if max(held) == 0:
            continue  # no sentence of the release holds the answer's words: no clean label
        pos = max(range(len(own)), key=lambda j: (held[j], sims[qi, own[j]]))
        k_pos = own[pos]
        used += 1
        add(qi, r["answer"], k_pos, 1, "answer", float(sims[qi, k_pos]))
        # (a) the closest sentence of another release that holds none of the answer
        for k in np.argsort(-sims[qi]):
            if sentences[k][0] != rid and not any(contains(texts[k], m) for m in must):
                add(qi, r["answer"], int(k), 0, "other release", float(sims[qi, k]))
                break
        # (d) the best sentence of another release among the 50 closest (a wrong passage cited)
        near = [int(k) for k in np.argsort(-sims[qi])[:50] if sentences[k][0] != rid]
        near = [k for k in near if not any(contains(texts[k], m) for m in must)]
        if near:
            k = rng.choice(near)
            add(qi, r["answer"], k, 0, "near release", float(sims[qi, k]))
        # (b) the closest other sentence of the same release that holds none of it
        others = [k for j, k in enumerate(own) if held[j] == 0]
        if others:
            k = max(others, key=lambda k: sims[qi, k])
            add(qi, r["answer"], k, 0, "same release", float(sims[qi, k]))
        # (c) the answer with an invented name, number or place
        swaps = [
            rows[o]["must_include"][0]
            for o in by_type[r["type"]]
            if o != qi and not contains(texts[k_pos], rows[o]["must_include"][0])
        ]
        target = must[0]
        at = r["answer"].lower().find(target.lower())
        if swaps and at >= 0:
            fake = rng.choice(swaps)
            claim = r["answer"][:at] + fake + r["answer"][at + len(target) :]
            vec = np.asarray(embedder.embed([claim]))
            add(qi, claim, k_pos, 0, "invented", float(cosine(vec, vectors[[k_pos]])[0, 0]))

    X, Y = np.asarray(x), np.asarray(y)
    if args.dump:
        np.savez(args.dump, X=X, Y=Y, kinds=np.asarray(kinds), cross=np.asarray(cross))
    print(f"{used} questions, {len(Y)} pairs ({int(Y.sum())} supported)", file=sys.stderr)

    def model() -> Any:
        return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))

    oof = np.zeros(len(Y))
    for train, test in GroupKFold(n_splits=5).split(X, Y, groups):
        oof[test] = model().fit(X[train], Y[train]).predict_proba(X[test])[:, 1]

    def prf(threshold: float, mask: Any = None) -> tuple[float, float, float]:
        m = np.ones(len(Y), bool) if mask is None else mask
        pred = oof[m] >= threshold
        tp = float((pred & (Y[m] == 1)).sum())
        precision = tp / pred.sum() if pred.sum() else 1.0
        recall = tp / (Y[m] == 1).sum() if (Y[m] == 1).sum() else 1.0
        beta2 = 0.25
        f = (1 + beta2) * precision * recall / (beta2 * precision + recall) if tp else 0.0
        return precision, recall, f

    grid = np.round(np.arange(0.05, 0.96, 0.01), 2)
    threshold = float(max(grid, key=lambda t: prf(t)[2]))
    kinds_a = np.asarray(kinds)
    cross_a = np.asarray(cross)
    report: dict[str, Any] = {}
    p_all, r_all, _ = prf(threshold)
    report["all"] = {"precision": round(p_all, 3), "recall": round(r_all, 3), "pairs": len(Y)}
    p_x, r_x, _ = prf(threshold, cross_a)
    report["cross_language"] = {
        "precision": round(p_x, 3),
        "recall": round(r_x, 3),
        "pairs": int(cross_a.sum()),
    }
    for kind in ("answer", "other release", "near release", "same release", "invented"):
        m = kinds_a == kind
        right = ((oof[m] >= threshold) == (Y[m] == 1)).mean() if m.any() else 0.0
        report[f"accuracy[{kind}]"] = round(float(right), 3)
    print(json.dumps({"threshold": threshold, **report}, indent=1), file=sys.stderr)

    final = model().fit(X, Y)
    scaler, logistic = final[0], final[1]
    out = {
        "features": list(FEATURES),
        "coef": [round(float(c), 6) for c in logistic.coef_[0]],
        "intercept": round(float(logistic.intercept_[0]), 6),
        "mean": [round(float(m), 6) for m in scaler.mean_],
        "scale": [round(float(s), 6) for s in scaler.scale_],
        "threshold": threshold,
        "embedder": EMBEDDER,
        "fitted_on": {
            "questions": used,
            "pairs": len(Y),
            "supported": int(Y.sum()),
            "pairs_by_kind": {k: int((kinds_a == k).sum()) for k in dict.fromkeys(kinds)},
            "out_of_fold": report,
        },
    }
    args.out.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
