"""A model's answer is shown only as far as the releases back it (issue 10).

A scripted OpenAI-compatible server on 127.0.0.1 answers as a careless model would:
without markers, with invented markers, fully cited, in English over the French NATO
item, or NOT_IN_RELEASES. Each case is checked through the CLI (text and --json) and the
chat (AppTest), over the real corpus with the real embedder and support check.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_qa_bot
from tests.openai_script import ScriptedServer

NATO_Q = "When did NATO's Cooperative Security Division hold its bi-annual meeting with partners?"
NATO_CLAIM = (
    "On 28 February 2024, the Cooperative Security Division of NATO's International "
    "Military Staff held its bi-annual meeting with partner countries"
)
HAWALA_Q = "Where is the Rahmat Hawala Network based?"
HAWALA_CLAIM = (
    "Mohammed Qaseem is believed to be the owner of the Rahmat Hawala Network, an "
    "organization suspected of funding insurgent activity, based out of Wesh district, "
    "Kandahar province"
)

UNCITED = "The meeting was opened by the Secretary General, who welcomed the partners."
MIXED = f"{NATO_CLAIM} [{{Trente}}]. Mickey Mouse closed it [7]. It was held in Mons [99]."
FULL = f"{HAWALA_CLAIM} [{{Hawala}}]."
CROSS = f"{NATO_CLAIM} [{{Trente}}]."


@pytest.fixture(scope="module")
def scripted() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    yield server
    server.close()


def _ask(store: Path, server: ScriptedServer, question: str, *extra: str, **env: str) -> tuple:  # type: ignore[type-arg]
    env = {"OPENAI_BASE_URL": server.url, "QA_BOT_CHAT_MODEL": "scripted", **env}
    text = run_qa_bot("ask", question, "--store", str(store), *extra, env=env)
    data = run_qa_bot("ask", question, "--store", str(store), "--json", *extra, env=env)
    assert text.returncode == 0 and data.returncode == 0, text.stderr + data.stderr
    return text, json.loads(data.stdout)


def test_uncited_answer_is_replaced_by_the_offline_answer(corpus_store, scripted) -> None:  # type: ignore[no-untyped-def]
    scripted.reply = UNCITED
    text, data = _ask(corpus_store[0], scripted, NATO_Q)
    assert "Secretary General" not in text.stdout
    assert "'scripted'" in text.stderr and "offline answer" in text.stderr
    assert data["generator"] == "extractive"
    assert "Secretary General" not in data["text"]
    # the offline answer is what is printed, cited, in place of the model's
    assert not data["abstained"] and data["citations"]
    assert text.stdout.startswith(data["text"])
    assert "no sentence that the releases back" in data["notice"]
    assert [s["verdict"] for s in data["sentences"]] == ["uncited"]
    assert not any(s["shown"] for s in data["sentences"])


def test_uncited_answer_gives_way_to_the_offline_refusal(corpus_store, scripted) -> None:  # type: ignore[no-untyped-def]
    """The releases hold nothing on it: the offline answerer refuses, and that refusal,
    with the notice, is what replaces the model's invented answer."""
    scripted.reply = "Mix 200 g of chocolate with three eggs and bake for 30 minutes."
    text, data = _ask(corpus_store[0], scripted, "What is the recipe for a chocolate cake?")
    assert data["abstained"] and data["generator"] == "extractive"
    assert "do not contain an answer" in text.stdout and "chocolate" not in text.stdout
    assert "no sentence that the releases back" in data["notice"] and "'scripted'" in text.stderr
    assert [s["shown"] for s in data["sentences"]] == [False]


def test_mixed_answer_keeps_only_backed_sentences(corpus_store, scripted) -> None:  # type: ignore[no-untyped-def]
    scripted.reply = MIXED
    text, data = _ask(corpus_store[0], scripted, NATO_Q)
    for out in (text.stdout, data["text"]):
        assert "Mickey" not in out and "Mons" not in out and "[7]" not in out
        assert "28 February 2024" in out and "[1]" in out
    assert data["generator"] == "openai"
    assert "2 of the 3 sentences" in data["notice"] and "dropped" in data["notice"]
    assert "dropped" in text.stderr
    verdicts = [(s["verdict"], s["shown"]) for s in data["sentences"]]
    assert verdicts == [("supported", True), ("uncited", False), ("uncited", False)]
    assert [c["release_id"] for c in data["citations"]] == ["2024-02-28-partners-meeting.fr"]
    assert all(c["supported"] for c in data["citations"])


