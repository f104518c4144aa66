"""The ``qa-bot`` command line.

This is the one place that wires ingestion and answering together. Heavy
libraries are imported inside the commands, so ``qa-bot --help`` is instant.
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .errors import QaBotError

if TYPE_CHECKING:
    from .app import App

app = typer.Typer(
    name="qa-bot",
    help="Ask questions over press releases and get answers cited to the exact sentence.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

StoreOpt = Annotated[
    Path | None,
    typer.Option(
        "--store",
        help="Store directory (default: $QA_BOT_STORE, else ~/.local/share/qa-bot/store).",
        show_default=False,
    ),
]
UrlOpt = Annotated[
    str | None,
    typer.Option(
        "--chroma-url",
        help="Chroma server URL, e.g. http://127.0.0.1:8000; overrides --store. "
        "(default: $QA_BOT_CHROMA_URL, else the embedded store)",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _app(store: Path | None, chroma_url: str | None, *, create: bool = False) -> App:
    """The app; only ``ingest`` creates a store directory that does not exist yet."""
    from .app import build_app
    from .settings import load_settings

    return build_app(load_settings(store=store, chroma_url=chroma_url), create=create)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def _fail(exc: QaBotError, as_json: bool = False) -> typer.Exit:
    """Exit code 2 with the error on stderr; with ``--json``, also as JSON on stdout
    (``{"error", "kind"}``), so that a script reading stdout sees why there is no answer."""
    typer.echo(f"Error: {exc}", err=True)
    if as_json:
        _print_json({"error": str(exc), "kind": type(exc).__name__})
    return typer.Exit(2)


@app.command()
def ingest(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Files or folders (searched recursively) of releases.", show_default=False
        ),
    ],
    store: StoreOpt = None,
    chroma_url: UrlOpt = None,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune",
            help="Remove stored releases whose file under PATHS is gone or no longer holds "
            "them (not those of a file that could not be read in full).",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Add or update releases (.txt .md .html .json .jsonl .pdf .docx) in the store.

    Unchanged releases are skipped; bad files are listed with the reason and
    the exit code is 1, while everything else is still ingested.
    """
    from ingest.pipeline import build_ingestor

    missing = [p for p in paths if not p.exists()]
    if missing and not prune:  # (with --prune a path that is gone removes its releases)
        typer.echo(
            f"Error: no such file or folder: {', '.join(map(str, missing))}; nothing was "
            "ingested and the store was not touched. Check the path.",
            err=True,
        )
        raise typer.Exit(1)
    try:
        qa = _app(store, chroma_url, create=True)
        ingestor = build_ingestor(qa)
        if as_json or not sys.stderr.isatty():
            report = ingestor.run(paths, prune=prune)
        else:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

            columns = (
                "{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
            )
            with Progress(*columns, transient=True) as bar:
                task = bar.add_task("Embedding releases", total=None)
                report = ingestor.run(
                    paths,
                    prune=prune,
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                )
    except QaBotError as exc:
        raise _fail(exc, as_json) from None
    if as_json:
        _print_json(report.as_json())
    else:
        typer.echo(
            f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
            + (f"{report.repaired} repaired, " if report.repaired else "")
            + f"{report.removed} removed, {len(report.rejected)} rejected "
            f"({report.seconds:.1f} s). The store now holds {report.releases} "
            f"release{'s' if report.releases != 1 else ''}, {report.chunks} "
            f"chunk{'s' if report.chunks != 1 else ''}."
        )
        for rid in report.removed_ids:
            typer.echo(f"  removed {rid}", err=True)
        for r in report.rejected:
            typer.echo(f"  rejected {r.path}: {r.reason}", err=True)
        for w in report.warnings:
            typer.echo(f"  warning {w.path}: {w.reason}", err=True)
    found = report.added + report.updated + report.unchanged + report.removed + report.repaired
    if not found and not report.rejected and not report.skipped and not prune:
        typer.echo(
            f"No release files under {', '.join(map(str, paths))} (qa-bot reads .txt .md .html "
            ".json .jsonl .pdf .docx).",
            err=True,
        )
        raise typer.Exit(1)
    if report.rejected:
        raise typer.Exit(1)


