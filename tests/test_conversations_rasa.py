"""Whole conversations against the REAL Rasa server (trained once per run by the fixture).

Messages are phrased the way people write; where the NLU is unsure the engine's repair
(clarification buttons) is part of what is tested, so assertions accept it explicitly.
"""

from __future__ import annotations

import pytest

from bot.nlu.client import NluClient
from bot.nlu.rasa_env import free_port
from storage.coaches import add_coach
from storage.database import create_db_engine, session_scope
from storage.models import Union
from tests.conversation_helpers import Chat, make_service

pytestmark = pytest.mark.rasa


@pytest.fixture
async def rasa(rasa_url):
    client = NluClient(rasa_url, timeout=10.0, retries=1)
    yield client
    await client.aclose()


async def start(url: str, nlu: NluClient, first: str, consent: str = "Ja") -> Chat:
    service, _ = make_service(url, nlu)
    chat = Chat(service)
    await chat.say(first)
    await chat.press(consent)
    return chat


async def intake_nl(chat: Chat) -> None:
    assert chat.asked("voornaam")
    await chat.say("ik ben Fatima")
    await chat.say("Den Haag")
    await chat.press("ontslagen")
    if chat.asked("contract"):
        await chat.press("Tijdelijk")
    await chat.say("schoonmaak in een ziekenhuis")
    await chat.press("Mbo")
    await chat.say("snel weer vast werk")
    await chat.press("Telefoon")
    await chat.say("06-12345678")
    await chat.press("Avond")
    assert chat.asked("Klopt dit?")


async def test_job_loss_in_dutch_end_to_end(sqlite_url, rasa):
    with session_scope(create_db_engine(sqlite_url)) as session:
        add_coach(session, name="Anna", telegram_id=7, union=Union.FNV, regions=["AM21"])
    service, notifier = make_service(sqlite_url, rasa)
    chat = Chat(service)
    await chat.say("mn contract word nie verlengd")
    assert "computerprogramma" in chat.text
    await chat.press("Ja")
    assert "Wat vervelend" in chat.text
    await intake_nl(chat)
    await chat.press("Ja")
    assert "Anna" in chat.last
    assert notifier.cases[0].coach is not None and notifier.cases[0].region_code == "AM21"


async def test_job_loss_in_english_end_to_end(sqlite_url, rasa):
    service, notifier = make_service(sqlite_url, rasa)
    chat = Chat(service)
    await chat.say("I got fired today")
    assert "computer program" in chat.text
    await chat.press("Yes")
    assert chat.asked("first name")
    await chat.say("my name is Piotr")
    await chat.say("Rotterdam")
    await chat.press("do not have work")
    await chat.press("Agency")
    await chat.say("warehouse")
    await chat.press("Vocational")
    await chat.say("a steady job")
    await chat.press("Email")
    await chat.say("piotr@example.pl")
    await chat.press("Any time")
    assert "Is this correct?" in chat.last
    await chat.press("Yes")
    assert "our team" in chat.last
    assert notifier.cases[0].language == "en"


@pytest.mark.parametrize(
    ("message", "expected", "answers_coach"),
    [
        ("ik heb een nulurencontract, wat zijn mijn rechten", "12 maanden", True),
        ("ik wil een opleiding doen", "STAP-budget", True),
        ("ik weet niet wat ik wil met mijn werk", "regie", True),
        ("ik wil een coach spreken", "contact", False),
    ],
)
async def test_topic_flows_end_to_end(sqlite_url, rasa, message, expected, answers_coach):
    service, notifier = make_service(sqlite_url, rasa)
    chat = Chat(service)
    await chat.say("hoi")
    await chat.press("Ja")
    await chat.say(message)
    if "niet zeker" in chat.text:  # low confidence: the clarification buttons are the repair
        await chat.press(chat.buttons[0].label)
    assert expected in chat.text
    if answers_coach:
        await chat.press("Ja")
    await chat.say("Fatima")
    await chat.say("Zwolle")
    while not chat.asked("Klopt dit?"):
        if chat.buttons:
            await chat.press(chat.buttons[0].label)
        else:
            await chat.say("06 12345678" if chat.asked("telefoon") else "iets anders doen")
    await chat.press("Ja")
    assert len(notifier.cases) == 1


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("wat kost het", "gratis"),
        ("wie zijn jullie", "FNV en CNV"),
        ("wat gebeurt er met mijn gegevens", "gegevens"),
        ("ben jij een mens", "chatbot"),
        ("dankjewel", "Graag gedaan"),
        ("doei", "Succes"),
        ("recept voor lasagne", "niet mee helpen"),
    ],
)
async def test_questions_are_answered(sqlite_url, rasa, message, expected):
    chat = await start(sqlite_url, rasa, "hallo")
    await chat.say(message)
    assert expected in chat.text


async def test_digression_then_pending_question(sqlite_url, rasa):
    chat = await start(sqlite_url, rasa, "ik ben ontslagen")
    await chat.say("Sanne")
    assert chat.asked("woonplaats")
    await chat.say("wat kost dit?")
    assert "gratis" in chat.text
    assert "terug naar mijn vraag" in chat.last and chat.asked("woonplaats")
    await chat.say("Utrecht")
    assert chat.asked("situatie")


async def test_cancel(sqlite_url, rasa):
    chat = await start(sqlite_url, rasa, "ik ben ontslagen")
    await chat.say("Sanne")
    await chat.say("laat maar")
    assert "gestopt" in chat.text
    await chat.say("ik wil een opleiding doen")
    assert "€5.000" in chat.text


async def test_correction_at_summary(sqlite_url, rasa):
    chat = await start(sqlite_url, rasa, "ik ben ontslagen")
    await intake_nl(chat)
    await chat.say("wijzig telefoonnummer")
    assert chat.asked("telefoonnummer")
    await chat.say("020 123 4567")
    assert chat.asked("Klopt dit?") and "+31201234567" in chat.last


async def test_restart_mid_flow_resumes(sqlite_url, rasa):
    chat = await start(sqlite_url, rasa, "ik ben ontslagen")
    await chat.say("Sanne")
    await chat.say("Utrecht")
    assert chat.asked("situatie")
    restarted, _ = make_service(sqlite_url, rasa)
    resumed = Chat(restarted)
    await resumed.say("/start")
    assert resumed.asked("situatie")


async def test_invalid_phone_email_gemeente_reprompted(sqlite_url, rasa):
    chat = await start(sqlite_url, rasa, "ik ben ontslagen")
    await chat.say("Sanne")
    await chat.say("Amsterdm")
    assert "Bedoel je Amsterdam?" in chat.text
    await chat.press("Ja")
    await chat.press("geen werk")
    await chat.press("Tijdelijk")
    await chat.say("zorg")
    await chat.press("Hbo")
    await chat.say("iets nieuws")
    await chat.press("Telefoon")
    await chat.say("12345")
    assert "te kort" in chat.text
    await chat.say("0612345678")
    await chat.press("Ochtend")
    await chat.say("wijzig contact")
    await chat.press("E-mail")
    await chat.say("sanne@@example")
    assert "klopt niet helemaal" in chat.text
    await chat.say("sanne@example.nl")
    assert chat.asked("Klopt dit?")


async def test_nlu_down_still_answers(sqlite_url):
    closed = NluClient(f"http://127.0.0.1:{free_port()}", timeout=0.5, retries=0)
    chat = await start(sqlite_url, closed, "hoi")
    await chat.say("ik weet het even niet meer")
    assert "storing" in chat.text and chat.buttons
    await chat.say("opleiding")
    assert "€5.000" in chat.text
    await closed.aclose()