def test_mixed_answer_marked_when_asked(corpus_store, scripted) -> None:  # type: ignore[no-untyped-def]
    scripted.reply = MIXED
    text, data = _ask(corpus_store[0], scripted, NATO_Q, QA_BOT_UNSUPPORTED="mark")
    assert "Mickey Mouse closed it. (not backed by the releases)" in text.stdout
    assert "It was held in Mons. (not backed by the releases)" in text.stdout
    assert all(s["shown"] for s in data["sentences"])
    assert "2 of the 3 sentences" in data["notice"] and "marked" in data["notice"]


@pytest.mark.parametrize(
    ("question", "reply", "release"),
    [
        (HAWALA_Q, FULL, "isaf-2012-09-S-037-l373"),
        (NATO_Q, CROSS, "2024-02-28-partners-meeting.fr"),
    ],
    ids=["fully-cited", "english-over-french"],
)
def test_backed_answer_is_kept_as_written(corpus_store, scripted, question, reply, release) -> None:  # type: ignore[no-untyped-def]
    scripted.reply = reply
    text, data = _ask(corpus_store[0], scripted, question)
    assert data["generator"] == "openai" and data["notice"] is None
    assert [s["verdict"] for s in data["sentences"]] == ["supported"]
    assert data["text"].endswith("[1]") and data["text"].startswith(reply.split(" [")[0])
    assert [c["supported"] for c in data["citations"]] == [True]
    assert data["citations"][0]["release_id"] == release
    assert text.stdout.startswith(data["text"]) and "Note:" not in text.stderr


def test_not_in_releases_is_a_refusal(corpus_store, scripted) -> None:  # type: ignore[no-untyped-def]
    scripted.reply = "NOT_IN_RELEASES"
    text, data = _ask(corpus_store[0], scripted, "What was NATO's budget for 2031?")
    assert data["abstained"] and data["citations"] == []
    assert "do not contain an answer" in text.stdout