@app.command()
def stats(store: StoreOpt = None, chroma_url: UrlOpt = None, as_json: JsonOpt = False) -> None:
    """What the store holds: releases, chunks, languages, date range, embedder, location."""
    try:
        s = _app(store, chroma_url).store.stats()
    except QaBotError as exc:
        raise _fail(exc, as_json) from None
    data = {
        "releases": s.releases,
        "chunks": s.chunks,
        "languages": dict(s.languages),
        "date_min": s.date_min.isoformat() if s.date_min else None,
        "date_max": s.date_max.isoformat() if s.date_max else None,
        "embedder": s.embedder,
        "store": s.location,
    }
    if as_json:
        _print_json(data)
        return
    langs = ", ".join(f"{k} {v}" for k, v in s.languages.items()) or "-"
    typer.echo(
        f"Releases:  {s.releases}\nChunks:    {s.chunks}\nLanguages: {langs}\n"
        f"Dates:     {data['date_min'] or '-'} to {data['date_max'] or '-'}\n"
        f"Embedder:  {s.embedder or '-'}\nStore:     {s.location}"
    )


@app.command("list")
def list_(store: StoreOpt = None, chroma_url: UrlOpt = None, as_json: JsonOpt = False) -> None:
    """The stored releases, newest first: id, date, language, title."""
    try:
        index = _app(store, chroma_url).store.release_index()
    except QaBotError as exc:
        raise _fail(exc, as_json) from None
    rows = sorted(
        index.values(),
        key=lambda i: (i.date.isoformat() if i.date else "", i.release_id),
        reverse=True,
    )
    if as_json:
        _print_json(
            [
                {
                    "id": i.release_id,
                    "date": i.date.isoformat() if i.date else None,
                    "language": i.language,
                    "title": i.title,
                    "chunks": i.chunks,
                    "source": i.source,
                    "url": i.url,
                }
                for i in rows
            ]
        )
        return
    for i in rows:
        typer.echo(f"{i.release_id}\t{i.date or '-'}\t{i.language}\t{i.title}")


@app.command()
def delete(
    release_ids: Annotated[
        list[str], typer.Argument(help="Release ids (see `qa-bot list`).", show_default=False)
    ],
    store: StoreOpt = None,
    chroma_url: UrlOpt = None,
) -> None:
    """Delete releases and their chunks from the store."""
    try:
        deleted = _app(store, chroma_url).delete(release_ids)
    except QaBotError as exc:
        raise _fail(exc) from None
    for rid in deleted:
        typer.echo(f"deleted {rid}")
    missing = [rid for rid in release_ids if rid not in deleted]
    for rid in missing:
        typer.echo(f"no release {rid!r} in the store (see `qa-bot list`)", err=True)
    if missing:
        raise typer.Exit(1)


@app.command()
def compact(store: StoreOpt = None, chroma_url: UrlOpt = None) -> None:
    """Rewrite the search index beside the store as one segment, without the rows of replaced or deleted releases (after many uploads and deletes). Answers do not change."""  # noqa: E501 (one line: Typer keeps a docstring's line breaks)
    import time

    started = time.perf_counter()
    try:
        before, dropped = _app(store, chroma_url).compact()
    except QaBotError as exc:
        raise _fail(exc) from None
    if before <= 1 and not dropped:
        typer.echo("The search index is one segment with no deleted rows: nothing to do.")
        return
    typer.echo(
        f"{before} segment{'s' * (before != 1)} rewritten as one, {dropped:,} rows of "
        f"replaced or deleted releases dropped ({time.perf_counter() - started:.1f} s)."
    )


GeneratorOpt = Annotated[
    str | None,
    typer.Option(
        "--generator",
        help="extractive (offline) or openai "
        "(default: $QA_BOT_GENERATOR, else openai when OPENAI_API_KEY or "
        "OPENAI_BASE_URL is set, else extractive)",
        show_default=False,
    ),
]
KOpt = Annotated[int, typer.Option("--k", min=1, max=50, help="Passages retrieved.")]
SinceOpt = Annotated[
    str | None,
    typer.Option(
        "--since",
        help="Only releases dated on or after this date (YYYY-MM-DD).",
        show_default=False,
    ),
]
UntilOpt = Annotated[
    str | None,
    typer.Option(
        "--until",
        help="Only releases dated on or before this date (YYYY-MM-DD).",
        show_default=False,
    ),
]
LangOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--lang",
        help="Only releases in this language (ISO code, e.g. en, fr); repeatable.",
        show_default=False,
    ),
]


