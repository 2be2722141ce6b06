"""Whole conversations through the conversation service (SQLite), with a fake NLU at the edge.

The same behaviours against the real Rasa server are in test_conversations_rasa.py.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import Session, select

from bot.desk.notices import To
from bot.engine.messages import Inbound
from bot.nlu.client import IntentScore, NluClient
from bot.nlu.rasa_env import free_port
from storage.cases import list_case_events
from storage.coaches import add_coach
from storage.database import create_db_engine, session_scope
from storage.models import Case, Conversation, MessageLog, Participant, Union
from tests.conversation_helpers import DEFAULT_RULES, Chat, FakeNlu, make_service


@pytest.fixture
def nlu() -> FakeNlu:
    return FakeNlu(DEFAULT_RULES)


async def consented_chat(url: str, nlu: FakeNlu, first: str = "ik ben mijn baan kwijt") -> Chat:
    service, _ = make_service(url, nlu)
    chat = Chat(service)
    await chat.say(first)
    assert "computerprogramma" in chat.text  # AI Act art. 50: says it is a bot
    assert "gegevens" in chat.text  # privacy notice
    await chat.press("Ja")
    return chat


async def full_intake(chat: Chat, *, phone: str = "06 12345678") -> None:
    assert chat.asked("voornaam")
    await chat.say("Ik ben Fatima")
    assert chat.asked("woonplaats")
    await chat.say("Den Haag")
    assert chat.asked("situatie")
    await chat.press("ontslagen")
    if chat.asked("contract"):  # not asked again when the person already said it
        await chat.press("Oproep")
    assert chat.asked("werk")
    await chat.say("schoonmaak")
    assert chat.asked("opleiding")
    await chat.press("Mbo")
    assert chat.asked("graag willen")
    await chat.say("snel weer werk")
    assert chat.asked("contact")
    await chat.press("Telefoon")
    assert chat.asked("telefoonnummer")
    await chat.say(phone)
    assert chat.asked("bereiken")
    await chat.press("Avond")
    assert chat.asked("Klopt dit?")


async def test_job_loss_intake_in_dutch_hands_off_to_regional_coach(sqlite_url, nlu):
    engine = create_db_engine(sqlite_url)
    with session_scope(engine) as session:
        add_coach(session, name="Anna", telegram_id=1, union=Union.FNV, regions=["AM21"])
    service, notifier = make_service(sqlite_url, nlu)
    chat = Chat(service)
    await chat.say("mn contract word nie verlengd")
    await chat.press("Ja")
    assert "Wat vervelend" in chat.text  # the first message's topic continues after consent
    await full_intake(chat)
    assert "Fatima" in chat.last and "Den Haag" in chat.last and "+31612345678" in chat.last
    await chat.press("Ja")
    assert "Anna" in chat.last and "FNV" in chat.last
    [case] = notifier.cases
    assert case.coach is not None and case.coach.name == "Anna"
    assert case.region_code == "AM21" and case.topic == "job_loss"
    summary = {line.slot: line.value for line in case.summary}
    assert summary["first_name"] == "Fatima"
    assert summary["phone"] == "+31612345678"
    assert "email" not in summary  # the coach only sees what is known
    with Session(engine) as session:
        stored = session.exec(select(Case)).one()
        assert stored.status == "assigned"
        kinds = [e.kind for e in list_case_events(session, case_id=stored.id or 0)]
        assert kinds == ["created", "assigned"]


async def test_english_conversation(sqlite_url, nlu):
    service, notifier = make_service(sqlite_url, nlu)
    chat = Chat(service)
    await chat.say("I lost my job and I need help")
    assert "computer program" in chat.text
    await chat.press("Yes")
    assert "I am sorry" in chat.text
    assert chat.asked("first name")
    await chat.say("my name is Piotr")
    await chat.say("Rotterdam")
    assert chat.asked("situation")
    await chat.press("do not have work")
    await chat.press("Agency")
    await chat.say("warehouse work")
    await chat.press("Vocational")
    await chat.say("a steady job")
    await chat.press("Email")
    assert chat.asked("email address")
    await chat.say("piotr@example.PL")
    await chat.press("Any time")
    assert "Is this correct?" in chat.last and "piotr@example.pl" in chat.last
    await chat.press("Yes")
    assert "our team" in chat.last  # no coach registered: the coordinator takes it
    [case] = notifier.cases
    assert case.coach is None and case.notice.to is To.COORDINATOR
    assert case.language == "en"


async def test_language_can_be_chosen_with_taal(sqlite_url, nlu):
    service, _ = make_service(sqlite_url, nlu)
    chat = Chat(service)
    await chat.say("/taal")
    await chat.press("English")
    assert "English" in chat.replies[0].text
    assert "computer program" in chat.text  # the welcome follows in English
    await chat.say("Ik wil graag een opleiding doen")  # Dutch text, but English was chosen
    assert "Is it OK" in chat.last or "training budget" in chat.text


async def test_digression_answers_then_reasks_pending_question(sqlite_url, nlu):
    chat = await consented_chat(sqlite_url, nlu)
    await chat.say("Ik ben Sanne")
    assert chat.asked("woonplaats")
    await chat.say("wat kost het eigenlijk?")
    assert "gratis" in chat.replies[0].text
    assert "terug naar mijn vraag" in chat.last and chat.asked("woonplaats")
    await chat.say("Utrecht")
    assert chat.asked("situatie")


async def test_digression_during_a_free_text_question(sqlite_url, nlu):
    chat = await consented_chat(sqlite_url, nlu)
    for answer in ("Sanne", "Utrecht"):
        await chat.say(answer)
    await chat.press("werk en wil verder")
    await chat.press("Vast")
    assert chat.asked("Wat voor werk")
    await chat.say("ben je een bot?")
    assert "chatbot" in chat.replies[0].text and chat.asked("Wat voor werk")
    await chat.say("ICT")
    assert chat.asked("opleiding")


async def test_cancel_stops_the_flow(sqlite_url, nlu):
    chat = await consented_chat(sqlite_url, nlu)
    await chat.say("Ik ben Sanne")
    await chat.say("laat maar")
    assert "gestopt" in chat.text
    assert any("coach" in b.label.lower() for b in chat.buttons)  # menu offered
    await chat.say("/stop")
    assert "Er loopt nu niets" in chat.text


async def test_cancel_keyword_is_detected_without_nlu(sqlite_url, nlu):
    chat = await consented_chat(sqlite_url, nlu)
    calls = len(nlu.calls)
    await chat.say("stop")
    assert "gestopt" in chat.text
    assert len(nlu.calls) == calls


async def test_correction_at_the_summary(sqlite_url, nlu):
    chat = await consented_chat(sqlite_url, nlu)
    await full_intake(chat)
    await chat.say("wijzig telefoonnummer")
    assert chat.asked("telefoonnummer")
    await chat.say("+48 601 234 567")
    assert chat.asked("Klopt dit?") and "+48601234567" in chat.last
    await chat.press("Nee")
    assert chat.asked("aanpassen")
    await chat.press("Woonplaats")
    await chat.say("Weesp")  # an old municipality name still resolves
    assert "Weesp" in chat.last and "Groot Amsterdam" in chat.last
    await chat.press("Nee")
    await chat.press("Contact via")
    await chat.press("E-mail")
    assert chat.asked("e-mailadres")  # switching to e-mail asks for the address
    await chat.say("fatima@example.nl")
    assert "fatima@example.nl" in chat.last and "+48601234567" not in chat.last


async def test_restart_mid_flow_resumes_at_the_same_question(sqlite_url, nlu):
    chat = await consented_chat(sqlite_url, nlu)
    await chat.say("Ik ben Sanne")
    await chat.say("Utrecht")
    assert chat.asked("situatie")
    # A new service instance (a restarted bot) on the same database.
    fresh_service, _ = make_service(sqlite_url, FakeNlu(DEFAULT_RULES))
    resumed = Chat(fresh_service)
    await resumed.say("/start")
    assert resumed.asked("situatie")
    await resumed.press("geen werk")
    assert resumed.asked("contract")


async def test_invalid_phone_email_and_gemeente_are_reprompted(sqlite_url, nlu):
    chat = await consented_chat(sqlite_url, nlu)
    await chat.say("Sanne")
    await chat.say("Amsterdm")  # one close spelling: checked back
    assert "Bedoel je Amsterdam?" in chat.text
    await chat.press("Nee")
    await chat.say("Amstrdam")
    await chat.press("Ja")
    assert chat.asked("situatie")
    await chat.press("geen werk")
    await chat.press("Tijdelijk")
    await chat.say("zorg")
    await chat.press("Hbo")
    await chat.say("iets nieuws")
    await chat.press("Telefoon")
    await chat.say("12345")
    assert "te kort" in chat.text and chat.asked("telefoonnummer")
    await chat.say("+31 6 1234")
    assert "te kort" in chat.text
    await chat.say("0612345678")
    assert chat.asked("bereiken")
    await chat.press("Ochtend")
    await chat.say("wijzig contact")
    await chat.press("E-mail")
    await chat.say("sanne@@example")
    assert "klopt niet helemaal" in chat.text and chat.asked("e-mailadres")
    await chat.say("sanne@example.nl")
    assert chat.asked("Klopt dit?")


async def test_repeated_invalid_answers_in_an_intake_offer_a_way_forward(sqlite_url, nlu):
    """The intake already ends at a coach: offering a coach again would go round in circles."""
    chat = await consented_chat(sqlite_url, nlu)
    await chat.say("Sanne")
    for _ in range(3):
        await chat.say("xqzzv")
    labels = [b.label for b in chat.buttons]
    assert labels == ["Vraag overslaan", "Geef door wat je al weet", "Opnieuw proberen"]
    assert not any("coach" in label.lower() for label in labels)
    await chat.press("Opnieuw")
    assert chat.asked("woonplaats")
    for _ in range(3):
        await chat.say("xqzzv")
    await chat.press("Vraag overslaan")
    assert chat.asked("situatie")  # the town is left to the coach
    for _ in range(3):
        await chat.say("xqzzv")
    await chat.press("Geef door wat je al weet")
    assert "Klopt dit?" in chat.last and "Woonplaats: –" in chat.last


async def test_low_confidence_clarifies_with_top_intents(sqlite_url):
    nlu = FakeNlu(
        {},
        fallback_ranking=(IntentScore("flex_contract", 0.4), IntentScore("job_loss", 0.3)),
    )
    service, _ = make_service(sqlite_url, nlu)
    chat = Chat(service)
    await chat.say("/start")
    await chat.press("Nee")  # no consent: general information still works
    await chat.say("iets met mijn werk enzo")
    assert "niet zeker" in chat.text
    labels = [b.label for b in chat.buttons]
    assert labels[:2] == ["Vraag over mijn flexcontract", "Ik verlies (mogelijk) mijn werk"]
    await chat.press("flexcontract")
    # The overview; without consent the bot does not ask which contract the person has.
    assert "max. 3 contracten" in chat.text and "Over wat voor contract" not in chat.text


async def test_repeated_misunderstanding_escalates_to_a_human(sqlite_url, nlu):
    service, _ = make_service(sqlite_url, nlu)
    chat = Chat(service)
    await chat.say("/start")
    await chat.press("Ja")
    for _ in range(3):
        await chat.say("blablabla")
    assert "Zal ik je in contact brengen" in chat.text


async def test_without_consent_nothing_personal_is_asked_or_stored(sqlite_url, nlu):
    service, notifier = make_service(sqlite_url, nlu)
    chat = Chat(service)
    await chat.say("ik ben mijn baan kwijt")
    await chat.press("Nee")
    assert "bewaar ik niets" in chat.text.lower() or "bewaar dan niets" in chat.text
    # The topic still gives its general information, then the menu: consent is not asked
    # again in the breath that refused it.
    assert "Ontslag gaat meestal zo" in chat.text
    assert "Vind je dat goed" not in chat.text and chat.asked("Waar kan ik je mee helpen")
    # Asking for a coach later asks consent again; refused, nothing personal is asked.
    await chat.press("Praten met een coach")
    assert "Vind je dat goed" in chat.last
    await chat.press("Nee")
    assert "fnv.nl" in chat.text
    engine = create_db_engine(sqlite_url)
    with Session(engine) as session:
        participant = session.exec(select(Participant)).one()
        assert participant.consent_at is None
        assert all(m.text is None for m in session.exec(select(MessageLog)))
        state = session.exec(select(Conversation)).one().state
        assert "first_name" not in state["slots"]
    assert notifier.cases == []


async def test_talk_to_human_is_the_shortest_path(sqlite_url, nlu):
    service, notifier = make_service(sqlite_url, nlu)
    chat = Chat(service)
    await chat.say("/start")
    await chat.press("Ja")
    await chat.press("Praten met een coach")
    await chat.say("Kees")
    await chat.say("Zwolle")
    await chat.press("chatgesprek")
    await chat.press("maakt niet uit")
    assert chat.asked("Klopt dit?")
    await chat.press("Ja")
    assert len(notifier.cases) == 1
    assert notifier.cases[0].topic == "talk_to_human"


@pytest.mark.parametrize(
    ("topic_button", "detail", "expected"),
    [
        ("flexcontract", "Oproep", "12 maanden"),
        ("flexcontract", "Uitzendwerk", "Fase A"),
        ("flexcontract", "Payroll", "payrollbedrijf"),
        ("Scholing", None, "STAP-budget"),
        ("loopbaan", None, "regie"),
    ],
)
async def test_topic_flows_then_intake(sqlite_url, nlu, topic_button, detail, expected):
    service, notifier = make_service(sqlite_url, nlu)
    chat = Chat(service)
    await chat.say("/start")
    await chat.press("Ja")
    await chat.press(topic_button)
    if detail is not None:
        await chat.press(detail)
    assert expected in chat.text
    await chat.press("Ja")
    await full_intake(chat)
    await chat.press("Ja")
    assert notifier.cases and notifier.cases[0].topic is not None


async def test_topic_flows_without_coach_show_menu(sqlite_url, nlu):
    service, notifier = make_service(sqlite_url, nlu)
    chat = Chat(service)
    await chat.say("/start")
    await chat.press("Ja")
    await chat.press("Scholing")
    assert "€5.000" in chat.text and "beslist je coach samen met jou" in chat.text
    await chat.press("Nee")
    assert "Waar kan ik je mee helpen" in chat.text
    assert notifier.cases == []


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("wat kost dat?", "gratis"),
        ("wie zijn jullie", "FNV en CNV"),
        ("hoe zit het met privacy", "gegevens"),
        ("ben je een bot", "chatbot"),
        ("hallo", "Fijn dat je er bent"),
        ("bedankt!", "Graag gedaan"),
        ("doei", "Succes"),
        ("ik wil een pizza", "niet mee helpen"),
    ],
)
async def test_short_answers(sqlite_url, nlu, message, expected):
    service, _ = make_service(sqlite_url, nlu)
    chat = Chat(service)
    await chat.say("/start")
    await chat.press("Ja")
    await chat.say(message)
    assert expected in chat.text


async def test_buttons_and_valid_typed_answers_skip_the_nlu(sqlite_url, nlu):
    chat = await consented_chat(sqlite_url, nlu)
    await full_intake(chat)
    # Name and free-text answers need the NLU (they might be questions); the rest not.
    assert nlu.calls == ["ik ben mijn baan kwijt", "Ik ben Fatima", "schoonmaak", "snel weer werk"]


async def test_nlu_down_still_answers_with_buttons_and_keywords(sqlite_url):
    closed = NluClient(f"http://127.0.0.1:{free_port()}", timeout=0.5, retries=0)
    service, _ = make_service(sqlite_url, closed)
    chat = Chat(service)
    await chat.say("hoi, ik heb een vraag")
    assert "computerprogramma" in chat.text
    await chat.press("Ja")
    await chat.say("kan je me helpen met iets")
    assert "storing" in chat.text
    assert any("coach" in b.label.lower() for b in chat.buttons)
    await chat.say("scholing")  # a keyword still reaches the flow
    assert "€5.000" in chat.text
    await chat.press("Ja")
    await chat.say("Eva")  # free text needs no NLU to be accepted
    await chat.say("Leiden")
    assert chat.asked("situatie")
    await chat.say("coach")  # asking for a person mid-intake: this intake goes on to a coach
    assert "loopbaancoach, een mens" in chat.text and chat.asked("situatie")
    await closed.aclose()


async def test_concurrent_turns_for_one_participant_are_not_lost(sqlite_url, nlu):
    one, _ = make_service(sqlite_url, nlu)
    two, _ = make_service(sqlite_url, nlu)  # a second bot worker
    await one.handle("test", "u1", Inbound(text="/start"))
    await asyncio.gather(
        one.handle("test", "u1", Inbound(text="/menu")),
        two.handle("test", "u1", Inbound(text="/menu")),
        one.handle("test", "u1", Inbound(text="/menu")),
    )
    engine = create_db_engine(sqlite_url)
    with Session(engine) as session:
        conversation = session.exec(select(Conversation)).one()
        assert conversation.state["turns"] == 4
        assert conversation.version == 4


async def test_message_log_records_intent_and_keeps_text_only_with_consent(sqlite_url, nlu):
    chat = await consented_chat(sqlite_url, nlu)
    await chat.say("Ik ben Sanne")
    engine = create_db_engine(sqlite_url)
    with Session(engine) as session:
        rows = session.exec(select(MessageLog).order_by(MessageLog.id)).all()
    first_in = rows[0]
    assert first_in.direction == "in" and first_in.intent == "job_loss"
    assert first_in.confidence == pytest.approx(0.95)
    assert first_in.text is None  # before consent
    assert any(r.text == "Ik ben Sanne" for r in rows)


async def test_entities_of_the_triggering_message_fill_slots_after_consent(sqlite_url):
    nlu = FakeNlu(
        {"nulurencontract": "flex_contract"},
        entities={"nulurencontract": (("contract_type", "nuluren"), ("gemeente", "Tiel"))},
    )
    service, _ = make_service(sqlite_url, nlu)
    chat = Chat(service)
    await chat.say("/start")
    await chat.press("Ja")
    await chat.say("ik heb een nulurencontract in Tiel")
    await chat.press("Ja")
    await chat.say("Sanne")
    assert chat.asked("situatie")  # gemeente known from the first message
    await chat.press("geen werk")
    assert chat.asked("Wat voor werk")  # contract type known as well


async def test_an_engine_bug_costs_one_polite_answer_and_no_text_in_logs(
    sqlite_url, nlu, monkeypatch, caplog
):
    import bot.conversation

    service, _ = make_service(sqlite_url, nlu)
    chat = Chat(service)
    await chat.say("/start")

    def broken(*args, **kwargs):
        raise ValueError("secret text 0612345678")

    monkeypatch.setattr(bot.conversation, "turn", broken)
    await chat.say("0612345678 Fatima")
    assert "ging iets mis" in chat.text
    assert "0612345678" not in caplog.text and "Fatima" not in caplog.text
    assert "ValueError" in caplog.text
    monkeypatch.undo()
    await chat.say("ja")  # the conversation goes on from where it was
    assert "Waar kan ik je mee helpen" in chat.text


async def test_greeting_mid_question_does_not_show_the_menu(sqlite_url, nlu):
    chat = await consented_chat(sqlite_url, nlu)
    await chat.say("hallo")
    assert "Fijn dat je er bent" in chat.text
    assert not chat.buttons and chat.asked("voornaam")


async def test_budget_amount_is_written_the_english_way_in_english(sqlite_url, nlu):
    service, _ = make_service(sqlite_url, nlu)
    chat = Chat(service)
    await chat.say("/taal en")
    await chat.press("Yes")
    await chat.press("Training")
    assert "€5,000" in chat.text
