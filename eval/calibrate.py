"""Grid over the fusion weights on the dev set (one warm process).

python eval/calibrate.py eval/dev.jsonl STORE_DIR
"""

from __future__ import annotations

import dataclasses
import itertools
import sys
from pathlib import Path

from qa_bot.app import build_app
from qa_bot.evaluation import load_items, run
from qa_bot.retrieval import RetrievalConfig
from qa_bot.settings import load_settings


def main() -> None:
    items = load_items(Path(sys.argv[1]))
    app = build_app(load_settings(store=Path(sys.argv[2]), generator="extractive"))
    qa = app.qa()
    print(
        f"{'lexical':>8}{'dense':>7}{'passage':>8}{'recall@5':>9}{'mrr':>7}{'must':>7}"
        f"{'abst_r':>7}{'false_r':>8}{'cite_p':>7}"
    )
    grid = itertools.product([1.0], [0.3, 0.6, 1.0], [0.5, 1.0, 2.0])
    for lex, dense, passage in grid:
        app.retriever.config = dataclasses.replace(
            RetrievalConfig(), lexical_weight=lex, dense_weight=dense, passage_weight=passage
        )

        def ask(question, history):  # type: ignore[no-untyped-def]
            answer = qa.ask(question, history=history)
            return answer, [p.release_id for p in answer.passages]

        s = run(items, ask, None)
        print(
            f"{lex:8}{dense:7}{passage:8}{s['recall@5']:9}{s['mrr']:7}{s['must_include']:7}"
            f"{s['abstention_recall']:7}{s['false_refusals']:8}{s['citation_precision']:7}"
        )


if __name__ == "__main__":
    main()
