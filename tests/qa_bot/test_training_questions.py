"""The training questions (`eval/train/`, `eval/dev.jsonl`; `eval/followups.jsonl`, measured
only): well formed, answerable from the releases they name, and apart from the shared question
set (no fitting on its releases)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import sys

import pytest

from qa_bot.text import resolve_relative_dates
from tests.conftest import CORPUS, ROOT

SHARED_EVAL = CORPUS.parent / "eval"
NATO = "2024-02-28-partners-meeting.fr"


@pytest.fixture(scope="module")
def fit():  # type: ignore[no-untyped-def]
    """``eval/fit.py``, where the training questions are read and chosen."""
    if not (SHARED_EVAL / "questions.jsonl").is_file():
        pytest.skip(f"the shared questions and scorer are missing at {SHARED_EVAL}")
    spec = importlib.util.spec_from_file_location("qa_bot_eval_fit", ROOT / "eval" / "fit.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["qa_bot_eval_fit"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _rows(fit, *, measured: bool = False) -> list[dict]:  # type: ignore[no-untyped-def]
    """The training questions; ``measured``: with the follow-up conversations measured
    beside them (not fitted on)."""
    rows = []
    extra = [ROOT / "eval" / "followups.jsonl"] if measured else []
    for path in [*fit.question_files(), *extra]:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                rows.append({**json.loads(line), "_where": f"{path.name}:{n}"})
    return rows


def _bodies(seed: str) -> dict[str, str]:
    bodies = {}
    for path in sorted((CORPUS / "isaf").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").split("\n"):  # not at U+2028
            if not line.strip():
                continue
            record = json.loads(line)
            text = f"{record.get('title') or ''}\n{record.get('body') or ''}"
            # as the answerer quotes it: "yesterday", "Monday", "Nov. 25" made absolute
            released = dt.date.fromisoformat(record["date"]) if record.get("date") else None
            bodies[record["id"]] = resolve_relative_dates(text, released)
    nato = CORPUS / "nato" / f"{NATO}.txt"
    bodies[seed] = bodies[NATO] = nato.read_text(encoding="utf-8")
    return bodies


def test_training_questions_are_answerable_from_the_releases_they_name(fit) -> None:  # type: ignore[no-untyped-def]
    from must_include import matches  # the shared scorer's, on the path fit.py sets

    bodies = _bodies(fit.NATO_ITEM)
    rows = _rows(fit, measured=True)
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)), "training question ids repeat"
    problems = []
    for row in rows:
        where = row["_where"]
        assert row["question"].strip(), where
        sources = row.get("source_ids") or []
        assert all(s in bodies for s in sources), f"{where}: unknown release in {sources}"
        if row.get("type") == "unanswerable":
            assert not row.get("must_include"), where
            continue
        assert row["must_include"] and sources, where
        text = "\n".join(bodies[s] for s in sources)
        missing = [m for m in row["must_include"] if not matches(text, [m])]
        if missing:
            problems.append(f"{where}: {missing} not in {sources}")
    assert not problems, "\n".join(problems)


def test_no_release_of_the_shared_questions_is_fitted_on(fit) -> None:  # type: ignore[no-untyped-def]
    """Fitting on the releases the shared questions ask about would flatter their scores
    (the NATO item, the only French release, aside): the written questions avoid them, and
    the fit leaves out the dev questions written before the shared set that do not."""
    asked = fit.shared_sources()
    on_shared = [r["_where"] for r in _rows(fit) if asked & set(r.get("source_ids") or ())]
    assert on_shared and all(w.startswith("dev.jsonl:") for w in on_shared), on_shared
    fitted = fit.training_questions()
    assert not [r["id"] for r in fitted if asked & set(r.get("source_ids") or ())]
    assert len(fitted) == sum(
        1 for r in _rows(fit) if r.get("type") == "unanswerable" or r.get("must_include")
    ) - len(on_shared)


def test_questions_left_out_of_a_fit_are_the_ones_it_is_scored_on(fit) -> None:  # type: ignore[no-untyped-def]
    left = ("written-7.jsonl", "written-9.jsonl")
    fitted = fit.training_questions(left)
    scored = fit.training_questions(left, only=True)
    assert {r["id"] for r in fitted}.isdisjoint(r["id"] for r in scored)
    assert sorted(r["id"] for r in fitted + scored) == sorted(
        r["id"] for r in fit.training_questions()
    )
    assert scored and all(r["id"].startswith(("g7-", "g9-")) for r in scored)


def test_the_ranker_is_kept_as_the_trees_the_answerer_walks(fit) -> None:  # type: ignore[no-untyped-def]
    """The LightGBM ranker, turned into plain arrays with its calibration folded in, gives
    the calibrated probability of the booster itself for every candidate."""
    import numpy as np

    rng = np.random.default_rng(0)
    names = tuple(f"f{i}" for i in range(4))
    xs = [rng.normal(size=(12, 4)) for _ in range(60)]
    ys = [(x[:, 0] + 0.5 * x[:, 1] > 1.0).astype(int) for x in xs]  # the answer: f0 and f1
    booster = fit.fit_ranker(xs, ys, names)
    scores, _ = fit.out_of_fold_scores(xs, ys, names)
    slope, intercept = fit.calibration(scores, ys)
    assert slope > 0  # a higher rank is a likelier answer
    model, _ = fit.fit_trees(xs, ys, names, (slope, intercept))
    x = rng.normal(size=(200, 4))
    expected = 1 / (1 + np.exp(-(slope * booster.predict(x) + intercept)))
    assert np.allclose(model.probability(x), expected, atol=1e-4)
    order = np.argsort(-model.probability(x))
    assert (x[order[:20], 0] + 0.5 * x[order[:20], 1]).mean() > 1.0
