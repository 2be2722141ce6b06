"""The NLU review queue: what is kept (only with consent, masked), what an admin gets out of
it, and that it goes away (90 days, /verwijder, withdrawn consent)."""

from __future__ import annotations

import logging
import subprocess
import sys
from datetime import timedelta

import yaml

from bot.nlu.client import IntentScore, NluResult
from bot.nlu.report import labelled_examples
from bot.nlu.review import doubt_of, mask_personal_data
from bot.privacy import erase, find
from storage import nlu_review
from storage.database import create_db_engine, session_scope
from storage.models import NluReviewItem
from tests.conversation_helpers import DEFAULT_RULES, Chat, FakeNlu, make_service

UNSURE = (IntentScore("career_orientation", 0.41), IntentScore("training_question", 0.38))


def unsure_nlu() -> FakeNlu:
    """Everything not in the rules falls back, with two close guesses."""
    return FakeNlu(DEFAULT_RULES, fallback_ranking=UNSURE)


async def consented(url: str, nlu: FakeNlu, user: str = "u1") -> Chat:
    service, _ = make_service(url, nlu)
    chat = Chat(service, user=user)
    await chat.say("hallo")
    await chat.press("Ja")
    return chat


def items(url: str) -> list[NluReviewItem]:
    with session_scope(create_db_engine(url)) as session:
        return nlu_review.list_items(session)


def test_names_phones_emails_and_postcodes_become_placeholders() -> None:
    masked = mask_personal_data(
        "ik heet Fatima el Amrani, woon op 2513 AB, bel 06 12345678 of fatima.a@example.nl"
    )
    assert masked == "ik heet <naam>, woon op <postcode>, bel <telefoon> of <e-mail>"
    assert mask_personal_data("Hoi, ik ben Sanne de Vries en zoek werk") == (
        "Hoi, ik ben <naam> en zoek werk"
    )
    # Words that only look like a name stay: "ik ben ontslagen" is no name.
    assert mask_personal_data("ik ben ontslagen in Zaandam") == "ik ben ontslagen in Zaandam"


def test_fallback_and_a_small_margin_are_doubts_a_clear_answer_is_not() -> None:
    fallback = NluResult("nlu_fallback", 0.41, ranking=UNSURE)
    assert doubt_of(fallback) is not None and doubt_of(fallback).reason == "fallback"
    close = NluResult("job_loss", 0.48, ranking=(IntentScore("job_loss", 0.48), UNSURE[0]))
    assert doubt_of(close) is not None and doubt_of(close).reason == "margin"
    sure = NluResult("job_loss", 0.9, ranking=(IntentScore("job_loss", 0.9), UNSURE[1]))
    assert doubt_of(sure) is None
    assert doubt_of(NluResult.unavailable()) is None


