"""Loaders: files into raw release records, or a rejection with its reason.

A loader never raises for a bad file: it yields a :class:`Rejection` naming
the file (and line) and what to do, so one bad file never stops a run.

    .txt .md        plain text; first line is the title
    .html .htm      a saved web page (trafilatura keeps the article, drops navigation)
    .json           one release object
    .jsonl          one release object per line
    .pdf            text layer (pypdf)
    .docx           paragraphs (python-docx)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from qa_bot.types import Rejection

SUPPORTED = (".txt", ".md", ".html", ".htm", ".json", ".jsonl", ".pdf", ".docx")
# files that describe a folder rather than being a release in it
FOLDER_NOTES = ("readme", "license", "licence", "changelog", "notice", "attribution")


@dataclass(frozen=True)
class RawRelease:
    """A release as found in its source, before metadata extraction."""

    source: str
    text: str
    title: str | None = None
    date: str | None = None
    language: str | None = None
    url: str | None = None
    release_id: str | None = None
    kind: str = "text"
    """text | html | record | document: tells metadata how much structure to expect."""
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        payload = json.dumps(
            [
                self.text,
                self.title,
                self.date,
                self.language,
                self.url,
                self.release_id,
                self.kind,
                sorted(self.extra.items()),
            ],
            ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


Loaded = RawRelease | Rejection


class ReleaseRecord(BaseModel):
    """One release in a .json or .jsonl file."""

    model_config = ConfigDict(extra="allow")

    id: str | int | None = None
    title: str | None = None
    date: str | None = None
    language: str | None = None
    url: str | None = None
    body: str | None = None
    text: str | None = None

    @field_validator("title", "date", "language", "url", "body", "text", mode="before")
    @classmethod
    def _strings(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[Rejection], list[str]]:
    """Files to load under ``paths``: (files, rejections, skipped folder notes)."""
    files: list[Path] = []
    rejected: list[Rejection] = []
    skipped: list[str] = []
    for root in paths:
        if not root.exists():
            rejected.append(Rejection(str(root), "no such file or folder"))
            continue
        candidates = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in candidates:
            rel = path.relative_to(root) if root.is_dir() else Path(path.name)
            if any(part.startswith(".") for part in rel.parts):
                continue  # hidden files and folders (.git, .DS_Store)
            if root.is_dir() and path.stem.lower().split(".")[0] in FOLDER_NOTES:
                skipped.append(str(path))
                continue
            if path.suffix.lower() not in SUPPORTED:
                rejected.append(
                    Rejection(
                        str(path),
                        f"unsupported file type {path.suffix or '(none)'!r}: "
                        f"convert it to one of {' '.join(SUPPORTED)}",
                    )
                )
                continue
            files.append(path)
    return files, rejected, skipped


def load_file(path: Path) -> Iterator[Loaded]:
    suffix = path.suffix.lower()
    try:
        data = path.read_bytes()
    except OSError as exc:
        yield Rejection(str(path), f"cannot read the file: {exc.strerror}")
        return
    if not data.strip():
        yield Rejection(str(path), "empty file: add the release text or remove the file")
        return
    if suffix == ".pdf":
        yield _load_pdf(path, data)
    elif suffix == ".docx":
        yield _load_docx(path, data)
    else:
        text = decode_text(path, data)
        if isinstance(text, Rejection):
            yield text
        elif suffix in (".html", ".htm"):
            yield _load_html(path, text)
        elif suffix == ".json":
            yield _load_json(path, text)
        elif suffix == ".jsonl":
            yield from _load_jsonl(path, text)
        else:
            yield _load_text(path, text)


def decode_text(path: Path, data: bytes) -> str | Rejection:
    """UTF-8 (with or without BOM), else the encoding charset-normalizer finds."""
    if b"\x00" in data[:8192]:
        return Rejection(
            str(path),
            f"binary content in a {path.suffix} file: it is not text; remove it or "
            "export the document as UTF-8 text",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(
        data, cp_isolation=["cp1252", "latin_1", "iso8859_15", "mac_roman", "utf_16", "cp850"]
    ).best()
    if best is None or best.chaos > 0.3:
        return Rejection(
            str(path), "undecodable text: not UTF-8 and no other encoding fits; save it as UTF-8"
        )
    return str(best)


def _load_text(path: Path, text: str) -> Loaded:
    if not text.strip():
        return Rejection(str(path), "no text in the file")
    kind = "markdown" if path.suffix.lower() == ".md" else "text"
    return RawRelease(source=str(path), text=text, kind=kind)


def _load_html(path: Path, html: str) -> Loaded:
    import trafilatura

    extracted = trafilatura.bare_extraction(
        html, with_metadata=True, include_comments=False, include_tables=True
    )
    doc: dict[str, Any] = {}
    if extracted is not None:
        doc = extracted if isinstance(extracted, dict) else extracted.as_dict()
    if not (doc.get("text") or "").strip():
        return Rejection(str(path), "no article text found in the HTML page")
    return RawRelease(
        source=str(path),
        text=doc["text"],
        title=doc.get("title") or None,
        date=doc.get("date") or None,
        url=doc.get("url") or None,
        language=None,
        kind="html",
    )


def _record(source: str, obj: Any) -> Loaded:
    if not isinstance(obj, dict):
        return Rejection(source, f"expected a JSON object, found {type(obj).__name__}")
    try:
        rec = ReleaseRecord.model_validate(obj)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return Rejection(source, f"field {where!r}: {first['msg']}")
    body = rec.body or rec.text
    if not body:
        return Rejection(source, "the record has no 'body' (or 'text'): add the release text")
    extra = {
        k: str(v) for k, v in (rec.model_extra or {}).items() if isinstance(v, str | int | float)
    }
    return RawRelease(
        source=source,
        text=body,
        title=rec.title,
        date=rec.date,
        language=rec.language,
        url=rec.url,
        release_id=str(rec.id) if rec.id not in (None, "") else None,
        kind="record",
        extra=extra,
    )


def _load_json(path: Path, text: str) -> Loaded:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return Rejection(str(path), f"invalid JSON at line {exc.lineno}: {exc.msg}")
    return _record(str(path), obj)


def _load_jsonl(path: Path, text: str) -> Iterator[Loaded]:
    for lineno, line in enumerate(text.split("\n"), start=1):  # not splitlines: U+2028 is data
        if not line.strip():
            continue
        source = f"{path}:{lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Rejection(
                source, f"line {lineno}: invalid JSON ({exc.msg}); fix or remove that line"
            )
            continue
        loaded = _record(str(path), obj)
        if isinstance(loaded, Rejection):
            yield Rejection(source, f"line {lineno}: {loaded.reason}")
        else:
            yield loaded


def _load_pdf(path: Path, data: bytes) -> Loaded:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            return Rejection(str(path), "encrypted PDF: save an unprotected copy")
        pages = [page.extract_text() or "" for page in reader.pages]
        title = (reader.metadata.title if reader.metadata else None) or None
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        return Rejection(str(path), f"unreadable PDF ({exc}): re-export it as PDF or text")
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        return Rejection(str(path), "no text layer in the PDF (scanned?): run OCR first")
    return RawRelease(source=str(path), text=text, title=title, kind="text")


def _load_docx(path: Path, data: bytes) -> Loaded:
    import io
    import zipfile

    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        return Rejection(str(path), f"unreadable DOCX ({exc}): re-save it from your editor")
    paragraphs = [p.text.strip() for p in document.paragraphs if p.text.strip()]
    if not paragraphs:
        return Rejection(str(path), "no text in the DOCX document")
    props = document.core_properties
    created = props.created.date().isoformat() if props.created else None
    return RawRelease(
        source=str(path),
        text="\n\n".join(paragraphs),
        title=props.title or None,
        date=None,
        kind="document",
        extra={"created": created} if created else {},
    )
