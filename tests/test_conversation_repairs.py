"""What went wrong when the bot was tried as a person, after issues 16 and 17.

(a) small talk typed at the name question ("hoi", "goeiemorgen", "ok") was stored as the name;
(b) filler ("eigenlijk", "gewoon", "actually") ended up inside a name ("Eigenlijk Jan");
(c) an English participant was answered in Dutch after a short message ("I live in Rotterdam"),
    and a Dutch one flipped to English on a courtesy ("ok thanks", "thank you so much");
(d) a question typed as the very first message was answered, and then nothing: no menu.

Each conversation runs with a fake parser at the NLU edge (the engine's decisions, exactly)
and against the real Rasa server with the shipped model (what a participant would see); what
is checked is what the bot answers and what the coach's card says.
"""

from __future__ import annotations

import pytest

from bot.engine.engine import turn
from bot.engine.language import detect_language
from bot.engine.messages import Inbound
from bot.engine.state import ConversationState
from bot.flows.registry import FlowRegistry
from bot.nlu.client import IntentScore, NluParser, NluResult
from storage.coaches import add_coach
from storage.database import create_db_engine, session_scope
from storage.models import Union
from tests.conversation_helpers import (
    FLOWS_DIR,
    Chat,
    FakeNlu,
    Handoffs,
    fake_or_rasa,
    make_service,
)
from tests.test_understanding import EN, NL, Lang, answer_until_summary, summary

RULES = {
    "coach spreken": "talk_to_human",
    "talk to a coach": "talk_to_human",
    "wat kost": "ask_cost",
    "what does it cost": "ask_cost",
    "gegevens": "privacy_question",
    "ontslagen": "job_loss",
    "lost my job": "job_loss",
    "goedemorgen": "greet",
    "goeiemorgen": "greet",
    "hallo": "greet",
    "hoi": "greet",
    "hey": "greet",
    "thank": "thanks",
    "thanks": "thanks",
}
NAME_QUESTION = ("hoe mag ik je noemen", "what should i call you")
NAME_HINT = ("voornaam", "first name")


parser = fake_or_rasa(lambda: FakeNlu(RULES))


@pytest.fixture
def coaches(sqlite_url: str) -> str:
    with session_scope(create_db_engine(sqlite_url)) as session:
        add_coach(session, name="Anna de Vries", telegram_id=11, union=Union.FNV, regions=["AM18"])
    return sqlite_url


async def at_the_name_question(url: str, parser: NluParser, lang: Lang) -> tuple[Chat, Handoffs]:
    service, notifier = make_service(url, parser)
    chat = Chat(service)
    await chat.say(lang.human)  # the first message: welcome, consent, then the intake
    await chat.press(lang.yes)
    assert any(q in chat.last.lower() for q in NAME_QUESTION)
    return chat, notifier


# (a) small talk at the name question ------------------------------------------------------------


@pytest.mark.parametrize(
    "chatter",
    [
        "hoi",
        "goeiemorgen",
        "Goedemorgen!",
        "ok",
        "oké dan",
        "ja hoor",
        "hallo hallo",
        "hey daar",
        "hoiii",
    ],
)
async def test_small_talk_at_the_name_question_is_not_a_name(coaches, parser, chatter):
    chat, notifier = await at_the_name_question(coaches, parser, NL)
    await chat.say(chatter)
    text = " ".join(r.text for r in chat.replies).lower()
    assert "je naam?" not in text  # not even checked back as a name
    assert any(q in chat.last.lower() for q in (*NAME_QUESTION, *NAME_HINT)), chat.last
    await answer_until_summary(chat, NL, name="Maria")
    assert "Dank je, Maria." in chat.last
    await chat.press(NL.yes)
    assert summary(notifier)["first_name"] == "Maria"


async def test_a_greeting_with_a_name_is_the_name(coaches, parser):
    chat, notifier = await at_the_name_question(coaches, parser, NL)
    await chat.say("hoi, ik ben Mehmet")
    await answer_until_summary(chat, NL, name="never asked")
    await chat.press(NL.yes)
    assert summary(notifier)["first_name"] == "Mehmet"


# (b) filler is not part of a name --------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        (NL, "ik heet eigenlijk Jan"),
        (NL, "nee, mijn naam is eigenlijk gewoon Jan"),
        (EN, "actually my name is Jan"),
    ],
    ids=["nl", "nl-two-fillers", "en"],
)
async def test_a_name_corrected_with_filler_is_only_the_name(coaches, parser, lang, said):
    chat, notifier = await at_the_name_question(coaches, parser, lang)
    await answer_until_summary(chat, lang, name="Priya")
    await chat.say(said)
    assert "Jan" in chat.last and "Eigenlijk" not in chat.last and "Actually" not in chat.last
    await chat.press(lang.yes)
    assert summary(notifier)["first_name"] == "Jan"


