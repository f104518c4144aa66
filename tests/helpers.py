from __future__ import annotations

from pathlib import Path

from ingest.chunking import Chunker
from ingest.loaders import RawRelease
from ingest.metadata import build_release
from qa_bot.tokens import TokenCounter
from qa_bot.types import Chunk, Release


def chunker(tmp: Path) -> Chunker:
    return Chunker(tokens=TokenCounter(cache_dir=tmp / "tiktoken"))


def release(
    text: str,
    *,
    release_id: str,
    title: str = "A title",
    date: str = "2010-07-14",
    language: str | None = "en",
) -> Release:
    raw = RawRelease(
        source=f"/data/{release_id}.json",
        text=text,
        title=title,
        date=date,
        language=language,
        release_id=release_id,
        kind="record",
    )
    return build_release(raw)


def chunked(tmp: Path, rel: Release, version: str) -> tuple[Release, str, list[Chunk]]:
    return rel, version, chunker(tmp).chunk(rel, version)


def minimal_pdf(lines: list[str], title: str | None = None) -> bytes:
    """A real one-page PDF with a text layer (Helvetica), built by hand."""
    ops = ["BT", "/F1 12 Tf", "72 720 Td", "14 TL"]
    for line in lines:
        escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ops.append(f"({escaped}) Tj T*")
    ops.append("ET")
    stream = "\n".join(ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    if title:
        objects.append(b"<< /Title (" + title.encode("latin-1") + b") >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    info = b" /Info %d 0 R" % len(objects) if title else b""
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        info,
        xref,
    )
    return bytes(out)
