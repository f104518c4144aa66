"""Bad inputs, as a hostile or careless user gives them (issue 8): every kind is run through
the real CLI in its own process against a store holding the example releases, and
measured: exit code, the message the user sees, peak memory (the largest resident set
of the process tree, from wait4) and seconds. Each row also says whether a traceback
reached the user and whether every release stored before is still there.

    python bench/bad_inputs.py [--out /tmp/issue8_badinputs.md]

Goals: no row over 1 GB or 60 s, no traceback, nothing stored lost.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "releases"
NATO = EXAMPLES / "2024-02-28-partners-meeting.fr.txt"
QUESTION = "Who opened the meeting with NATO's partners on 28 February 2024?"
TEXT = (
    "Partners meet in Brussels\n\n"
    "The general opened the meeting with partners in Brussels on Monday morning.\n\n"
    "The delegates then discussed training and exercises for the coming year.\n"
)
GB = 1024**3


@dataclass
class Row:
    kind: str
    command: str
    code: int
    seconds: float
    peak_mb: float
    message: str
    traceback: bool
    kept: bool | None


def measure(
    argv: list[str | bytes], env: dict[str, str] | None = None
) -> tuple[int, float, float, str, str]:
    """(exit code, seconds, peak MB of the process tree, stdout, stderr)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env={**os.environ, **(env or {})})
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        return (
            proc.returncode,
            seconds,
            usage.ru_maxrss / 1024,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
        )


def qa_bot(*args: str | bytes) -> list[str | bytes]:
    return [sys.executable, "-m", "qa_bot", *args]


def docx(document_xml: bytes) -> bytes:
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


