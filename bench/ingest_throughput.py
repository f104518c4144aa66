"""Ingest throughput: the whole pipeline against the raw default embedder.

Prints, on the same sentences (the chunks the pipeline embeds):
- raw: the default embedder alone, warm, in batches (sentences/s);
- pipeline: `Ingestor.run` into an empty store: discovery, loading, metadata,
  language detection, chunking, embedding and Chroma writes (sentences/s);
- the ratio, and a second identical run (everything unchanged) against the first.

    python bench/ingest_throughput.py [PATH ...]   (default: ../shared/corpus)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    from ingest.chunking import Chunker
    from ingest.loaders import RawRelease, discover, load_file
    from ingest.metadata import build_release
    from ingest.pipeline import build_ingestor
    from qa_bot.app import build_app
    from qa_bot.embedders import UseMultilingualEmbedder
    from qa_bot.settings import load_settings

    root = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "paths", nargs="*", type=Path, help="release files or folders (default: ../shared/corpus)"
    )
    paths = parser.parse_args().paths or [root.parent / "shared" / "corpus"]

    with tempfile.TemporaryDirectory() as tmp:
        app = build_app(load_settings(store=Path(tmp) / "store", cache_dir=Path(tmp) / "cache"))
        ingestor = build_ingestor(app)
        chunker: Chunker = ingestor.chunker

        # the sentences the pipeline embeds
        files, _, _ = discover(paths)
        raws = [r for f in files for r in load_file(f) if isinstance(r, RawRelease)]
        sentences = [c.text for raw in raws for c in chunker.chunk(build_release(raw), "bench")]
        if not sentences:
            missing = [str(p) for p in paths if not p.exists()]
            sys.exit(
                f"no release to ingest under {' '.join(map(str, paths))}"
                + (f" ({', '.join(missing)}: no such file or folder)" if missing else "")
            )

        raw_embedder = UseMultilingualEmbedder()
        raw_embedder.embed(["warm up"])
        started = time.perf_counter()
        for i in range(0, len(sentences), app.settings.batch_size):
            raw_embedder.embed(sentences[i : i + app.settings.batch_size])
        raw_seconds = time.perf_counter() - started

        app.store.count_releases()  # import chromadb and open the client: not throughput
        first = ingestor.run(paths)
        second = ingestor.run(paths)

    raw_rate = len(sentences) / raw_seconds
    pipe_rate = first.chunks / first.seconds
    print(f"sentences:            {len(sentences)} in {len(raws)} releases")
    print(f"raw embedder:         {raw_seconds:6.2f} s  {raw_rate:7.1f} sentences/s")
    print(
        f"pipeline, empty store:{first.seconds:6.2f} s  {pipe_rate:7.1f} sentences/s "
        f"({first.added} added, {first.embedded} distinct sentences embedded)"
    )
    print(f"ratio pipeline/raw:   {pipe_rate / raw_rate:.2f}   (goal >= 0.60)")
    print(
        f"second run:           {second.seconds:6.2f} s  ({second.unchanged} unchanged, "
        f"{second.embedded} embedded) = {second.seconds / first.seconds:.1%} of the first "
        "(goal < 20%)"
    )


if __name__ == "__main__":
    main()
