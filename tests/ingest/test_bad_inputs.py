"""Bad files (issue 8): each is one line of the report, never a stop, never an orphan chunk;
limits name the file, the limit and the setting. Fast tier: small files made here, real
loaders, chunker and embedded Chroma, the fake embedder."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from ingest.loaders import Limits, RawRelease, load_file
from ingest.metadata import build_release
from ingest.pipeline import Ingestor
from qa_bot.store import ChromaStore
from qa_bot.types import Rejection
from tests.conftest import EXAMPLES
from tests.fakes import FakeEmbedder
from tests.helpers import chunker

NATO = "2024-02-28-partners-meeting.fr.txt"
TEXT = (
    "Partners meet in Brussels\n\n"
    "The general opened the meeting with partners in Brussels on Monday morning.\n\n"
    "The delegates then discussed training and exercises for the coming year.\n"
)


def _ingestor(tmp: Path, embedder: FakeEmbedder, limits: Limits | None = None) -> Ingestor:
    store = ChromaStore(embedder=embedder, collection="releases", path=tmp / "store")
    return Ingestor(store=store, embedder=embedder, chunker=chunker(tmp), limits=limits)


def _no_orphans(ingestor: Ingestor) -> None:
    index = ingestor.store.release_index()
    assert ingestor.store.count_chunks() == sum(i.chunks for i in index.values())


def _reasons(rejected: tuple[Rejection, ...] | list[Rejection]) -> dict[str, str]:
    return {Path(r.path).name: r.reason for r in rejected}


def _docx(document_xml: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        z.writestr("word/document.xml", document_xml)
    return out.getvalue()


def test_each_bad_file_is_a_line_and_the_rest_is_stored(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    ingestor = _ingestor(tmp_path, fake_embedder)
    ingestor.run([EXAMPLES])
    before = ingestor.store.release_index()

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    good = json.dumps({"id": "fine-1", "title": "Fine", "body": TEXT})
    (bad / "deep-line.jsonl").write_text(good + "\n" + '{"a":' * 50_000 + "1" + "}" * 50_000)
    (bad / "garbage.docx").write_bytes(_docx(b"<w:document><not xml"))
    (bad / "zip-of-noise.docx").write_bytes(b"PK\x03\x04" + os.urandom(2000))
    (bad / "truncated.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog")
    os.mkfifo(bad / "pipe.txt")
    (bad / "utf16.txt").write_bytes(TEXT.replace("Partners", "Allies").encode("utf-16"))
    (bad / os.fsdecode(b"caf\xe9 news.txt")).write_text(TEXT.replace("Brussels", "Mons"))

    report = ingestor.run([bad])
    reasons = _reasons(report.rejected)
    assert set(reasons) == {
        "deep.json",
        "deep-line.jsonl:2",
        "garbage.docx",
        "zip-of-noise.docx",
        "truncated.pdf",
        "pipe.txt",
    }, reasons
    assert "nested too deeply" in reasons["deep.json"]
    assert "unreadable DOCX" in reasons["garbage.docx"]
    assert "FIFO" in reasons["pipe.txt"]
    # the UTF-16 file, the good JSONL line and the file whose name is not UTF-8 are stored
    assert report.added == 3
    index = ingestor.store.release_index()
    assert index["utf16"].title == "Allies meet in Brussels"
    assert any(i.source.endswith("caf\\xe9 news.txt") for i in index.values())
    assert set(before) <= set(index)  # nothing stored before is lost
    _no_orphans(ingestor)

    given = ingestor.run([bad / "pipe.txt"])  # a FIFO named on the command line
    assert "FIFO" in _reasons(given.rejected)["pipe.txt"]


def test_a_bad_pdf_is_one_rejection_and_no_library_noise(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fake = tmp_path / "fake.pdf"
    fake.write_bytes(b"not a pdf at all")
    with caplog.at_level(logging.WARNING):
        loaded = list(load_file(fake))
    assert len(loaded) == 1 and "unreadable PDF" in loaded[0].reason  # type: ignore[union-attr]
    assert not [r for r in caplog.records if r.name.startswith("pypdf")]


def test_limits_name_the_file_the_limit_and_the_setting(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    limits = Limits(file_bytes=50_000, unpacked_bytes=100_000, release_chars=5000)
    ingestor = _ingestor(tmp_path, fake_embedder, limits)
    data = tmp_path / "data"
    data.mkdir()
    (data / "big.json").write_text(json.dumps({"id": "big", "body": "word " * 20_000}))
    (data / "long.txt").write_text("A title\n\n" + "The general spoke again. " * 400)
    (data / "one-line.txt").write_text("A title\n\n" + "x" * 30_000)
    (data / "bomb.docx").write_bytes(_docx(b"<w:document>" + b" " * 5_000_000 + b"</w:document>"))
    (data / "ok.txt").write_text(TEXT)

    report = ingestor.run([data])
    reasons = _reasons(report.rejected)
    assert "QA_BOT_MAX_FILE_MB" in reasons["big.json"]
    assert "QA_BOT_MAX_RELEASE_CHARS" in reasons["long.txt"]
    assert "QA_BOT_MAX_RELEASE_CHARS" in reasons["one-line.txt"]
    assert "QA_BOT_MAX_UNPACKED_MB" in reasons["bomb.docx"]
    assert report.added == 1

    few = _ingestor(tmp_path / "few", fake_embedder, Limits(release_chunks=10))
    many = tmp_path / "many.txt"
    many.write_text("A title\n\n" + " ".join(f"Sentence number {i} is here." for i in range(50)))
    rejected = few.run([many]).rejected
    assert "QA_BOT_MAX_RELEASE_CHUNKS" in rejected[0].reason and "50" in rejected[0].reason
    _no_orphans(few)


def test_a_write_that_fails_leaves_no_orphans_and_the_run_goes_on(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    class OddSource(Ingestor):
        """A release whose source Chroma refuses (a lone surrogate), beside good ones."""

        def _load(self, files, rejected, unread):  # type: ignore[no-untyped-def,override]
            yield from super()._load(files, rejected, unread)
            yield RawRelease(source="/data/caf\udce9.txt", text=TEXT, kind="text")

    store = ChromaStore(embedder=fake_embedder, collection="releases", path=tmp_path / "store")
    ingestor = OddSource(store=store, embedder=fake_embedder, chunker=chunker(tmp_path))
    report = ingestor.run([EXAMPLES / NATO])
    assert report.added == 1 and len(report.rejected) == 1
    assert "could not be stored" in report.rejected[0].reason
    _no_orphans(ingestor)


def test_a_copy_of_the_corpus_elsewhere_is_not_a_second_release(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    ingestor = _ingestor(tmp_path, fake_embedder)
    first, copy = tmp_path / "first", tmp_path / "copy"
    for folder in (first, copy):
        folder.mkdir()
        shutil.copy(EXAMPLES / NATO, folder / NATO)
        shutil.copy(EXAMPLES / "isaf-sample.jsonl", folder / "isaf-sample.jsonl")
    done = ingestor.run([first])
    again = ingestor.run([copy])
    assert (again.added, again.rejected, again.releases) == (0, (), done.releases)
    both = ingestor.run([first, copy])  # both in one run: the copy is skipped, not rejected
    assert (both.added, both.rejected, both.releases) == (0, (), done.releases)
    assert any("the same release as" in s for s in both.skipped)

    # a different file with the same name elsewhere is a release of its own
    other = tmp_path / "other"
    other.mkdir()
    (other / NATO).write_text(TEXT)
    assert ingestor.run([other]).added == 1


@pytest.mark.parametrize(
    ("declared", "code"),
    [("en", "en"), ("en-US", "en"), ("fr_FR", "fr"), ("French", "fr"), ("klingon!!", "en")],
)
def test_declared_language_is_a_code_or_else_detected(declared: str, code: str) -> None:
    raw = RawRelease(source="/d/x.json", text=TEXT, language=declared, kind="record")
    assert build_release(raw, release_id="x").language == code


def test_loader_never_raises(tmp_path: Path) -> None:
    odd = tmp_path / "odd.html"
    odd.write_bytes(b"<html><body>" + b"<div>" * 200_000 + b"</body></html>")
    loaded = list(load_file(odd))
    assert len(loaded) == 1 and isinstance(loaded[0], Rejection | RawRelease)


def test_a_date_that_cannot_be_read_is_a_warning_and_the_release_is_stored(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    folder = tmp_path / "dated"
    folder.mkdir()
    records = [
        {"id": "bad-date", "title": "Bad date", "date": "2010-13-45", "body": TEXT},
        {"id": "good-date", "title": "Good date", "date": "31 July 2010", "body": TEXT},
        {"id": "relative", "title": "Relative", "date": "yesterday", "body": TEXT},
        {"id": "number", "title": "A number", "date": 20100731, "body": TEXT},
    ]
    (folder / "r.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    ingestor = _ingestor(tmp_path, fake_embedder)
    report = ingestor.run([folder])
    assert report.added == 4 and not report.rejected
    expected = [
        (
            "r.jsonl:1",
            "date '2010-13-45' not understood: stored undated (write it as 2010-07-31 or "
            "31 July 2010 and ingest the file again)",
        ),
        (
            "r.jsonl:3",  # never counted from the day of the ingest
            "date 'yesterday' not understood: stored undated (write it as 2010-07-31 or "
            "31 July 2010 and ingest the file again)",
        ),
    ]
    assert [(Path(w.path).name, w.reason) for w in report.warnings] == expected
    assert report.as_json()["warnings"] == [
        {"path": w.path, "reason": w.reason} for w in report.warnings
    ]
    index = ingestor.store.release_index()
    assert index["number"].date == dt.date(2010, 7, 31) and index["relative"].date is None
    again = ingestor.run([folder])  # nothing fixed: said again
    assert again.unchanged == 4
    assert [(Path(w.path).name, w.reason) for w in again.warnings] == expected

    # a date line under a text file's title that cannot be read: the same warning
    (folder / "dated.txt").write_text(
        "Wells in Logar\n\n• 2010-13-45\n\n" + TEXT.split("\n\n", 1)[1]
    )
    text_file = ingestor.run([folder / "dated.txt"])
    assert text_file.added == 1
    assert [(Path(w.path).name, w.reason) for w in text_file.warnings] == [
        (
            "dated.txt",
            "date '2010-13-45' not understood: stored undated (write it as 2010-07-31 or "
            "31 July 2010 and ingest the file again)",
        )
    ]
