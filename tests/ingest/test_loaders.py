from __future__ import annotations

import json
from pathlib import Path

import docx

from ingest.loaders import RawRelease, discover, load_file
from ingest.metadata import build_release
from qa_bot.types import Rejection
from tests.conftest import ISAF
from tests.helpers import minimal_pdf

NATO_HTML = """<!DOCTYPE html><html lang="fr"><head><title>NATO - Actualités</title>
<meta property="og:url" content="https://www.nato.int/cps/fr/natohq/news_223220.htm">
</head><body>
<nav><ul><li><a href="/">Accueil</a></li><li><a href="/news">Actualités</a></li>
<li><a href="/about">Qui sommes-nous</a></li></ul></nav>
<div class="sidebar">Newsletter. Suivez-nous sur les réseaux sociaux.</div>
<article>
<h1>Des représentants de l’OTAN et des pays partenaires se réunissent</h1>
<ul><li>28 Feb. 2024 -</li><li>Mis à jour le: 07 Mar. 2024 13:26</li></ul>
<p>Le 28 février 2024, la Division Sécurité coopérative de l’État-major militaire
international de l’OTAN a tenu sa réunion semestrielle avec les pays partenaires.</p>
<p>Le général de corps d’armée Andrew M. Rohling, président délégué du Comité militaire,
a ouvert la réunion en rappelant la volonté de l’OTAN de poursuivre la coopération.</p>
</article>
<footer>© OTAN 2024 · Mentions légales · Plan du site</footer>
</body></html>"""


def only(loaded: list) -> RawRelease:  # type: ignore[type-arg]
    assert len(loaded) == 1 and isinstance(loaded[0], RawRelease), loaded
    return loaded[0]


def test_saved_nato_page_keeps_the_article_not_the_navigation(tmp_path: Path) -> None:
    page = tmp_path / "news_223220.html"
    page.write_text(NATO_HTML, encoding="utf-8")
    rel = build_release(only(list(load_file(page))))
    assert "Rohling" in rel.text
    for chrome in ("Accueil", "Newsletter", "Mentions légales"):
        assert chrome not in rel.text
    assert rel.language == "fr"
    assert str(rel.date) == "2024-02-28"


def test_json_jsonl_markdown_docx_pdf(tmp_path: Path) -> None:
    (tmp_path / "one.json").write_text(
        json.dumps(
            {
                "id": "rel-1",
                "title": "Patrol in Kunduz",
                "date": "2010-07-14",
                "language": "en",
                "url": "https://example.org/rel-1",
                "body": "A patrol met elders in Kunduz province.",
            }
        )
    )
    (tmp_path / "note.md").write_text(
        "# Ministers meet\n\n*Published 14 July 2010*\n\nThe ministers met in "
        "**Brussels**\nto discuss the [mission](https://example.org) in Afghanistan."
    )
    document = docx.Document()
    document.core_properties.title = "Training mission report"
    document.add_paragraph("The training mission graduated two hundred police officers.")
    document.save(str(tmp_path / "report.docx"))
    (tmp_path / "brief.pdf").write_bytes(
        minimal_pdf(
            ["Engineers rebuilt the bridge in Baghlan province.", "It reopened on Tuesday."],
            title="Bridge reopened",
        )
    )

    files, rejected, _ = discover([tmp_path])
    assert rejected == []
    got = {p.name: build_release(only(list(load_file(p)))) for p in files}
    assert got["one.json"].release_id == "rel-1" and got["one.json"].url.endswith("rel-1")
    assert got["note.md"].title == "Ministers meet" and str(got["note.md"].date) == "2010-07-14"
    assert got["note.md"].text == (  # Markdown's marks dropped, its wrapped lines joined
        "The ministers met in Brussels to discuss the mission in Afghanistan."
    )
    assert got["report.docx"].title == "Training mission report"
    assert "two hundred police officers" in got["report.docx"].text
    assert got["brief.pdf"].title == "Bridge reopened"
    assert "Baghlan province" in got["brief.pdf"].text


def test_bad_files_are_rejected_with_a_reason_and_good_ones_kept(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 this is not a pdf")
    lines = ISAF.read_text(encoding="utf-8").split("\n")[:3]
    lines.insert(1, '{"id": "broken", "body": ')
    (tmp_path / "mixed.jsonl").write_text("\n".join(lines), encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes(
        "Communiqué de presse\n\nLe général a présenté les priorités de l’été à Bruxelles.".replace(
            "’", "'"
        ).encode("latin-1")
    )

    files, rejected, _ = discover([tmp_path])
    loaded = [x for f in files for x in load_file(f)]
    rejected += [x for x in loaded if isinstance(x, Rejection)]
    good = [x for x in loaded if isinstance(x, RawRelease)]
    reasons = {Path(r.path.split(":")[0]).name: r.reason for r in rejected}
    assert set(reasons) == {"empty.txt", "binary.txt", "image.png", "broken.pdf", "mixed.jsonl"}
    assert "empty" in reasons["empty.txt"]
    assert "binary" in reasons["binary.txt"]
    assert "unsupported file type '.png'" in reasons["image.png"]
    assert "PDF" in reasons["broken.pdf"]
    assert reasons["mixed.jsonl"].startswith("line 2: invalid JSON")
    assert [r.path for r in rejected if "mixed" in r.path] == [f"{tmp_path / 'mixed.jsonl'}:2"]
    assert len([g for g in good if g.source.endswith("mixed.jsonl")]) == 3
    latin = next(g for g in good if g.source.endswith("latin1.txt"))
    assert "général a présenté les priorités de l'été" in latin.text


def test_folder_notes_are_skipped_but_a_named_file_is_loaded(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("About this folder")
    (tmp_path / "LICENSE").write_text("CC BY-SA")
    (tmp_path / ".hidden.txt").write_text("secret")
    (tmp_path / "release.txt").write_text("Title\n\nSome release text that is long enough.")
    files, rejected, skipped = discover([tmp_path])
    assert [f.name for f in files] == ["release.txt"]
    assert rejected == [] and sorted(Path(s).name for s in skipped) == ["LICENSE", "README.md"]
    files, _, _ = discover([tmp_path / "README.md"])
    assert [f.name for f in files] == ["README.md"]


def test_jsonl_line_separators_inside_strings_are_data(tmp_path: Path) -> None:
    records = [json.loads(line) for line in ISAF.read_text(encoding="utf-8").split("\n") if line]
    assert len(records) == 723
    loaded = list(load_file(ISAF))
    assert len(loaded) == 723 and all(isinstance(x, RawRelease) for x in loaded)
