"""The `qa-bot` commands as a user runs them: real process, real embedder, real store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import CORPUS, EXAMPLES

QA_BOT = [sys.executable, "-m", "qa_bot"]


def qa_bot(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:  # noqa: D103
    return subprocess.run(
        [*QA_BOT, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=600,
    )


def test_ingest_the_real_corpus(corpus_store: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    store, report = corpus_store
    assert set(report) >= {
        "added",
        "updated",
        "unchanged",
        "removed",
        "rejected",
        "releases",
        "chunks",
        "seconds",
    }
    assert (report["added"], report["rejected"], report["releases"]) == (724, [], 724)
    assert report["chunks"] > 4000

    again = qa_bot("ingest", str(CORPUS), "--store", str(store), "--json")
    second = json.loads(again.stdout)
    assert again.returncode == 0
    assert (second["unchanged"], second["added"], second["updated"]) == (724, 0, 0)
    assert second["embedded"] == 0 and second["chunks"] == report["chunks"]


def test_stats_and_list(corpus_store: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    store, report = corpus_store
    stats = json.loads(qa_bot("stats", "--store", str(store), "--json").stdout)
    assert stats["releases"] == 724 and stats["chunks"] == report["chunks"]
    assert stats["languages"] == {"en": 723, "fr": 1}
    assert stats["date_min"].startswith("2009-12") and stats["date_max"].startswith("2024")
    assert stats["embedder"] == "use-multilingual" and stats["store"] == str(store)

    rows = json.loads(qa_bot("list", "--store", str(store), "--json").stdout)
    assert len(rows) == 724
    assert rows[0]["id"] == "2024-02-28-partners-meeting.fr" and rows[0]["language"] == "fr"
    text = qa_bot("list", "--store", str(store)).stdout.splitlines()
    assert text[0].split("\t")[:3] == ["2024-02-28-partners-meeting.fr", "2024-02-28", "fr"]


def test_bad_folder_exit_code_and_store_intact(tmp_path: Path) -> None:
    store = tmp_path / "store"
    assert qa_bot("ingest", str(EXAMPLES), "--store", str(store)).returncode == 0
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    (bad / "binary.txt").write_bytes(bytes(range(256)))
    (bad / "latin1.txt").write_bytes(
        "Communiqué\n\nLe général est arrivé à Kaboul hier.".encode("latin-1")
    )
    good = (EXAMPLES / "isaf-sample.jsonl").read_text(encoding="utf-8").split("\n")
    (bad / "mixed.jsonl").write_text(
        "\n".join([good[0].replace("isaf-", "new-"), "{oops", good[1].replace("isaf-", "new-")])
    )
    done = qa_bot("ingest", str(bad), "--store", str(store), "--json")
    assert done.returncode == 1
    report = json.loads(done.stdout)
    reasons = {Path(r["path"]).name: r["reason"] for r in report["rejected"]}
    assert set(reasons) == {"empty.txt", "binary.txt", "mixed.jsonl:2"}
    assert report["added"] == 3 and report["releases"] == 41 + 3

    human = qa_bot("ingest", str(bad), "--store", str(store))
    assert human.returncode == 1 and "rejected" in human.stderr and "empty file" in human.stderr


def test_delete(tmp_path: Path) -> None:
    store = tmp_path / "store"
    qa_bot("ingest", str(EXAMPLES), "--store", str(store))
    done = qa_bot("delete", "2024-02-28-partners-meeting.fr", "nope", "--store", str(store))
    assert done.returncode == 1
    assert "deleted 2024-02-28-partners-meeting.fr" in done.stdout and "nope" in done.stderr
    assert json.loads(qa_bot("stats", "--store", str(store), "--json").stdout)["releases"] == 40
    question = ["ask", "Taliban leader killed in Ghazni", "--store", str(store), "--json"]
    before = json.loads(qa_bot(*question).stdout)
    compacted = qa_bot("compact", "--store", str(store))
    assert compacted.returncode == 0, compacted.stderr
    assert compacted.stdout.startswith("1 segment rewritten as one, 16 rows")  # the French item
    after = json.loads(qa_bot(*question).stdout)
    assert (after["text"], after["citations"]) == (before["text"], before["citations"])


def test_errors_are_one_clear_line(tmp_path: Path) -> None:
    store = tmp_path / "store"
    qa_bot("ingest", str(EXAMPLES / "isaf-sample.jsonl"), "--store", str(store))
    done = qa_bot(
        "stats",
        "--store",
        str(store),
        env={"QA_BOT_EMBEDDER": "sentence-transformers:/models/other"},
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "use-multilingual" in done.stderr and "QA_BOT_EMBEDDER=use-multilingual" in done.stderr

    bad = qa_bot("stats", env={"QA_BOT_COLLECTION": "x"})
    assert (
        bad.returncode == 2 and "QA_BOT_COLLECTION" in bad.stderr and "Traceback" not in bad.stderr
    )

    for flags, why in (
        (["--since", "2013-01-01", "--until", "2012-01-01"], "swap them"),
        (["--lang", "klingon"], "not a language code"),
        (["--lang", "xx"], "--lang xx: no stored release is in that language; the store holds en"),
    ):
        wrong = qa_bot("ask", "Who was killed?", "--store", str(store), *flags)
        assert wrong.returncode == 2 and why in wrong.stderr and "Traceback" not in wrong.stderr
    afile = tmp_path / "afile"
    afile.write_text("not a store")
    for command in (["ingest", str(EXAMPLES / "isaf-sample.jsonl")], ["ask", "Who was killed?"]):
        wrong = qa_bot(*command, "--store", str(afile))
        assert wrong.returncode == 2 and "is a file, not a store directory" in wrong.stderr
    assert afile.read_text() == "not a store"
    none = qa_bot("ask", "Who was killed?", "--store", str(store), "--since", "2030-01-01")
    assert none.returncode == 0 and none.stdout.startswith("No release was searched")


def test_ingest_of_nothing_says_so(tmp_path: Path) -> None:
    store = tmp_path / "store"
    gone = qa_bot("ingest", str(tmp_path / "no-such-folder"), "--store", str(store))
    assert gone.returncode == 1 and "no such file or folder" in gone.stderr
    assert not store.exists()  # no empty store made for a typo
    (tmp_path / "empty").mkdir()
    empty = qa_bot("ingest", str(tmp_path / "empty"), "--store", str(store))
    assert empty.returncode == 1 and "No release files under" in empty.stderr


def test_chat_commands_are_not_questions(tmp_path: Path) -> None:
    store = tmp_path / "store"
    qa_bot("ingest", str(EXAMPLES / "isaf-sample.jsonl"), "--store", str(store))
    done = subprocess.run(
        [*QA_BOT, "chat", "--store", str(store)],
        input="/help\n/nope\n/quit\nWho was killed?\n",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    replies = done.stdout.split("\n> ")[1:]
    # piped in, each line is echoed after the prompt
    assert replies[0].startswith("/help\n/new starts over")
    assert replies[1].startswith("/nope\nUnknown command /nope")
    assert "[1]" not in done.stdout  # /quit quit: the question after it was not asked


def test_help_states_defaults() -> None:
    done = qa_bot("ingest", "--help", env={"COLUMNS": "200"})
    assert done.returncode == 0
    assert "QA_BOT_STORE" in done.stdout and "~/.local/share/qa-bot/store" in done.stdout


def test_server_mode(chroma_server: str, tmp_path: Path) -> None:
    done = qa_bot("ingest", str(EXAMPLES), "--chroma-url", chroma_server, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["releases"] == 41
    stats = json.loads(qa_bot("stats", "--json", env={"QA_BOT_CHROMA_URL": chroma_server}).stdout)
    assert stats["store"] == chroma_server and stats["releases"] == 41


def test_the_headline_conversation_in_the_terminal(corpus_store: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    """Over all 724 releases, no date or name given, in `qa-bot chat`: who opened the meeting
    (in English, then in French), then the topics, then who spoke after him. (The turn that
    still fails: test_the_english_topics_follow_up in tests/qa_bot/test_answering.py.)"""
    store, _ = corpus_store
    turns = (
        "Who opened the meeting?",
        "Qui a ouvert la réunion ?",
        "Quels sujets ont été abordés ?",
        "Et qui a parlé après lui ?",
    )
    done = subprocess.run(
        [*QA_BOT, "chat", "--store", str(store), "--generator", "extractive"],
        input="\n".join(turns) + "\n",
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    replies = [a for a in done.stdout.split("\n> ")[1:] if a.strip()]  # the last is the prompt
    # piped in, each question is echoed after the prompt, then answered
    assert [r.split("\n", 1)[0] for r in replies] == list(turns), done.stdout
    answers = [r.split("\n", 1)[1] for r in replies]
    assert len(answers) == 4, done.stdout
    opened_en, opened_fr, topics, after = answers
    for opened in (opened_en, opened_fr):
        first_line = opened.split("\n")[0]
        assert first_line.startswith("Le général de corps") and "Rohling" in first_line, opened
        assert "(2024-02-28)" in opened  # the cited release's date
    assert topics.startswith("Ont été abordés les partenariats stratégiques"), topics
    assert "coopération pratique" in topics
    assert after.startswith("Le général de division T.") and "Serban" in after.split("\n")[0]
