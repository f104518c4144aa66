"""Loaders: files into raw release records, or a rejection with its reason.

A loader never raises for a bad file: it yields a :class:`Rejection` naming
the file (and line) and what to do, so one bad file never stops a run. What one
file may cost is bounded by :class:`Limits` (bytes read, bytes unpacked, characters
of a release); a refusal names the limit and the setting that raises it.

    .txt .md        plain text; first line is the title
    .html .htm      a saved web page (trafilatura keeps the article, drops navigation)
    .json           one release object
    .jsonl          one release object per line
    .pdf            text layer (pypdf)
    .docx           paragraphs (python-docx)
"""

from __future__ import annotations

import codecs
import dataclasses
import hashlib
import json
import logging
import os
import stat
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from qa_bot.types import Rejection

SUPPORTED = (".txt", ".md", ".html", ".htm", ".json", ".jsonl", ".pdf", ".docx")
# files that describe a folder rather than being a release in it
FOLDER_NOTES = ("readme", "license", "licence", "changelog", "notice", "attribution")
MB = 1024 * 1024
# pypdf's own warnings ("EOF marker not found") reached the terminal beside the rejection
# that says what is wrong with the file and what to do
logging.getLogger("pypdf").setLevel(logging.ERROR)
TOO_DEEP = "JSON nested too deeply to read: a release is a flat object; fix or remove it"
# byte order marks of the encodings a NUL byte is legitimate in (longest first)
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass(frozen=True)
class Limits:
    """What one file may cost; the defaults keep any ingest well inside a 2-core, 24 GB
    machine (see the README's configuration table)."""

    file_bytes: int = 32 * MB
    """QA_BOT_MAX_FILE_MB: a bigger file is rejected before it is read."""
    unpacked_bytes: int = 64 * MB
    """QA_BOT_MAX_UNPACKED_MB: a DOCX whose parts inflate past this is rejected unparsed."""
    release_chars: int = 500_000
    """QA_BOT_MAX_RELEASE_CHARS: longest release text."""
    release_chunks: int = 2000
    """QA_BOT_MAX_RELEASE_CHUNKS: most chunks (sentences) of one release."""

    def too_long(self, source: str, chars: int) -> Rejection:
        return Rejection(
            source,
            f"release too long ({chars:,} characters; the limit is {self.release_chars:,}, "
            "QA_BOT_MAX_RELEASE_CHARS): split it, or raise QA_BOT_MAX_RELEASE_CHARS",
        )


def display_path(path: Path | str) -> str:
    """A path as text that can be stored and printed: a file name that is not valid
    UTF-8 keeps its other characters, with each undecodable byte shown as ``\\xNN``."""
    raw = os.fsencode(path)
    return raw.decode("utf-8", "backslashreplace")


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
    line: int | None = None
    """The line of a JSON Lines record (not part of the release: moving it changes nothing)."""

    @property
    def where(self) -> str:
        """Where to find it, for a message: the file, and the line of a record."""
        return f"{self.source}:{self.line}" if self.line else self.source

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

    @field_validator("date", mode="before")
    @classmethod
    def _date_as_text(cls, value: Any) -> Any:
        """A date written as a number (``20100731``) is read as its digits, not rejected."""
        return (
            str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
        )


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[Rejection], list[str]]:
    """Files to load under ``paths``: (files, rejections, skipped folder notes)."""
    files: list[Path] = []
    rejected: list[Rejection] = []
    skipped: list[str] = []
    for root in paths:
        if not root.exists():
            reason = "broken link" if root.is_symlink() else "no such file or folder"
            rejected.append(Rejection(display_path(root), reason))
            continue
        candidates = [root] if not root.is_dir() else sorted(root.rglob("*"))
        for path in candidates:
            if path.is_dir():
                continue
            rel = path.relative_to(root) if root.is_dir() else Path(path.name)
            if any(part.startswith(".") for part in rel.parts):
                continue  # hidden files and folders (.git, .DS_Store)
            if root.is_dir() and path.stem.lower().split(".")[0] in FOLDER_NOTES:
                skipped.append(display_path(path))
                continue
            if not path.is_file():  # never opened: reading a FIFO would wait forever
                rejected.append(Rejection(display_path(path), _not_regular(path)))
                continue
            if path.suffix.lower() not in SUPPORTED:
                rejected.append(
                    Rejection(
                        display_path(path),
                        f"unsupported file type {path.suffix or '(none)'!r}: "
                        f"convert it to one of {' '.join(SUPPORTED)}",
                    )
                )
                continue
            files.append(path)
    return files, rejected, skipped


