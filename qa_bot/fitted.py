"""The fitted parameters of retrieval and of the extractive answerer.

``params.json`` beside this module is written by ``eval/fit.py`` (rerunning it reproduces
the file) and read here; no weight or threshold that decides an answer is typed in the
code. Two logistic models and three selection numbers:

- ``sentence``: the probability that a candidate sentence answers the question;
- ``abstain``: the probability that the releases do not answer it (the question-level
  features), refused at ``abstain.threshold``;
- ``select``: a further sentence joins the answer when its probability is at least
  ``extra`` times the best one's, up to ``max_sentences``;
- ``retrieval``: the fusion weights of :class:`qa_bot.retrieval.RetrievalConfig`.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from .answering.features import QUESTION_FEATURES, SENTENCE_FEATURES


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
        if features != expected:
            raise ValueError(
                "params.json was fitted on other features: run `python eval/fit.py` again"
            )
        return cls(
            features=features,
            coef=tuple(data["coef"]),
            intercept=float(data["intercept"]),
            mean=tuple(data["mean"]),
            scale=tuple(data["scale"]),
        )


@dataclass(frozen=True)
class Params:
    sentence: Logistic
    abstain: Logistic
    abstain_threshold: float
    extra: float
    max_sentences: int
    retrieval: dict[str, float]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Params:
        return cls(
            sentence=Logistic.from_json(data["sentence"], SENTENCE_FEATURES),
            abstain=Logistic.from_json(data["abstain"], QUESTION_FEATURES),
            abstain_threshold=float(data["abstain"]["threshold"]),
            extra=float(data["select"]["extra"]),
            max_sentences=int(data["select"]["max_sentences"]),
            retrieval={k: float(v) for k, v in data["retrieval"].items()},
        )


@functools.cache
def load() -> Params:
    """The parameters shipped with the package."""
    text = resources.files("qa_bot").joinpath("params.json").read_text("utf-8")
    return Params.from_json(json.loads(text))