def docx_bomb(path: Path, inflated: int) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("word/document.xml", "w", force_zip64=True) as fh:
            fh.write(b"<w:document>")
            block = b"<w:p><w:r><w:t>x</w:t></w:r></w:p>" * 30_000
            for _ in range(inflated // len(block)):
                fh.write(block)
            fh.write(b"</w:document>")


def message_of(stdout: str, stderr: str) -> str:
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    picked = [ln for ln in lines if ln.startswith(("rejected", "Error", "Note"))] or lines
    if not picked:
        picked = [ln.strip() for ln in stdout.splitlines() if ln.strip()][:1]
    text = " / ".join(picked[:2]) or "(no output)"
    text = text.replace("|", "\\|")
    return text if len(text) <= 260 else text[:257] + "…"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/issue8_badinputs.md"))
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="qa-bot-bad-"))
    store = work / "store"
    env_home = {"XDG_DATA_HOME": str(work / "data"), "XDG_CACHE_HOME": str(work / "cache")}
    os.environ.update(env_home)
    code, *_ = measure(qa_bot("ingest", str(EXAMPLES), "--store", str(store)))
    assert code == 0, "could not build the base store"
    before = _ids(store)

    def data(name: str | bytes, content: bytes | None = None) -> Path:
        folder = work / f"in-{len(rows)}"
        folder.mkdir(exist_ok=True)
        path = Path(os.fsdecode(os.path.join(os.fsencode(folder), os.fsencode(name))))
        if content is not None:
            path.write_bytes(content)
        return path

    rows: list[Row] = []

    def case(
        kind: str,
        make: Callable[[], list[str | bytes]],
        *,
        env: dict[str, str] | None = None,
        wrap: Callable[[list[str | bytes]], list[str | bytes]] | None = None,
        checks_store: bool = True,
    ) -> None:
        cli = make()
        argv = wrap(cli) if wrap else cli
        code, seconds, peak, out, err = measure(argv, env)
        shown = "qa-bot " + " ".join(
            (os.fsdecode(a) if isinstance(a, bytes) else a).replace(str(work), "…")[:50]
            for a in cli[3:]
        )
        kept = before <= _ids(store) if checks_store else None
        rows.append(
            Row(kind, shown, code, seconds, peak, message_of(out, err), "Traceback" in err, kept)
        )
        print(f"{len(rows):2} {kind}: exit {code}, {seconds:.1f} s, {peak:.0f} MB", flush=True)

    def ingest(path: Path | str) -> list[str | bytes]:
        return qa_bot("ingest", str(path), "--store", str(store))

    def ask(*a: str | bytes, where: Path | None = None) -> list[str | bytes]:
        return qa_bot("ask", *a, "--store", str(where or store))

    # ---- files
    case("empty file", lambda: ingest(data("empty.txt", b"")))
    case("only whitespace", lambda: ingest(data("blank.md", b" \n\t\n  \n")))
    case("binary bytes in a .txt", lambda: ingest(data("noise.txt", os.urandom(20_000))))
    case("UTF-16 with a BOM (accepted)", lambda: ingest(data("utf16.txt", TEXT.encode("utf-16"))))
    case(
        "Latin-1 text (accepted)",
        lambda: ingest(
            data(
                "latin1.txt",
                "Réunion à Mons\n\nLe général a ouvert la réunion hier "
                "à Mons avec les partenaires.".encode("latin-1"),
            )
        ),
    )
    case(
        "malformed JSONL line among good ones",
        lambda: ingest(
            data(
                "mixed.jsonl", (json.dumps({"id": "ok-1", "body": TEXT}) + "\n{not json\n").encode()
            )
        ),
    )
    case(
        "JSON nested 100,000 deep",
        lambda: ingest(data("deep.json", b"[" * 100_000 + b"]" * 100_000)),
    )
    case(
        "JSONL line nested 50,000 deep",
        lambda: ingest(data("deep.jsonl", b'{"a":' * 50_000 + b"1" + b"}" * 50_000)),
    )
    case("JSON array instead of an object", lambda: ingest(data("list.json", b"[1, 2, 3]")))
    case(
        "JSON record without a body",
        lambda: ingest(data("nobody.json", b'{"id": "x", "title": "t"}')),
    )
    case(
        "duplicate ids in one JSONL",
        lambda: ingest(
            data(
                "dup.jsonl",
                "\n".join(
                    json.dumps({"id": "dup", "body": TEXT + str(i)}) for i in range(2)
                ).encode(),
            )
        ),
    )
    case(
        'declared language "klingon!!" (detected instead)',
        lambda: ingest(
            data(
                "kl.json", json.dumps({"id": "kl", "language": "klingon!!", "body": TEXT}).encode()
            )
        ),
    )
    case(
        "DOCX that is a zip of garbage",
        lambda: ingest(data("noise.docx", b"PK\x03\x04" + os.urandom(4000))),
    )
    case("DOCX with broken XML", lambda: ingest(data("broken.docx", docx(b"<w:document><w:p"))))

    def bomb() -> list[str | bytes]:
        path = data("bomb.docx")
        docx_bomb(path, 300 * 1024 * 1024)
        return ingest(path)

    case("DOCX inflating to 300 MB (1 MB zip)", bomb)
    case("truncated PDF", lambda: ingest(data("cut.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog")))
    case(
        "PDF of random bytes", lambda: ingest(data("noise.pdf", b"%PDF-1.7\n" + os.urandom(50_000)))
    )

    def big_text() -> list[str | bytes]:
        path = data("big.txt")
        with open(path, "wb") as fh:
            line = b"The delegates discussed training and exercises for the coming year. " * 20
            for _ in range(50 * 1024 * 1024 // len(line)):
                fh.write(line + b"\n\n")
        return ingest(path)

    case("50 MB text file", big_text)
    case("one 5 MB line", lambda: ingest(data("line.txt", b"Title\n\n" + b"word " * 1_000_000)))
    case(
        "450,000 characters of short sentences (> 2,000 chunks)",
        lambda: ingest(
            data("many.txt", b"Title\n\n" + b"The general spoke again today. " * 14_500)
        ),
    )
    case(
        "HTML with no article",
        lambda: ingest(data("nav.html", b"<html><nav><a href=x>Home</a></nav></html>")),
    )
    case(
        "HTML nested 200,000 divs",
        lambda: ingest(data("divs.html", b"<html><body>" + b"<div>" * 200_000 + b"</body></html>")),
    )
    case(
        "file name with a non-UTF-8 byte (accepted)",
        lambda: ingest(data(b"caf\xe9.txt", TEXT.encode())),
    )

    def fifo() -> list[str | bytes]:
        path = data("pipe.txt")
        os.mkfifo(path)
        return ingest(path.parent)

    case("FIFO in a folder", fifo)

    def broken_link() -> list[str | bytes]:
        path = data("gone.txt")
        path.symlink_to(work / "nowhere.txt")
        return ingest(path)

    case("broken symbolic link", broken_link)
    case("unsupported type (.exe)", lambda: ingest(data("setup.exe", b"MZ" + os.urandom(100))))
    case("path that does not exist", lambda: ingest(work / "no-such-folder"))

    def copy() -> list[str | bytes]:
        folder = data("copy")
        shutil.copytree(EXAMPLES, folder)
        return ingest(folder)

    case("copy of the releases in another folder", copy)

    # ---- questions
    case("empty question", lambda: ask(""))
    case("question of punctuation only", lambda: ask("?!.,;:"))
    case("question of emoji only", lambda: ask("🙂🎉"))
    case("question with non-UTF-8 bytes", lambda: ask(b"who \xff\xfe opened"))
    case("100 kB question", lambda: ask("why " * 25_000))
    case("--generator nonsense", lambda: ask(QUESTION, "--generator", "nonsense"))
    case("--since not a date", lambda: ask(QUESTION, "--since", "yesterday"))
    case(
        "model server unreachable (fallback)",
        lambda: ask(QUESTION),
        env={"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": "x"},
    )

    # ---- stores and settings
    case("ask --store with a typo", lambda: ask(QUESTION, where=work / "stroe"))
    for name, damage in (
        ("store: chroma.sqlite3 of garbage", lambda p: p.write_bytes(os.urandom(200_000))),
        ("store: chroma.sqlite3 truncated", lambda p: os.truncate(p, 50_000)),
    ):

        def damaged(damage=damage) -> list[str | bytes]:  # type: ignore[no-untyped-def]
            target = data("damaged")
            shutil.copytree(store, target)
            damage(target / "chroma.sqlite3")
            return ask(QUESTION, where=target)

        case(name, damaged)

    ro = work / "read-only"
    shutil.copytree(store, ro)
    if shutil.which("unshare") and subprocess.run(["unshare", "-m", "true"]).returncode == 0:

        def read_only(argv: list[str | bytes]) -> list[str | bytes]:
            command = " ".join(shlex.quote(os.fsdecode(a)) for a in argv)
            return [
                "unshare",
                "-m",
                "sh",
                "-c",
                f"mount --bind {ro} {ro} && mount -o remount,bind,ro {ro} && exec {command}",
            ]

        case("read-only store: ask", lambda: ask(QUESTION, where=ro), wrap=read_only)
        case(
            "read-only store: ingest",
            lambda: qa_bot("ingest", str(NATO), "--store", str(ro)),
            wrap=read_only,
        )
    case("Chroma server not running", lambda: qa_bot("stats", "--chroma-url", "http://127.0.0.1:9"))
    case(
        "invalid collection name",
        lambda: qa_bot("stats", "--store", str(store)),
        env={"QA_BOT_COLLECTION": "x"},
    )
    case(
        "other embedder than the store's",
        lambda: qa_bot("stats", "--store", str(store)),
        env={"QA_BOT_EMBEDDER": "sentence-transformers:/nowhere"},
    )

    after = _ids(store)
    lines = [
        "| # | bad input | command | exit | seconds | peak MB | traceback | stored kept "
        "| message |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(rows, start=1):
        kept = "-" if r.kept is None else ("yes" if r.kept else "**NO**")
        lines.append(
            f"| {i} | {r.kind} | `{r.command}` | {r.code} | {r.seconds:.1f} | {r.peak_mb:.0f} | "
            f"{'**YES**' if r.traceback else 'no'} | {kept} | {r.message} |"
        )
    worst_mb = max(r.peak_mb for r in rows)
    worst_s = max(r.seconds for r in rows)
    summary = (
        f"\n{len(rows)} bad inputs; peak memory max {worst_mb:.0f} MB (goal < 1024), slowest "
        f"{worst_s:.1f} s (goal < 60), tracebacks {sum(r.traceback for r in rows)}, "
        f"stored releases lost {len(before - after)} of {len(before)}.\n"
    )
    report = "\n".join(lines) + "\n" + summary
    args.out.write_text(report.encode("utf-8", "backslashreplace").decode("utf-8"))
    print(summary)
    shutil.rmtree(work, ignore_errors=True)
    ok = worst_mb < 1024 and worst_s < 60 and not any(r.traceback for r in rows) and before <= after
    sys.exit(0 if ok else 1)


def _ids(store: Path) -> set[str]:
    out = subprocess.run(
        qa_bot("list", "--json", "--store", str(store)), capture_output=True, text=True
    )
    return {r["id"] for r in json.loads(out.stdout)} if out.returncode == 0 else set()


if __name__ == "__main__":
    main()
