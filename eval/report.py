"""Per-question view of an eval run: python eval/report.py eval/dev.jsonl PREDICTIONS.jsonl"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from qa_bot.evaluation import contains, load_items


def main() -> None:
    items = {i.id: i for i in load_items(Path(sys.argv[1]))}
    for line in Path(sys.argv[2]).read_text(encoding="utf-8").splitlines():
        pred = json.loads(line)
        item = items[pred["id"]]
        ranked = list(dict.fromkeys(p["release_id"] for p in pred["passages"]))[:5]
        hit = any(r in item.source_ids for r in ranked) if item.source_ids else None
        if item.unanswerable:
            ok = pred["abstained"]
        else:
            ok = not pred["abstained"] and all(contains(pred["text"], m) for m in item.must_include)
        flag = "ok " if ok else "BAD"
        print(f"{flag} {item.id:24} recall={hit} abst={pred['abstained']} {pred['text'][:150]!r}")


if __name__ == "__main__":
    main()