def _filters(since: str | None, until: str | None, lang: list[str] | None) -> Any:
    import datetime as dt

    from .errors import ConfigError
    from .types import Filters

    def day(value: str | None, flag: str) -> dt.date | None:
        if value is None:
            return None
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ConfigError(f"{flag} {value!r} is not a date: use YYYY-MM-DD") from None

    start, end = day(since, "--since"), day(until, "--until")
    if start and end and start > end:
        raise ConfigError(f"--since {since} is after --until {until}: swap them")
    for code in lang or ():
        if not re.fullmatch(r"[A-Za-z]{2,3}", code):
            raise ConfigError(f"--lang {code!r} is not a language code: use ISO codes, e.g. en, fr")
    return Filters(since=start, until=end, languages=tuple(x.lower() for x in lang or ()))


def _known_languages(qa_app: Any, wanted: tuple[str, ...]) -> None:
    """A language no stored release is written in is a typo, not a filter that leaves
    nothing to search."""
    from .errors import ConfigError

    if not wanted:
        return
    qa_app.retriever.refresh()
    stored = qa_app.retriever.snapshot.languages
    unknown = [code for code in wanted if code not in stored]
    if unknown and stored:
        raise ConfigError(
            f"--lang {', '.join(unknown)}: no stored release is in "
            f"{'that language' if len(unknown) == 1 else 'those languages'}; "
            f"the store holds {', '.join(stored)}"
        )


def _render(answer: Any) -> str:
    lines = [answer.text, ""]
    for c in answer.citations:
        when = c.date.isoformat() if c.date else "undated"
        where = f" {c.url}" if c.url else ""
        lines.append(f"[{c.n}] {c.title} ({when}){where}")
        lines.append(f"    “{c.quote}”" + ("" if c.supported else "  (not supported)"))
    return "\n".join(lines).rstrip()


@app.command()
def ask(
    question: Annotated[
        str, typer.Argument(help="The question, in English or French.", show_default=False)
    ],
    store: StoreOpt = None,
    chroma_url: UrlOpt = None,
    as_json: JsonOpt = False,
    k: KOpt = 5,
    since: SinceOpt = None,
    until: UntilOpt = None,
    lang: LangOpt = None,
    generator: GeneratorOpt = None,
) -> None:
    """Answer one question from the releases, citing the sentences it rests on."""
    try:
        qa_app = _app(store, chroma_url)
        qa = qa_app.qa(generator)
        filters = _filters(since, until, lang)
        _known_languages(qa_app, filters.languages)
        if as_json:
            answer = qa.ask(question, filters=filters, k=k)
            _print_json(answer.as_json())
        elif qa_app.generator_name(generator) == "openai" and sys.stderr.isatty():
            # the model's raw text is not shown as it streams: its markers are only
            # checked (unknown ones dropped, the rest renumbered) once it has finished
            from rich.console import Console

            with Console(stderr=True).status("The model is writing the answer…"):
                answer = qa.ask(question, filters=filters, k=k)
            sys.stdout.write(_render(answer) + "\n")
        else:
            answer = qa.ask(question, filters=filters, k=k)
            sys.stdout.write(_render(answer) + "\n")
    except QaBotError as exc:
        raise _fail(exc, as_json) from None
    if answer.notice:
        typer.echo(f"Note: {answer.notice}", err=True)


@app.command()
def chat(
    store: StoreOpt = None,
    chroma_url: UrlOpt = None,
    k: KOpt = 5,
    generator: GeneratorOpt = None,
) -> None:
    """A conversation in the terminal: follow-up questions use what was said before."""
    from .types import Turn

    try:
        qa = _app(store, chroma_url).qa(generator)
    except QaBotError as exc:
        raise _fail(exc) from None
    history: list[Turn] = []
    commands = "/new starts over, /help shows this, /quit (or an empty line, or Ctrl-D) quits"
    typer.echo(f"Ask about the releases ({commands}).")
    while True:
        try:
            question = input("\n> ").strip()
        except (EOFError, KeyboardInterrupt):
            break
        except UnicodeDecodeError:
            typer.echo(
                "Error: that line is not UTF-8 text: type it again, or set the terminal to UTF-8.",
                err=True,
            )
            continue
        if not sys.stdin.isatty():
            typer.echo(question)  # piped in: the transcript shows what was asked
        if not question or question in ("/quit", "/exit"):
            break
        if question == "/new":
            history.clear()
            continue
        if question == "/help" or re.fullmatch(r"/\w+", question):
            known = question == "/help"
            typer.echo(("" if known else f"Unknown command {question}: ") + commands + ".")
            continue
        try:
            answer = qa.ask(question, history=history, k=k)
        except QaBotError as exc:
            typer.echo(f"Error: {exc}", err=True)
            continue
        typer.echo(_render(answer))
        if answer.notice:
            typer.echo(f"Note: {answer.notice}", err=True)
        history.append(Turn(question, answer))


