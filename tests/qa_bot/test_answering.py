"""Extractive answers over the real corpus: what a user would check."""

from __future__ import annotations

import datetime as dt

import pytest

from qa_bot.prompts import render
from qa_bot.types import Filters, Passage, Sentence, Turn

NATO = "2024-02-28-partners-meeting.fr"


def test_who_opened_the_meeting_in_english_and_french(corpus_app) -> None:  # type: ignore[no-untyped-def]
    qa = corpus_app.qa("extractive")
    for question in (
        "Who opened the meeting with NATO's partners on 28 February 2024?",
        "Qui a ouvert la réunion avec les partenaires de l'OTAN le 28 février 2024 ?",
    ):
        answer = qa.ask(question)
        assert not answer.abstained and "Rohling" in answer.text
        cite = answer.citations[0]
        assert cite.release_id == NATO and "Rohling" in cite.quote
        release = corpus_app.retriever.releases[NATO]
        assert release.text[cite.start : cite.end] == cite.quote  # the exact sentence
        assert "[1]" in answer.text


def _conversation(qa, questions):  # type: ignore[no-untyped-def]
    history: list[Turn] = []
    for q in questions:
        history.append(Turn(q, qa.ask(q, history=history)))
    return [t.answer for t in history]


def test_the_headline_conversation_over_the_whole_corpus(corpus_app) -> None:  # type: ignore[no-untyped-def]
    """No date, no name, all 724 releases: the meeting is the one the releases tell of."""
    qa = corpus_app.qa("extractive")
    for question in ("Who opened the meeting?", "Qui a ouvert la réunion ?"):
        (opened,) = _conversation(qa, [question])
        assert not opened.abstained and opened.text.startswith("Le général de corps d’armée")
        assert "Rohling" in opened.citations[0].quote
        assert opened.citations[0].release_id == NATO
    _, topics = _conversation(qa, ["Qui a ouvert la réunion ?", "Quels sujets ont été abordés ?"])
    assert topics.text.startswith("Ont été abordés les partenariats stratégiques"), topics.text
    assert topics.citations[0].release_id == NATO


def test_the_headline_conversation_follow_ups(corpus_app) -> None:  # type: ignore[no-untyped-def]
    """ "And who spoke after him?" goes back to the opener, two turns before."""
    qa = corpus_app.qa("extractive")
    *_, topics, after_fr = _conversation(
        qa,
        [
            "Qui a ouvert la réunion ?",
            "Quels sujets ont été abordés ?",
            "Et qui a parlé après lui ?",
        ],
    )
    assert topics.text.startswith("Ont été abordés les partenariats stratégiques")
    *_, after = _conversation(
        qa, ["Who opened the meeting?", "Which topics were covered?", "And who spoke after him?"]
    )
    for answer in (after, after_fr):
        assert answer.text.startswith("Le général de division T.") and "Serban" in answer.text
        assert answer.citations[0].release_id == NATO and len(answer.citations) == 1


@pytest.mark.xfail(
    strict=True,
    reason="issue 7, still open: in English, 'Which topics were covered?' after 'Who opened "
    "the meeting?' picks the NATO item's last sentence ('d'autres sujets'): no word vector "
    "links 'covered' with 'abordés' as well as 'topics' with 'sujets'",
)
def test_the_english_topics_follow_up(corpus_app) -> None:  # type: ignore[no-untyped-def]
    qa = corpus_app.qa("extractive")
    _, topics = _conversation(qa, ["Who opened the meeting?", "Which topics were covered?"])
    assert "partenariats stratégiques" in topics.text


def test_topics_as_a_follow_up_and_in_french(corpus_app) -> None:  # type: ignore[no-untyped-def]
    qa = corpus_app.qa("extractive")
    first = qa.ask("Who opened the meeting with NATO's partners on 28 February 2024?")
    topics = qa.ask(
        "Which topics were covered at that meeting?", history=[Turn(first.question, first)]
    )
    french = qa.ask("Quels sujets ont été abordés lors de la réunion avec les pays partenaires ?")
    for answer in (topics, french):
        assert answer.citations and answer.citations[0].release_id == NATO
        for topic in (
            "partenariats stratégiques",
            "renforcement des capacités",
            "formation et d’entraînement",
            "coopération pratique",
        ):
            assert topic in answer.text


def test_relative_dates_are_made_absolute_and_quotes_kept(corpus_app) -> None:  # type: ignore[no-untyped-def]
    answer = corpus_app.qa("extractive").ask(
        "When did international forces conduct the air strike against a Taliban commander in "
        "Dara Noor district, Kunar province?"
    )
    assert "1 December 2009" in answer.text
    assert any("yesterday" in c.quote for c in answer.citations)


def test_abstains_off_topic(corpus_app) -> None:  # type: ignore[no-untyped-def]
    qa = corpus_app.qa("extractive")
    for question in (
        "Who won the football World Cup in 2010?",
        "What is the recipe for chocolate cake?",
    ):
        answer = qa.ask(question)
        assert answer.abstained and answer.text.startswith("The releases do not contain")


