"""`qa-bot eval`: answer a question set and measure retrieval and answers.

Input lines: ``{"id", "question"}`` and optionally ``"must_include": [...]``,
``"source_ids": [...]``, ``"type": "unanswerable"``, ``"history": [questions]``.
Metrics over the lines that carry the reference they need:

- recall@5 and MRR of the first relevant release, by ``source_ids``;
- must_include accuracy: every string in the answer (case- and accent-insensitive,
  written dates normalised so "28 February 2024", "28 février 2024" and
  "2024-02-28" match);
- abstention precision and recall (``type: unanswerable`` is the positive class),
  and the share of answerable questions wrongly refused;
- citation precision: cited releases that are in ``source_ids``;
- latency p50/p95 in ms;
- with a model (``model=True``), what became of its answers: the share kept as written
  (every sentence backed), with sentences dropped or marked, replaced by the offline answer
  (no sentence backed, or the model failed), refused by the model (``NOT_IN_RELEASES``); the
  share of shown sentences the support check backs, and of shown cited sentences that
  cite a release of ``source_ids``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import QaBotError
from .text import fold, normalize_dates
from .types import Answer, Turn


@dataclass(frozen=True)
class Item:
    id: str
    question: str
    must_include: tuple[str, ...] = ()
    source_ids: tuple[str, ...] = ()
    unanswerable: bool = False
    history: tuple[str, ...] = ()


def load_items(path: Path) -> list[Item]:
    """The questions of a JSONL file; a clear error naming the file (and line) otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise QaBotError(f"{path}: no such file: give the path of a JSONL question file") from None
    except IsADirectoryError:
        raise QaBotError(f"{path} is a directory: give the path of a JSONL question file") from None
    except UnicodeDecodeError:
        raise QaBotError(f"{path}: not UTF-8 text: save the question file as UTF-8") from None
    except OSError as exc:
        raise QaBotError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    items = []
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise TypeError("not a JSON object")
            lists = {key: row.get(key) or [] for key in ("must_include", "source_ids", "history")}
            for key, value in lists.items():
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise TypeError(f"{key!r} must be a list of strings")
            if not isinstance(row["question"], str):
                raise TypeError("'question' must be a string")
            items.append(
                Item(
                    id=str(row["id"]),
                    question=row["question"],
                    must_include=tuple(lists["must_include"]),
                    source_ids=tuple(lists["source_ids"]),
                    unanswerable=row.get("type") == "unanswerable",
                    history=tuple(lists["history"]),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise QaBotError(
                f"{path}:{lineno}: not a question line ({exc}); each line needs "
                'at least {"id": ..., "question": ...}, and "must_include", "source_ids" '
                'and "history" (earlier questions) are lists of strings'
            ) from None
    if not items:
        raise QaBotError(f"{path} holds no questions: one JSON object a line")
    return items


def check_out(out: Path | None) -> None:
    """Fail before answering, not after, when the answers could not be written."""
    if out is None:
        return
    if out.is_dir():
        raise QaBotError(
            f"--out {out} is a directory: give a file path, e.g. {out / 'answers.jsonl'}"
        )
    if not out.parent.is_dir():
        raise QaBotError(f"--out {out}: the directory {out.parent} does not exist: create it first")


def contains(answer: str, needle: str) -> bool:
    return fold(normalize_dates(needle)) in fold(normalize_dates(answer))


@dataclass
class Scores:
    recall5: list[float] = field(default_factory=list)
    rr: list[float] = field(default_factory=list)
    must: list[float] = field(default_factory=list)
    cited_ok: int = 0
    cited: int = 0
    abstain_tp: int = 0
    abstain_fp: int = 0
    abstain_fn: int = 0
    answerable: int = 0
    latency: list[float] = field(default_factory=list)
    model: bool = False
    outcomes: dict[str, int] = field(default_factory=dict)
    shown: int = 0
    shown_supported: int = 0
    shown_cited: int = 0
    shown_cite_gold: int = 0

    def add_model(self, item: Item, answer: Mapping[str, Any]) -> None:
        """What became of a model's answer, from its JSON (``Answer.as_json()``, as
        ``--out`` writes it, so that a predictions file can be scored the same way)."""
        sentences = answer.get("sentences") or []
        if answer["generator"] != "openai":
            outcome = "replaced"
        elif answer["abstained"]:
            outcome = "refused"
        elif all(c["shown"] and c["verdict"] == "supported" for c in sentences):
            outcome = "kept"
        else:
            outcome = "dropped"
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        if answer["generator"] != "openai":
            return
        released = {c["n"]: c["release_id"] for c in answer["citations"]}
        for claim in sentences:
            if not claim["shown"]:
                continue
            self.shown += 1
            self.shown_supported += claim["verdict"] == "supported"
            if claim["citations"] and item.source_ids and not item.unanswerable:
                self.shown_cited += 1
                self.shown_cite_gold += any(
                    released[n] in item.source_ids for n in claim["citations"]
                )

    def add(self, item: Item, answer: Answer, ranked_ids: Sequence[str]) -> None:
        if self.model:
            self.add_model(item, answer.as_json())
        ranked = list(dict.fromkeys(ranked_ids))
        if item.source_ids and not item.unanswerable:
            relevant = set(item.source_ids)
            self.recall5.append(float(any(r in relevant for r in ranked[:5])))
            rank = next((i for i, r in enumerate(ranked, 1) if r in relevant), None)
            self.rr.append(1.0 / rank if rank else 0.0)
            for c in answer.citations:
                self.cited += 1
                self.cited_ok += c.release_id in relevant
        if item.must_include and not item.unanswerable:
            self.must.append(
                float(
                    not answer.abstained
                    and all(contains(answer.text, m) for m in item.must_include)
                )
            )
        if item.unanswerable:
            self.abstain_tp += answer.abstained
            self.abstain_fn += not answer.abstained
        else:
            self.answerable += 1
            self.abstain_fp += answer.abstained
        self.latency.append(answer.timings.get("total", 0.0))

    def summary(self) -> dict[str, Any]:
        def mean(xs: list[float]) -> float | None:
            return round(sum(xs) / len(xs), 3) if xs else None

        def pct(q: float) -> float | None:
            if not self.latency:
                return None
            xs = sorted(self.latency)
            return round(xs[min(len(xs) - 1, int(q * len(xs)))], 1)

        predicted = self.abstain_tp + self.abstain_fp
        actual = self.abstain_tp + self.abstain_fn
        model = self.model_summary() if self.model else {}
        return {
            "recall@5": mean(self.recall5),
            "mrr": mean(self.rr),
            "must_include": mean(self.must),
            "abstention_precision": round(self.abstain_tp / predicted, 3) if predicted else None,
            "abstention_recall": round(self.abstain_tp / actual, 3) if actual else None,
            "false_refusals": round(self.abstain_fp / self.answerable, 3)
            if self.answerable
            else None,
            "citation_precision": round(self.cited_ok / self.cited, 3) if self.cited else None,
            "latency_p50_ms": pct(0.5),
            "latency_p95_ms": pct(0.95),
            "questions": len(self.latency),
            **model,
        }

    def model_summary(self) -> dict[str, Any]:
        n = sum(self.outcomes.values())
        model: dict[str, Any] = {
            f"model_{k}": round(self.outcomes.get(k, 0) / n, 3) if n else None
            for k in ("kept", "dropped", "replaced", "refused")
        }
        model["shown_sentences_backed"] = (
            round(self.shown_supported / self.shown, 3) if self.shown else None
        )
        model["shown_sentences_cite_gold"] = (
            round(self.shown_cite_gold / self.shown_cited, 3) if self.shown_cited else None
        )
        return model


def model_outcomes(
    items: Iterable[Item], predictions: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """What became of a model's answers in a predictions file (``id`` -> answer JSON), for
    the items it holds: the figures ``run(..., model=True)`` adds to its summary."""
    scores = Scores(model=True)
    for item in items:
        if item.id in predictions:
            scores.add_model(item, predictions[item.id])
    return {"questions": sum(scores.outcomes.values()), **scores.model_summary()}


Ask = Callable[[str, Sequence[Turn]], tuple[Answer, Sequence[str]]]
"""(question, history) -> (answer, release ids ranked by retrieval)."""


def run(
    items: Iterable[Item], ask: Ask, out: Path | None, *, model: bool = False
) -> dict[str, Any]:
    """Answer every item and score; ``model``: also what became of a model's answers."""
    scores = Scores(model=model)
    sink = out.open("w", encoding="utf-8") if out else None
    try:
        for item in items:
            history: list[Turn] = []
            for earlier in item.history:
                answer, _ = ask(earlier, history)
                history.append(Turn(earlier, answer))
            answer, ranked = ask(item.question, history)
            scores.add(item, answer, ranked)
            if sink:
                sink.write(
                    json.dumps({"id": item.id, **answer.as_json()}, ensure_ascii=False) + "\n"
                )
    finally:
        if sink:
            sink.close()
    return scores.summary()