@app.command("eval")
def eval_(
    questions: Annotated[
        Path,
        typer.Argument(
            help="JSONL: {id, question, must_include?, source_ids?, type?}.", show_default=False
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Write each Answer (with its id) here, one JSON per line.",
            show_default=False,
        ),
    ] = None,
    store: StoreOpt = None,
    chroma_url: UrlOpt = None,
    k: KOpt = 5,
    generator: GeneratorOpt = None,
    baseline: Annotated[
        bool,
        typer.Option(
            "--baseline",
            help="Also run the LangChain-tutorial "
            "baseline (dense only, k=5, 1,000-character chunks) and print it beside "
            "ours.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Answer every question of a set (one warm process) and print the metrics."""
    import tempfile

    from . import evaluation

    try:
        items = evaluation.load_items(questions)
        evaluation.check_out(out)
        qa_app = _app(store, chroma_url)
        qa = qa_app.qa(generator)

        def ours(question: str, history: Any) -> Any:
            answer = qa.ask(question, history=history, k=k)
            return answer, [p.release_id for p in answer.passages]

        model = qa_app.generator_name(generator) == "openai"
        results = {"qa-bot": evaluation.run(items, ours, out, model=model)}
        if baseline:
            from .baseline import TutorialBaseline

            with tempfile.TemporaryDirectory() as tmp:
                base = TutorialBaseline(embedder=qa_app.embedder, directory=Path(tmp))
                base.index(list(qa_app.store.all_releases().values()))
                results["baseline"] = evaluation.run(items, base.ask, None)
    except QaBotError as exc:
        raise _fail(exc, as_json) from None
    if as_json:
        _print_json(results)
        return
    names = list(results)
    typer.echo(f"{'metric':24}" + "".join(f"{n:>12}" for n in names))
    for metric in results["qa-bot"]:
        row = "".join(
            f"{'-' if results[n].get(metric) is None else results[n][metric]!s:>12}" for n in names
        )
        typer.echo(f"{metric:24}{row}")


@app.command()
def ui(
    store: StoreOpt = None,
    chroma_url: UrlOpt = None,
    port: Annotated[int, typer.Option("--port", help="Port to serve on.")] = 8501,
    host: Annotated[str, typer.Option("--host", help="Address to serve on.")] = "127.0.0.1",
) -> None:
    """The chat in the browser (Streamlit), headless, usage statistics off."""
    import os

    env = dict(os.environ)
    if store:
        env["QA_BOT_STORE"] = str(store)
    if chroma_url:
        env["QA_BOT_CHROMA_URL"] = chroma_url
    script = Path(__file__).resolve().parent.parent / "ui" / "app.py"
    from .settings import load_settings

    try:
        largest = math.ceil(load_settings(store=store, chroma_url=chroma_url).max_file_mb)
    except QaBotError as exc:
        raise _fail(exc) from None
    typer.echo(f"qa-bot chat on http://{host}:{port}")
    sys.stdout.flush()
    sys.stderr.flush()
    # this process becomes Streamlit (exec): SIGTERM or SIGINT from a service manager,
    # a container runtime or Ctrl-C reaches the server itself, and nothing is orphaned
    os.execve(
        sys.executable,
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(script),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            # a product, not a dev server: no "Deploy" button or developer menu
            "--client.toolbarMode",
            "viewer",
            # the upload box says the limit the ingest holds to (Streamlit's MB are MiB)
            "--server.maxUploadSize",
            str(max(1, largest)),
            "--server.port",
            str(port),
            "--server.address",
            host,
        ],
        env,
    )


@app.command()
def feedback(store: StoreOpt = None, chroma_url: UrlOpt = None, as_json: JsonOpt = False) -> None:
    """The feedback given on answers in the chat (rating 1 = thumbs up, 0 = down)."""
    try:
        qa_app = _app(store, chroma_url)
        if not qa_app.feedback.path.exists():
            qa_app.store.count_releases()  # a --store that holds nothing is refused, not made
        rows = qa_app.feedback.export()
    except QaBotError as exc:
        raise _fail(exc, as_json) from None
    if as_json:
        _print_json(rows)
        return
    if not rows:
        typer.echo("No feedback yet: ratings given in the chat (qa-bot ui) are listed here.")
        return
    for r in rows:
        thumb = {1: "up", 0: "down"}.get(r["rating"], "-")
        typer.echo(f"{r['at']}\t{thumb}\t{r['question']}\t{r['comment'] or ''}")


def main() -> None:
    app()