def test_a_brief_off_topic_question_mid_conversation_is_refused(corpus_app) -> None:  # type: ignore[no-untyped-def]
    """Brief questions follow up the conversation ("How many were detained?") unless they
    name something it has not: "Capital of France?" was answered from the last release."""
    qa = corpus_app.qa("extractive")
    question = "Where did international forces strike a Taliban commander on 1 December 2009?"
    history = [Turn(question, qa.ask(question))]
    for off_topic in ("Capital of France?", "Weather in Brussels?"):
        answer = qa.ask(off_topic, history=history)
        assert answer.abstained, answer.text


def test_a_refusal_under_filters_says_what_was_searched(corpus_app) -> None:  # type: ignore[no-untyped-def]
    qa = corpus_app.qa("extractive")
    question = "What is the recipe for chocolate cake?"
    assert qa.ask(question).notice is None
    answer = qa.ask(question, filters=Filters(languages=("en",), since=dt.date(2011, 1, 1)))
    assert answer.abstained
    assert answer.notice == (
        "Only the releases from 2011-01-01 to …, in en were searched: clear the filters to "
        "search them all."
    )
    kept = Filters(since=dt.date(2011, 1, 1), languages=("en",), release_ids=("a",))
    assert Filters.from_json(kept.as_json()) == kept  # as a conversation keeps them
    for bad in ("en", {"since": "2024-13-01"}, {"languages": 3}):
        with pytest.raises(ValueError):
            Filters.from_json(bad)
    assert Filters(release_ids=("a",)).describe() == (
        "Only the releases among the one chosen were searched: clear the filters to search "
        "them all."
    )


def test_what_about_another_place_asks_the_same_of_it(corpus_app) -> None:  # type: ignore[no-untyped-def]
    """ "What about Kandahar?" was answered from the Kunduz release the conversation cited
    (its words and its release were carried over); now the question before is asked again
    of Kandahar, in July 2010 still."""
    qa = corpus_app.qa("extractive")
    question = "How many insurgents were detained in Kunduz province in July 2010?"
    history = [Turn(question, qa.ask(question))]
    first = {c.release_id for c in history[0].answer.citations}
    answer = qa.ask("What about Kandahar?", history=history)
    assert not answer.abstained and answer.citations
    cited = answer.citations[0]
    assert cited.release_id not in first and "Kandahar" in cited.quote
    assert cited.date is not None and (cited.date.year, cited.date.month) == (2010, 7)
    history.append(Turn("What about Kandahar?", answer))
    again = qa.ask("What about Helmand?", history=history)  # the first question, of Helmand
    assert again.citations and "Helmand" in " ".join(c.quote for c in again.citations)
    date = again.citations[0].date
    assert date is not None and (date.year, date.month) == (2010, 7)


@pytest.mark.xfail(
    strict=True,
    reason="issue 7, still open: near misses (the event is in the releases, the asked fact is "
    "not) are mostly answered with the nearest fact",
)
def test_abstains_on_a_near_miss(corpus_app) -> None:  # type: ignore[no-untyped-def]
    # the division is in the releases, its budget is not
    near = corpus_app.qa("extractive").ask(
        "What was the budget of the Cooperative Security Division in 2024?"
    )
    assert near.abstained and "Des représentants de l’OTAN" in near.text


def test_answer_json_has_everything_the_ui_needs(corpus_app) -> None:  # type: ignore[no-untyped-def]
    data = corpus_app.qa("extractive").ask("Where is the Rahmat Hawala Network based?").as_json()
    assert set(data) >= {"text", "abstained", "citations", "passages", "generator", "timings"}
    assert set(data["citations"][0]) >= {
        "n",
        "release_id",
        "title",
        "date",
        "url",
        "quote",
        "start",
        "end",
    }
    assert data["generator"] == "extractive"
    assert set(data["timings"]) >= {"retrieval", "answer", "total"}


def _passage(rid: str, text: str) -> Passage:
    return Passage(
        release_id=rid,
        title=rid,
        date=None,
        url=None,
        language="en",
        text=text,
        start=0,
        end=len(text),
        score=1.0,
        sentences=(
            Sentence(chunk_id=f"{rid}:0", text=text, start=0, end=len(text), language="en"),
        ),
    )


def test_rendered_prompt(snapshot) -> None:  # type: ignore[no-untyped-def]
    assert render("answer_system", language="French", fence="f3nce") == snapshot
    passages = (
        '<passage-f3nce n="1" title="T" date="2024-02-28" language="en">\nText.\n</passage-f3nce>'
    )
    assert render("answer_user", passages=passages, question="Q?") == snapshot


def test_filters_set_mid_conversation_hold_for_the_follow_up(corpus_app) -> None:  # type: ignore[no-untyped-def]
    """A follow-up looks in the releases the conversation cited, but only in those the
    filters let through: set after the first question, they hold as for a first one."""
    qa = corpus_app.qa("extractive")
    first = qa.ask("What did ISAF report from Kunduz in July 2010?")
    assert any(c.date and c.date < dt.date(2011, 1, 1) for c in first.citations)
    history = [Turn(first.question, first)]
    releases = corpus_app.retriever.releases
    french = qa.ask(
        "Who was killed in the strike?", history=history, filters=Filters(languages=("fr",))
    )
    assert all(releases[c.release_id].language == "fr" for c in french.citations)
    later = qa.ask(
        "Who was killed in the strike?", history=history, filters=Filters(since=dt.date(2011, 1, 1))
    )
    assert all(c.date and c.date >= dt.date(2011, 1, 1) for c in later.citations)
