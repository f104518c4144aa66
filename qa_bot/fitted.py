"""The fitted parameters of retrieval and of the extractive answerer.

``params.json`` beside this module is written by ``eval/fit.py`` (rerunning it reproduces
the file) and read here; no weight or threshold that decides an answer is typed in the
code. Two models and a few selection numbers:

- ``sentence``: the probability that a candidate sentence answers the question (boosted
  trees that rank each question's candidates, LightGBM's LambdaRank, their scores calibrated
  into probabilities: which signal matters depends on the others, e.g. a rare name on a
  *who* question);
- ``abstain``: the probability that the releases do not answer it (the question-level
  features), refused at ``abstain.threshold``;
- ``add``: the probability that a further candidate adds to the answer what the best one
  lacks (a question that asks two things, a list, two releases); it joins at
  ``add.threshold``, up to ``add.max_sentences`` sentences in all;
- ``retrieval``: the fusion weights of :class:`qa_bot.retrieval.RetrievalConfig`.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from .answering.features import ADD_FEATURES, QUESTION_FEATURES, SENTENCE_FEATURES


@dataclass(frozen=True)
class Logistic:
    features: tuple[str, ...]
    coef: tuple[float, ...]
    intercept: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]

    def probability(self, x: Any) -> Any:
        """P(y=1) per row of ``x`` (columns in ``features`` order)."""
        import numpy as np

        z = (np.asarray(x, dtype=float) - np.array(self.mean)) / np.array(self.scale)
        return 1 / (1 + np.exp(-(z @ np.array(self.coef) + self.intercept)))

    @classmethod
    def from_json(cls, data: dict[str, Any], expected: tuple[str, ...]) -> Logistic:
        features = tuple(data["features"])
        _check(features, expected)
        return cls(
            features=features,
            coef=tuple(data["coef"]),
            intercept=float(data["intercept"]),
            mean=tuple(data["mean"]),
            scale=tuple(data["scale"]),
        )


@dataclass(frozen=True, eq=False)
class Trees:
    """Boosted decision trees (fitted by LightGBM in ``eval/fit.py`` and kept as plain arrays:
    neither LightGBM nor scikit-learn is needed to answer): each tree's nodes send a row left
    when its feature is at most the threshold; the leaves' values, summed over the trees with
    the baseline, are log-odds (the ranker's scores, calibrated)."""

    features: tuple[str, ...]
    baseline: float
    trees: tuple[Any, ...]
    """Five (trees × nodes) numpy arrays: feature (-1 at a leaf), threshold, left, right,
    value (padded with leaves)."""

    def probability(self, x: Any) -> Any:
        """All trees walked at once, one level per step."""
        import numpy as np

        feature, threshold, left, right, value = self.trees
        x = np.asarray(x, dtype=float)
        tree = np.arange(len(feature))[:, None]
        node = np.zeros((len(feature), len(x)), dtype=np.int64)
        inner = feature[tree, node] >= 0
        while inner.any():
            f = np.where(inner, feature[tree, node], 0)
            go_left = x[np.arange(len(x))[None, :], f] <= threshold[tree, node]
            step = np.where(go_left, left[tree, node], right[tree, node])
            node = np.where(inner, step, node)
            inner = feature[tree, node] >= 0
        return 1 / (1 + np.exp(-(self.baseline + value[tree, node].sum(axis=0))))

    @classmethod
    def from_json(cls, data: dict[str, Any], expected: tuple[str, ...]) -> Trees:
        import numpy as np

        _check(tuple(data["features"]), expected)
        kinds = {"feature": np.int64, "threshold": float, "left": np.int64, "right": np.int64,
                 "value": float}  # fmt: skip
        width = max(len(t["feature"]) for t in data["trees"])
        arrays = []
        for name, kind in kinds.items():
            pad = -1 if name == "feature" else 0
            rows = [list(t[name]) + [pad] * (width - len(t[name])) for t in data["trees"]]
            arrays.append(np.array(rows, dtype=kind))
        return cls(
            features=tuple(data["features"]),
            baseline=float(data["baseline"]),
            trees=tuple(arrays),
        )


def _check(features: tuple[str, ...], expected: tuple[str, ...]) -> None:
    if features != expected:
        raise ValueError("params.json was fitted on other features: run `python eval/fit.py` again")


def model_from_json(data: dict[str, Any], expected: tuple[str, ...]) -> Logistic | Trees:
    if data.get("kind") == "trees":
        return Trees.from_json(data, expected)
    return Logistic.from_json(data, expected)


@dataclass(frozen=True)
class Params:
    sentence: Logistic | Trees
    abstain: Logistic
    abstain_threshold: float
    add: Logistic
    add_threshold: float
    max_sentences: int
    retrieval: dict[str, float]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Params:
        return cls(
            sentence=model_from_json(data["sentence"], SENTENCE_FEATURES),
            abstain=Logistic.from_json(data["abstain"], QUESTION_FEATURES),
            abstain_threshold=float(data["abstain"]["threshold"]),
            add=Logistic.from_json(data["add"], ADD_FEATURES),
            add_threshold=float(data["add"]["threshold"]),
            max_sentences=int(data["add"]["max_sentences"]),
            retrieval={k: float(v) for k, v in data["retrieval"].items()},
        )


@functools.cache
def _shipped() -> dict[str, Any]:
    text = resources.files("qa_bot").joinpath("params.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def load() -> Params:
    """The parameters shipped with the package."""
    return Params.from_json(_shipped())


def retrieval_weights() -> dict[str, float]:
    """The fitted fusion weights alone (readable while the answerer is being refitted)."""
    return {k: float(v) for k, v in _shipped()["retrieval"].items()}