async def test_filler_at_the_name_and_town_questions_is_dropped(coaches, parser):
    chat, notifier = await at_the_name_question(coaches, parser, NL)
    await chat.say("eigenlijk gewoon Kees")
    assert "woonplaats" in chat.last.lower()
    await chat.say("eigenlijk Naaldwijk")
    await answer_until_summary(chat, NL)
    assert "Dank je, Kees." in chat.last
    assert "Naaldwijk (gemeente Westland, regio Haaglanden)" in chat.last
    await chat.press(NL.yes)
    assert summary(notifier)["first_name"] == "Kees"


# (c) the language sticks sensibly --------------------------------------------------------------


def test_language_by_the_words_only_one_language_has():
    assert detect_language("I live in Rotterdam") == "en"  # lingua alone: Dutch (the town)
    assert detect_language("I live in Naaldwijk but work in Delft") == "en"
    assert detect_language("ok thanks", first=True) is None  # a courtesy decides nothing
    assert detect_language("thank you so much") is None
    assert detect_language("you too", first=True) is None
    assert detect_language("hmm what", first=True) is None  # an interjection, not a language
    assert detect_language("ik werk als cleaner") == "nl"
    assert detect_language("ik heb een zero hours contract") is None  # mixed: keep
    assert detect_language("Is this free?", first=True) == "en"


async def test_an_english_participant_stays_in_english(coaches, parser):
    service, _ = make_service(coaches, parser)
    chat = Chat(service)
    await chat.say("/start")
    await chat.press(NL.yes)  # Dutch first: the welcome was Dutch, "Ja" is pressed
    await chat.say("I live in Rotterdam and I lost my job")
    assert "career coach" in " ".join(r.text for r in chat.replies)
    assert "what should i call you" in chat.last.lower()
    await chat.say("Tom")
    assert "you" in chat.last.lower() and " je " not in chat.last.lower(), chat.last
    await chat.say("/stop")
    assert "I have stopped" in chat.last


async def test_a_dutch_participant_does_not_flip_on_an_english_courtesy(coaches, parser):
    chat, _ = await at_the_name_question(coaches, parser, NL)
    await chat.say("Anouk")
    await chat.say("Zwolle")
    assert "contact met je" in chat.last
    await chat.say("thank you so much")
    assert "contact met je" in chat.last  # still Dutch
    await chat.say("ok thanks")
    assert "contact met je" in chat.last


# (d) a question as the very first message ------------------------------------------------------

FLOWS = FlowRegistry(FLOWS_DIR).current


def _nlu(intent: str) -> NluResult:
    return NluResult(intent=intent, confidence=0.95, ranking=(IntentScore(intent, 0.95),))


@pytest.mark.parametrize(
    ("first", "intent", "answer"),
    [
        ("wat kost het?", "ask_cost", "Het is gratis"),
        ("wie zijn jullie?", "ask_about_service", "loopbaanbegeleiding"),
        ("wat doen jullie met mijn gegevens?", "privacy_question", "gegevens"),
    ],
)
def test_a_question_as_the_first_message_is_answered_then_the_menu(first, intent, answer):
    welcomed = turn(FLOWS, ConversationState(), Inbound(text=first), _nlu(intent), channel="t")
    assert welcomed.replies[-1].buttons  # the consent question
    consent = welcomed.replies[-1].buttons[0].payload
    result = turn(FLOWS, welcomed.state, Inbound(payload=consent), None, channel="t")
    text = " ".join(r.text for r in result.replies)
    assert answer in text
    menu = result.replies[-1]
    assert "Waar kan ik je mee helpen?" in menu.text
    assert len(menu.buttons) >= 5 and not result.state.stack


async def test_a_question_as_the_first_message_ends_at_the_menu_in_a_conversation(coaches, parser):
    service, _ = make_service(coaches, parser)
    chat = Chat(service)
    await chat.say("wat kost het eigenlijk om met een coach te praten?")
    await chat.press(NL.yes)
    assert "gratis" in " ".join(r.text for r in chat.replies)
    assert "Waar kan ik je mee helpen?" in chat.last
    await chat.press("Praten met een coach")
    assert any(q in chat.last.lower() for q in NAME_QUESTION)