def _not_regular(path: Path) -> str:
    if path.is_symlink() and not path.exists():
        return "broken link: it points to a file that does not exist"
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        return f"cannot read the file: {exc.strerror}"
    kind = (
        "a FIFO (named pipe)"
        if stat.S_ISFIFO(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "not a regular file"
    )
    return f"{kind}, not a file: ingest reads only regular files; copy its content to a file"


def load_file(path: Path, limits: Limits | None = None) -> Iterator[Loaded]:
    """The releases in one file, or why not: never raises for a bad file."""
    limits = limits or Limits()
    source = display_path(path)
    try:
        for loaded in _load_file(path, source, limits):
            if isinstance(loaded, RawRelease) and len(loaded.text) > limits.release_chars:
                yield limits.too_long(loaded.where, len(loaded.text))
            else:
                yield loaded
    except RecursionError:
        yield Rejection(source, "nested too deeply to read (recursion limit): flatten the data")
    except MemoryError:
        yield Rejection(source, "too large to read in memory: split the file")
    except Exception as exc:  # a parser's bug or a format we did not foresee: one file only
        yield Rejection(
            source,
            f"could not be read ({type(exc).__name__}: {str(exc)[:200]}): "
            "re-save or convert the file",
        )


def _load_file(path: Path, source: str, limits: Limits) -> Iterator[Loaded]:
    suffix = path.suffix.lower()
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            yield Rejection(source, _not_regular(path))
            return
        if st.st_size > limits.file_bytes:
            yield Rejection(
                source,
                f"file too large ({st.st_size / MB:,.1f} MB; the limit is "
                f"{limits.file_bytes / MB:,.0f} MB, QA_BOT_MAX_FILE_MB): split it, or raise "
                "QA_BOT_MAX_FILE_MB",
            )
            return
        if suffix in (".txt", ".md") and st.st_size > 4 * limits.release_chars:
            # the whole file is one release, and no character takes more than 4 bytes
            yield limits.too_long(source, st.st_size // 4)
            return
        with open(path, "rb") as fh:
            data = fh.read(limits.file_bytes + 1)
    except OSError as exc:
        yield Rejection(source, f"cannot read the file: {exc.strerror}")
        return
    if len(data) > limits.file_bytes:
        yield Rejection(source, "file grew past QA_BOT_MAX_FILE_MB while being read")
        return
    path = Path(source)  # the name as it is stored and shown from here on
    if not data.strip():
        yield Rejection(str(path), "empty file: add the release text or remove the file")
        return
    if suffix == ".pdf":
        yield _load_pdf(path, data, limits)
    elif suffix == ".docx":
        yield _load_docx(path, data, limits)
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
    """UTF-8 (with or without BOM), UTF-16/32 with a BOM, else the encoding
    charset-normalizer finds."""
    for bom, encoding in BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                return Rejection(
                    str(path),
                    f"undecodable text: it starts as {encoding.upper()} but is not; "
                    "save it as UTF-8",
                )
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
    if path.suffix.lower() == ".md":
        text = markdown_text(text)
        if not text.strip():
            return Rejection(str(path), "no text in the file (only Markdown markup)")
        return RawRelease(source=str(path), text=text, kind="markdown")
    return RawRelease(source=str(path), text=text, kind="text")


def markdown_text(source: str) -> str:
    """The text of a Markdown file without its markup (markdown-it-py, CommonMark): one
    paragraph per block (heading, paragraph, list item, quote), its wrapped lines joined;
    emphasis, links and code marks dropped, their words kept ("The **Board**" -> "The
    Board")."""
    from markdown_it import MarkdownIt

    blocks: list[str] = []
    for token in MarkdownIt("commonmark").parse(source):
        if token.type == "inline":
            words = []
            for child in token.children or ():
                if child.type in ("text", "code_inline"):
                    words.append(child.content)
                elif child.type == "softbreak":
                    words.append(" ")
                elif child.type == "hardbreak":
                    words.append("\n")
            blocks.append("".join(words).strip())
        elif token.type in ("fence", "code_block"):
            blocks.append(token.content.strip())
    return "\n\n".join(b for b in blocks if b)


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
        fix = (
            "; for several releases write one object per line in a .jsonl file"
            if isinstance(obj, list)
            else ""
        )
        return Rejection(
            source,
            f"expected a JSON object (a release: title, date, body), found "
            f"{type(obj).__name__}{fix}",
        )
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
    except RecursionError:
        return Rejection(str(path), TOO_DEEP)
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
        except RecursionError:
            yield Rejection(source, f"line {lineno}: {TOO_DEEP}")
            continue
        loaded = _record(str(path), obj)
        if isinstance(loaded, Rejection):
            yield Rejection(source, f"line {lineno}: {loaded.reason}")
        else:
            yield dataclasses.replace(loaded, line=lineno)


def _load_pdf(path: Path, data: bytes, limits: Limits) -> Loaded:
    import io

    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError, PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            return Rejection(str(path), "encrypted PDF: save an unprotected copy")
        pages: list[str] = []
        chars = 0
        for page in reader.pages:  # stops as soon as the text is too long for a release
            pages.append(page.extract_text() or "")
            chars += len(pages[-1])
            if chars > limits.release_chars:
                return limits.too_long(str(path), chars)
        title = (reader.metadata.title if reader.metadata else None) or None
    except LimitReachedError as exc:
        return Rejection(
            str(path),
            f"PDF content inflates past pypdf's safety limit ({exc}): re-export it as PDF or text",
        )
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        return Rejection(str(path), f"unreadable PDF ({exc}): re-export it as PDF or text")
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        return Rejection(str(path), "no text layer in the PDF (scanned?): run OCR first")
    return RawRelease(source=str(path), text=text, title=title, kind="text")


def _load_docx(path: Path, data: bytes, limits: Limits) -> Loaded:
    import io
    import zipfile

    import docx

    try:
        # python-docx inflates every part into memory: what the zip declares (and
        # zipfile enforces while reading) is checked first
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > limits.unpacked_bytes:
            return Rejection(
                str(path),
                f"DOCX inflates to {unpacked / MB:,.0f} MB (the limit is "
                f"{limits.unpacked_bytes / MB:,.0f} MB, QA_BOT_MAX_UNPACKED_MB): remove large "
                "images or embedded files, or raise QA_BOT_MAX_UNPACKED_MB",
            )
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # BadZipFile, KeyError, lxml's XMLSyntaxError, ...
        return Rejection(
            str(path),
            f"unreadable DOCX ({type(exc).__name__}: {str(exc)[:200]}): re-save it from your "
            "editor",
        )
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