async def test_an_unsure_message_of_a_consenting_participant_is_queued_masked(
    sqlite_url, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    chat = await consented(sqlite_url, unsure_nlu())
    await chat.say("ik twijfel, mijn naam is Joris Bakker en mijn nummer is 0612345678")
    [item] = items(sqlite_url)
    assert item.reason == "fallback"
    assert item.text == "ik twijfel, mijn naam is <naam> en mijn nummer is <telefoon>"
    assert (item.intent, item.second_intent) == ("career_orientation", "training_question")
    assert item.confidence == 0.41 and item.label is None
    assert "twijfel" not in caplog.text and "Joris" not in caplog.text


async def test_nothing_is_queued_without_consent(sqlite_url) -> None:
    service, _ = make_service(sqlite_url, unsure_nlu())
    chat = Chat(service)
    await chat.say("hallo")
    await chat.press("Nee")
    await chat.say("ik twijfel over alles")
    assert items(sqlite_url) == []


async def test_a_topic_changed_right_after_queues_the_message_that_started_it(sqlite_url):
    chat = await consented(sqlite_url, FakeNlu(DEFAULT_RULES))
    await chat.say("ik wil een opleiding over mijn loopbaan")  # read as training_question
    await chat.say("laat maar")  # that was not what they meant
    [item] = items(sqlite_url)
    assert item.reason == "corrected"
    assert item.text == "ik wil een opleiding over mijn loopbaan"
    assert item.intent == "training_question"


async def test_erasing_a_participant_removes_their_items_only(sqlite_url) -> None:
    nlu = unsure_nlu()
    first = await consented(sqlite_url, nlu, user="u1")
    await first.say("ik twijfel")
    second = await consented(sqlite_url, nlu, user="u2")
    await second.say("weet niet goed")
    assert len(items(sqlite_url)) == 2
    engine = create_db_engine(sqlite_url)
    with session_scope(engine) as session:
        participant = find(session, channel="test", external_id="u1")
        assert participant is not None
        erase(session, participant=participant, reason="request")
    assert [i.text for i in items(sqlite_url)] == ["weet niet goed"]


async def test_items_older_than_90_days_are_purged_by_housekeeping(sqlite_url) -> None:
    chat = await consented(sqlite_url, unsure_nlu())
    await chat.say("ik twijfel")
    engine = create_db_engine(sqlite_url)
    with session_scope(engine) as session:
        [item] = nlu_review.list_items(session)
        now = item.created_at
        assert nlu_review.purge_older_than(session, before=now - timedelta(days=1)) == 0
        gone = nlu_review.purge_older_than(
            session, before=now + nlu_review.REVIEW_RETENTION - timedelta(days=89, hours=23)
        )
        assert gone == 1
    assert items(sqlite_url) == []


async def test_export_is_rasa_nlu_yaml_with_guess_confidence_and_label(sqlite_url, tmp_path):
    chat = await consented(sqlite_url, unsure_nlu())
    await chat.say("ik twijfel over mijn richting")
    await chat.say("mag ik iets anders vragen")
    engine = create_db_engine(sqlite_url)
    with session_scope(engine) as session:
        first, second = nlu_review.list_items(session)
        assert nlu_review.label_item(session, item_id=first.id, label="career_orientation")
        assert nlu_review.list_items(session, unlabelled_only=True) == [second]
        text = nlu_review.export_yaml(session)
    document = yaml.safe_load(text)
    assert document["version"] == "3.1"
    blocks = {b["intent"]: b["examples"] for b in document["nlu"]}
    [labelled] = blocks["career_orientation"][:1]
    assert labelled["text"] == "ik twijfel over mijn richting"
    assert labelled["metadata"]["labelled"] is True
    assert labelled["metadata"]["model_guess"] == "career_orientation"
    assert labelled["metadata"]["confidence"] == 0.41
    assert labelled["metadata"]["reason"] == "fallback"
    # Rasa reads it as training data (the same reader as `careerbot nlu test`).
    path = tmp_path / "review.yml"
    path.write_text(text, encoding="utf-8")
    assert ("ik twijfel over mijn richting", "career_orientation") in labelled_examples(path)


def careerbot(url: str, *args: str) -> str:
    env = {"DATABASE_URL": url, "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_the_review_command_counts_and_exports(sqlite_url, tmp_path) -> None:
    chat = await consented(sqlite_url, unsure_nlu())
    await chat.say("ik twijfel")
    shown = careerbot(sqlite_url, "nlu", "review")
    assert "1 message(s), 1 not labelled yet (fallback: 1)" in shown
    assert "twijfel" not in shown  # counts only; the text goes to the file
    out = tmp_path / "review.yml"
    careerbot(sqlite_url, "nlu", "review", "--export", str(out))
    assert "ik twijfel" in out.read_text(encoding="utf-8")


async def test_the_participants_own_export_shows_what_the_queue_holds(sqlite_url) -> None:
    from bot.privacy import export_json

    chat = await consented(sqlite_url, unsure_nlu())
    await chat.say("ik twijfel, bel 0612345678")
    with session_scope(create_db_engine(sqlite_url)) as session:
        participant = find(session, channel="test", external_id="u1")
        assert participant is not None
        exported = export_json(session, participant=participant)
    assert '"text": "ik twijfel, bel <telefoon>"' in exported
