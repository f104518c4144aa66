"""The ``qa-bot`` command line.

This is the one place that wires ingestion and answering together. Heavy
libraries are imported inside the commands, so ``qa-bot --help`` is instant.
"""

from __future__ import annotations

import json
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


def _app(store: Path | None, chroma_url: str | None) -> App:
    from .app import build_app
    from .settings import load_settings

    return build_app(load_settings(store=store, chroma_url=chroma_url))


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def _fail(exc: QaBotError) -> typer.Exit:
    typer.echo(f"Error: {exc}", err=True)
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
        typer.Option("--prune", help="Remove stored releases whose file under PATHS is gone."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Add or update releases (.txt .md .html .json .jsonl .pdf .docx) in the store.

    Unchanged releases are skipped; bad files are listed with the reason and
    the exit code is 1, while everything else is still ingested.
    """
    from ingest.pipeline import build_ingestor

    try:
        qa = _app(store, chroma_url)
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
        raise _fail(exc) from None
    if as_json:
        _print_json(report.as_json())
    else:
        typer.echo(
            f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
            f"{report.removed} removed, {len(report.rejected)} rejected "
            f"({report.seconds:.1f} s). The store now holds {report.releases} releases, "
            f"{report.chunks} chunks."
        )
        for r in report.rejected:
            typer.echo(f"  rejected {r.path}: {r.reason}", err=True)
    if report.rejected:
        raise typer.Exit(1)


@app.command()
def stats(store: StoreOpt = None, chroma_url: UrlOpt = None, as_json: JsonOpt = False) -> None:
    """What the store holds: releases, chunks, languages, date range, embedder, location."""
    try:
        s = _app(store, chroma_url).store.stats()
    except QaBotError as exc:
        raise _fail(exc) from None
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
        raise _fail(exc) from None
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
        deleted = _app(store, chroma_url).store.delete(release_ids)
    except QaBotError as exc:
        raise _fail(exc) from None
    for rid in deleted:
        typer.echo(f"deleted {rid}")
    missing = [rid for rid in release_ids if rid not in deleted]
    for rid in missing:
        typer.echo(f"no release {rid!r} in the store (see `qa-bot list`)", err=True)
    if missing:
        raise typer.Exit(1)


def main() -> None:
    app()