def test_streaming_and_plain_requests_are_both_served(corpus_app, scripted, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from qa_bot.answering.llm import LLMAnswerer

    scripted.reply = CROSS
    answerer = LLMAnswerer(model="scripted", base_url=scripted.url, cache_dir=tmp_path)
    passages = corpus_app.retriever.search(NATO_Q, k=5).passages
    pieces = list(answerer.stream(NATO_Q, passages))
    assert scripted.requests[-1]["stream"] is True
    shown = "".join(p for p in pieces if isinstance(p, str))
    assert shown == pieces[-1].text  # type: ignore[union-attr]  # only checked text streamed
    # a plain (non-streaming) completion, as the follow-up condensing uses
    assert answerer.condense("And then?", []) and scripted.requests[-1].get("stream") is not True


# ------------------------------------------------------------------ qa-bot eval
def test_eval_reports_what_became_of_the_models_answers(corpus_store, scripted, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """One question per case, one scripted reply per question: `qa-bot eval --generator
    openai` counts each outcome once, and a predictions file gives the same figures."""
    from qa_bot.evaluation import load_items, model_outcomes

    opened = "Who opened the meeting with NATO's partners on 28 February 2024?"
    budget = "What was NATO's budget for 2031?"
    script = {NATO_Q: MIXED, HAWALA_Q: FULL, opened: UNCITED, budget: "NOT_IN_RELEASES"}
    scripted.reply = lambda prompt: next(r for q, r in script.items() if q in prompt)
    nato = ["2024-02-28-partners-meeting.fr"]
    rows = [
        {"id": "mixed", "question": NATO_Q, "source_ids": nato},
        {"id": "full", "question": HAWALA_Q, "source_ids": ["isaf-2012-09-S-037-l373"]},
        {"id": "uncited", "question": opened, "source_ids": nato},
        {"id": "refused", "question": budget, "type": "unanswerable"},
    ]
    questions, out = tmp_path / "q.jsonl", tmp_path / "p.jsonl"
    questions.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    env = {"OPENAI_BASE_URL": scripted.url, "QA_BOT_CHAT_MODEL": "scripted"}
    done = run_qa_bot(
        "eval", str(questions), "--store", str(corpus_store[0]), "--generator", "openai",
        "--out", str(out), "--json", env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)["qa-bot"]
    for outcome in ("kept", "dropped", "replaced", "refused"):
        assert figures[f"model_{outcome}"] == 0.25, outcome
    # shown: the mixed answer's cited sentence and the fully cited one, both backed
    assert figures["shown_sentences_backed"] == 1.0
    assert figures["shown_sentences_cite_gold"] == 1.0
    assert figures["abstention_recall"] == 1.0 and figures["false_refusals"] == 0.0
    predictions = {p["id"]: p for p in map(json.loads, out.read_text().splitlines())}
    again = model_outcomes(load_items(questions), predictions)
    assert again == {"questions": 4, **{k: v for k, v in figures.items() if k in again}}


# ------------------------------------------------------------------ the chat (AppTest)
def _chat(store: Path, server: ScriptedServer, monkeypatch: pytest.MonkeyPatch, question: str):  # type: ignore[no-untyped-def]
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT
    from ui.state import get_app

    monkeypatch.setenv("QA_BOT_STORE", str(store))
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    monkeypatch.setenv("QA_BOT_CHAT_MODEL", "scripted")
    get_app.clear()
    at = AppTest.from_file(str(ROOT / "ui" / "app.py"), default_timeout=120)
    at.run()
    at.chat_input[0].set_value(question).run()
    assert not at.exception
    return at


def _shown(at) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(m.value for m in at.markdown)


def test_chat_shows_the_offline_answer_for_an_uncited_one(
    corpus_store,
    scripted,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    scripted.reply = UNCITED
    at = _chat(corpus_store[0], scripted, monkeypatch, NATO_Q)
    assert "Secretary General" not in _shown(at)
    assert any("offline answer" in w.value for w in at.warning)


def test_chat_drops_the_invented_claims(corpus_store, scripted, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    scripted.reply = MIXED
    at = _chat(corpus_store[0], scripted, monkeypatch, NATO_Q)
    assert "Mickey" not in _shown(at) and "28 February 2024" in _shown(at)
    assert any("2 of the 3 sentences" in w.value for w in at.warning)


def test_chat_marks_the_invented_claims_when_asked(corpus_store, scripted, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("QA_BOT_UNSUPPORTED", "mark")
    scripted.reply = MIXED
    at = _chat(corpus_store[0], scripted, monkeypatch, NATO_Q)
    assert "Mickey" in _shown(at) and "not backed by the releases" in _shown(at)


@pytest.mark.parametrize(
    ("question", "reply"),
    [(HAWALA_Q, FULL), (NATO_Q, CROSS)],
    ids=["fully-cited", "english-over-french"],
)
def test_chat_keeps_a_backed_answer(corpus_store, scripted, monkeypatch, question, reply) -> None:  # type: ignore[no-untyped-def]
    scripted.reply = reply
    at = _chat(corpus_store[0], scripted, monkeypatch, question)
    shown = _shown(at).replace("\\", "")  # the chat's Markdown, unescaped
    assert f"{reply.split(' [')[0]}. [1]" in shown  # as written, cited
    assert not at.warning


def test_chat_shows_the_models_refusal(corpus_store, scripted, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    scripted.reply = "NOT_IN_RELEASES"
    at = _chat(corpus_store[0], scripted, monkeypatch, "What was NATO's budget for 2031?")
    assert "do not contain an answer" in _shown(at)
    assert "NOT_IN_RELEASES" not in _shown(at) and not at.warning
    assert "The nearest releases are" in _shown(at)  # and they are listed
