"""Recall of Chroma's own vector index of the chunks against exact search.

usage: python bench/chroma_recall.py --store DIR [--k 10]

qa-bot searches its exact index beside the store; Chroma's graph (``CHUNK_HNSW``) serves
other clients of the collection (LangChain's ``Chroma``). For each of the 120 shared
questions this compares Chroma's ``k`` nearest chunks with the exact ``k`` nearest (cosine
over every stored vector) and prints the mean share found, and the lowest.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
QUESTIONS = ROOT.parent / "shared" / "eval" / "questions.jsonl"


def main() -> None:
    import numpy as np

    from qa_bot.app import build_app
    from qa_bot.evaluation import load_items
    from qa_bot.settings import load_settings

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()

    app = build_app(load_settings(store=args.store, generator="extractive"), create=False)
    ids, vectors = [], []
    for meta, _, vector in app.store.chunk_vectors():
        ids.append(meta["chunk_id"])
        vectors.append(vector)
    matrix = np.asarray(vectors, dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    names = np.array(ids)
    questions = [item.question for item in load_items(QUESTIONS)]
    recalls = []
    for vector in np.asarray(app.embedder.embed(questions), dtype=np.float32):
        exact = set(names[np.argsort(-(matrix @ vector), kind="stable")[: args.k]])
        found = {m["chunk_id"] for m, _ in app.store.query(vector.tolist(), k=args.k, where=None)}
        recalls.append(len(exact & found) / args.k)
    hnsw = app.store._cols()[0].configuration_json.get("hnsw")
    print(f"Chroma graph {hnsw}")
    print(
        f"recall@{args.k} against exact search over {len(questions)} questions: "
        f"mean {np.mean(recalls):.2f}, lowest {min(recalls):.2f} ({len(ids):,} chunks)"
    )


if __name__ == "__main__":
    main()
