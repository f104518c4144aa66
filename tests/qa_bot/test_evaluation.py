"""What `qa-bot eval --generator openai` says became of a model's answers (fast tier:
answers as their JSON, no model, no store)."""

from __future__ import annotations

from typing import Any

from qa_bot.evaluation import Item, model_outcomes

GOLD = Item(id="", question="Who opened the meeting?", source_ids=("nato",))


def _answer(generator: str = "openai", abstained: bool = False, *claims: Any) -> dict[str, Any]:
    """An answer's JSON; each claim is (verdict, shown, cited release or None)."""
    citations, sentences = [], []
    for verdict, shown, release in claims:
        numbers = []
        if release is not None:
            citations.append({"n": len(citations) + 1, "release_id": release})
            numbers = [len(citations)]
        sentences.append(
            {"text": "x", "verdict": verdict, "citations": numbers, "score": 0.5, "shown": shown}
        )
    return {
        "generator": generator,
        "abstained": abstained,
        "citations": citations,
        "sentences": sentences,
    }


def test_each_answer_has_one_outcome_and_shown_sentences_are_counted() -> None:
    answers = {
        "kept": _answer("openai", False, ("supported", True, "nato")),
        "dropped": _answer("openai", False, ("supported", True, "other"), ("uncited", False, None)),
        # QA_BOT_UNSUPPORTED=mark: the unbacked sentence is shown, marked
        "marked": _answer(
            "openai", False, ("supported", True, "nato"), ("unsupported", True, "nato")
        ),
        "replaced": _answer("extractive", False, ("uncited", False, None)),
        "refused": _answer("openai", True),
    }
    items = [Item(id=k, question=GOLD.question, source_ids=GOLD.source_ids) for k in answers]
    figures = model_outcomes(items, answers)
    assert figures["questions"] == 5
    assert figures["model_kept"] == 0.2 and figures["model_refused"] == 0.2
    assert figures["model_dropped"] == 0.4  # dropped, and shown but marked
    assert figures["model_replaced"] == 0.2
    # shown: kept's, dropped's first, marked's two; the replaced answer's sentence is not
    assert figures["shown_sentences_backed"] == 0.75
    # of the shown sentences that cite: all but dropped's cite the gold release
    assert figures["shown_sentences_cite_gold"] == 0.75


def test_questions_without_a_prediction_are_left_out() -> None:
    figures = model_outcomes([GOLD], {})
    assert figures["questions"] == 0 and figures["model_kept"] is None


def test_question_files_that_cannot_be_read_or_are_mistyped_say_where(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from qa_bot.errors import QaBotError
    from qa_bot.evaluation import check_out, load_items

    good = tmp_path / "q.jsonl"
    good.write_text('{"id": 1, "question": "Who?", "history": ["Who was Fayez Jan?"]}\n')
    assert load_items(good)[0].history == ("Who was Fayez Jan?",)
    cases = {
        tmp_path / "missing.jsonl": "no such file",
        tmp_path: "is a directory",
    }
    for row, why in (
        ('{"id": 1, "question": "Who?", "history": "Who was Fayez Jan?"}', "'history' must be"),
        ('{"id": 1, "question": "Who?", "source_ids": "isaf-1"}', "'source_ids' must be"),
        ('{"id": 1, "question": "Who?", "must_include": "Daman"}', "'must_include' must be"),
        ('{"id": 1, "question": 123}', "'question' must be"),
        ("", "holds no questions"),
    ):
        path = tmp_path / f"bad{len(cases)}.jsonl"
        path.write_text(row + "\n")
        cases[path] = why
    for path, why in cases.items():
        with pytest.raises(QaBotError, match=why) as caught:
            load_items(path)
        assert str(path) in str(caught.value)
    with pytest.raises(QaBotError, match="does not exist"):
        check_out(tmp_path / "nodir" / "x.jsonl")
    with pytest.raises(QaBotError, match="is a directory"):
        check_out(tmp_path)
    check_out(tmp_path / "answers.jsonl")
