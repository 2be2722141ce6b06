"""What people do in a chat, and what the coach receives (issue 7), in Dutch and English.

Every conversation runs twice: with a fake parser at the NLU edge (the engine's decisions, exactly)
and against the real Rasa server with the shipped model (what a participant would see). The
card a coach receives is rendered as Telegram shows it and checked.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.nlu.client import IntentScore, NluParser, NluResult
from storage.coaches import add_coach
from storage.database import create_db_engine, session_scope
from storage.models import Union
from tests.conversation_helpers import (
    Chat,
    FakeNlu,
    HandedOff,
    Handoffs,
    fake_or_rasa,
    make_service,
)

# The fake parser: what the real model answers for these phrasings, as substring rules.
RULES = {
    "geld is er": "training_question",
    "money is there": "training_question",
    "kost de coach": "ask_cost",
    "coach cost": "ask_cost",
    "uitzendbureau": "flex_contract",
    "temp agency": "flex_contract",
    "nulurencontract": "flex_contract",
    "zero hours": "flex_contract",
    "ontslagen": "job_loss",
    "fired": "job_loss",
    "coach spreken": "talk_to_human",
    "talk to a coach": "talk_to_human",
    "hallo": "greet",
    "hello": "greet",
    "gegevens": "privacy_question",
    "my data": "privacy_question",
    "06-": "talk_to_human",  # what the shipped model made of "06-1234" (issue 7, finding 2)
}
ENTITIES = {
    "uitzendbureau": (("contract_type", "uitzend"),),
    "temp agency": (("contract_type", "uitzend"),),
    "nulurencontract": (("contract_type", "nuluren"),),
    "zero hours": (("contract_type", "nuluren"),),
}


@dataclass(frozen=True)
class Lang:
    """The same participant, in Dutch or in English."""

    code: str
    yes: str
    no: str
    agency: str  # first message: agency work, with a town
    zero_hours: str  # contract type and town in one message
    fired: str
    budget_q: str
    cost_q: str
    privacy_q: str
    human: str
    sector: str
    goal: str
    phone_button: str
    confirm: str
    fix_town: str
    fix_phone: str
    fix_contract: str
    too_short: str
    agency_fact: str
    other_rules: str  # what a generic answer about flex work would say
    free: str
    budget_fact: str
    intake_goes_on: str
    name_doubt: str
    hello: str


NL = Lang(
    code="nl",
    yes="Ja",
    no="Nee",
    agency="ik werk via een uitzendbureau in Zaandam en ik weet niet hoe lang nog",
    zero_hours="ik heb een nulurencontract in Tiel",
    fired="ik ben ontslagen",
    budget_q="hoeveel geld is er eigenlijk voor een cursus?",
    cost_q="wat kost de coach eigenlijk?",
    privacy_q="wat doen jullie met mijn gegevens?",
    human="ik wil een coach spreken",
    sector="schoonmaak",
    goal="snel weer vast werk",
    phone_button="Telefoon",
    confirm="Klopt dit?",
    fix_town="nee, ik woon niet in Amsterdam maar in Utrecht",
    fix_phone="mijn nummer is eigenlijk 06 87654321",
    fix_contract="oh wacht, het is een tijdelijk contract",
    too_short="te kort",
    agency_fact="Fase A",
    other_rules="Voor uitzendwerk en in sommige cao's gelden andere afspraken",
    free="gratis",
    budget_fact="rechtstreeks naar de opleider",
    intake_goes_on="loopbaancoach, een mens",
    name_doubt="Is 'Ja' je naam?",
    hello="hallo",
)
EN = Lang(
    code="en",
    yes="Yes",
    no="No",
    agency="I work through a temp agency in Zaandam and I do not know for how long",
    zero_hours="I have a zero hours contract in Tiel",
    fired="I got fired from my job last week",
    budget_q="how much money is there for a course?",
    cost_q="does the coach cost anything?",
    privacy_q="what do you do with my data?",
    human="I want to talk to a coach",
    sector="cleaning",
    goal="a steady job soon",
    phone_button="Phone",
    confirm="Is this correct?",
    fix_town="no, I do not live in Amsterdam but in Utrecht",
    fix_phone="my number is actually 06 87654321",
    fix_contract="oh wait, it is a temporary contract",
    too_short="too short",
    agency_fact="Phase A",
    other_rules="Agency work and some collective agreements have other rules",
    free="free",
    budget_fact="straight to the training provider",
    intake_goes_on="career coach, a real person",
    name_doubt="Is 'Ja' your name?",
    hello="hello",
)


parser = fake_or_rasa(lambda: FakeNlu(RULES, entities=ENTITIES))


@pytest.fixture(params=[NL, EN], ids=["nl", "en"])
def lang(request: pytest.FixtureRequest) -> Lang:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def coaches(sqlite_url: str) -> str:
    with session_scope(create_db_engine(sqlite_url)) as session:
        add_coach(session, name="Anna de Vries", telegram_id=11, union=Union.FNV, regions=["AM18"])
        add_coach(session, name="Bram Jansen", telegram_id=12, union=Union.CNV, regions=["AM13"])
        add_coach(session, name="Chris Groen", telegram_id=13, union=Union.FNV, regions=["AM17"])
    return sqlite_url


def card_html(case: HandedOff) -> str:
    """The card exactly as the Telegram coach desk sends it."""
    return case.card_html()


async def begin(url: str, parser: NluParser, first: str, lang: Lang) -> tuple[Chat, Handoffs]:
    service, notifier = make_service(url, parser)
    chat = Chat(service)
    await chat.say(first)
    await chat.press(lang.yes)  # consent
    return chat, notifier


async def answer_until_summary(chat: Chat, lang: Lang, *, name: str = "Fatima") -> None:
    """Answer whatever the intake still asks; fails on a question asked twice."""
    asked: list[str] = []
    for _ in range(15):
        if lang.confirm in chat.last:
            return
        last = chat.last
        assert last not in asked, f"asked again: {last}"
        asked.append(last)
        low = last.lower()
        if "telefoonnummer" in low or "phone number" in low:
            await chat.say("0612345678")
        elif "contact met je" in low or "contact you" in low:
            await chat.press(lang.phone_button)
        elif "bereiken" in low or "reach you" in low:
            await chat.press(chat.buttons[0].label)
        elif "loopbaancoach contact" in low or "career coach to contact" in low:
            await chat.press(lang.yes)
        elif "noemen" in low or "call you" in low:
            await chat.say(name)
        elif "woonplaats" in low or "town or village" in low:
            await chat.say("Amsterdam")
        elif "situatie" in low or "situation" in low or "contract" in low:
            await chat.press(chat.buttons[1].label)
        elif "werk doe" in low or "kind of work" in low:
            await chat.say(lang.sector)
        elif "graag willen" in low or "would you like" in low:
            await chat.say(lang.goal)
        elif "opleiding" in low or "education" in low:
            await chat.press(chat.buttons[1].label)
        else:
            raise AssertionError(f"unexpected: {last}")
    raise AssertionError("no summary")


def summary(notifier: Handoffs) -> dict[str, str]:
    [case] = notifier.cases
    return {line.slot: line.value for line in case.summary}


# 1. Questions at a pending question are answered and never stored -----------------------------


async def test_questions_in_the_intake_are_answered_not_stored(coaches, parser, lang):
    chat, notifier = await begin(coaches, parser, lang.fired, lang)
    while not ("werk doe" in chat.last.lower() or "kind of work" in chat.last.lower()):
        await answer_until_summary_step(chat, lang)
    question = chat.last
    await chat.say(lang.budget_q)
    if "niet zeker" in chat.last or "not sure" in chat.last:
        # The NLU was unsure: the likely answers are offered as buttons (the repair).
        await chat.press(chat.buttons[0].label)
    assert chat.last.endswith(question)  # the pending question comes back
    if isinstance(parser, FakeNlu):
        assert lang.budget_fact in chat.text
    await chat.say(lang.sector)
    await chat.press(chat.buttons[1].label)  # education
    goal_question = chat.last
    await chat.say(lang.cost_q)
    assert lang.free in chat.text.lower() and chat.last.endswith(goal_question)
    await chat.say(lang.privacy_q)
    assert chat.last.endswith(goal_question)
    await answer_until_summary(chat, lang)
    await chat.press(lang.yes)
    values = summary(notifier)
    assert values["sector"] == lang.sector and values["goal"] == lang.goal
    html = card_html(notifier.cases[0])
    for question_text in (lang.budget_q, lang.cost_q, lang.privacy_q):
        assert question_text not in html


async def answer_until_summary_step(chat: Chat, lang: Lang) -> None:
    """One step of the intake (for tests that stop at a particular question)."""
    low = chat.last.lower()
    if "noemen" in low or "call you" in low:
        await chat.say("Fatima")
    elif "woonplaats" in low or "town or village" in low:
        await chat.say("Amsterdam")
    else:
        await chat.press(chat.buttons[1].label)


# 2. A typo in a phone number is a typo, not a change of topic ---------------------------------


async def test_a_phone_typo_gets_a_correction_and_the_topic_stays(coaches, parser, lang):
    chat, notifier = await begin(coaches, parser, lang.zero_hours, lang)
    await chat.press(lang.yes)  # yes, a coach
    for _ in range(12):
        if "telefoonnummer" in chat.last.lower() or "phone number" in chat.last.lower():
            break
        await answer_until_summary_without_phone(chat, lang)
    phone_question = chat.last
    await chat.say("06-1234")
    assert lang.too_short in chat.text and chat.last == phone_question
    await chat.say(lang.human)  # asking for a person mid-intake: this intake goes on
    assert lang.intake_goes_on in chat.text and chat.last == phone_question
    await chat.say("06 12345678")
    await answer_until_summary(chat, lang)
    await chat.press(lang.yes)
    [case] = notifier.cases
    assert case.topic == "flex_contract"  # not "wants to talk to a coach"
    assert summary(notifier)["phone"] == "+31612345678"


async def test_digits_at_a_button_question_are_not_an_intent(coaches, parser, lang):
    chat, notifier = await begin(coaches, parser, lang.zero_hours, lang)
    await chat.press(lang.yes)  # yes, a coach
    await chat.say("Fatima")  # the name; next comes a question with buttons
    question, buttons = chat.last, [b.label for b in chat.buttons]
    assert len(buttons) > 2, chat.transcript  # a choice question, not the phone question
    await chat.say("06-1234")
    assert lang.intake_goes_on not in chat.text  # not read as "I want a person"
    assert chat.last == question and [b.label for b in chat.buttons] == buttons
    await chat.say("0612345678")
    assert chat.last == question
    await answer_until_summary(chat, lang)
    await chat.press(lang.yes)
    assert notifier.cases[0].topic == "flex_contract"


async def answer_until_summary_without_phone(chat: Chat, lang: Lang) -> None:
    low = chat.last.lower()
    if "noemen" in low or "call you" in low:
        await chat.say("Fatima")
    elif "woonplaats" in low or "town or village" in low:
        await chat.say("Amsterdam")
    elif "werk doe" in low or "kind of work" in low:
        await chat.say(lang.sector)
    elif "contact met je" in low or "contact you" in low:
        await chat.press(lang.phone_button)
    elif "graag willen" in low or "would you like" in low:
        await chat.say(lang.goal)
    else:
        await chat.press(chat.buttons[1].label)


# 3 + 6. What was said is used, and the answer fits it ----------------------------------------


async def test_the_first_message_is_used_and_the_answer_fits_it(coaches, parser, lang):
    chat, notifier = await begin(coaches, parser, lang.agency, lang)
    # Agency work gets the agency rules, not the generic flex text.
    assert lang.agency_fact in chat.text and lang.other_rules not in chat.text
    await chat.press(lang.yes)  # a coach, please
    await answer_until_summary(chat, lang)  # fails if contract or town is asked
    assert "Zaanstad" in chat.last
    await chat.press(lang.yes)
    values = summary(notifier)
    assert values["gemeente"].startswith("Zaandam (gemeente Zaanstad, regio Zaanstreek")
    assert values["contract_type"] in ("Uitzendwerk", "Agency work")
    assert notifier.cases[0].region_code == "AM17"
    assert "Chris" in notifier.cases[0].coach.name  # type: ignore[union-attr]
    assert "Zaanstad" in card_html(notifier.cases[0])


async def test_what_was_said_before_refusing_consent_is_forgotten(sqlite_url, parser, lang):
    service, _ = make_service(sqlite_url, parser)
    chat = Chat(service)
    await chat.say(lang.agency)
    await chat.press(lang.no)  # no consent
    state = await _state(service, chat)
    assert "contract_type" not in state["slots"] and not state.get("heard")
    assert "gemeente" not in state["slots"]


async def _state(service, chat: Chat) -> dict:
    from sqlmodel import Session, select

    from storage.models import Conversation, Participant

    with Session(service._db) as session:
        participant = session.exec(
            select(Participant).where(Participant.external_id == chat.user)
        ).one()
        return session.get(Conversation, participant.id).state  # type: ignore[union-attr]


async def test_several_values_and_a_name_from_one_message(coaches, parser, lang):
    chat, notifier = await begin(coaches, parser, lang.zero_hours, lang)
    assert "12" in chat.text  # the on-call rules: fixed hours after 12 months
    await chat.press(lang.yes)
    intro = "ik ben Fatima" if lang.code == "nl" else "I'm Fatima"
    if "noemen" in chat.last.lower() or "call you" in chat.last.lower():
        await chat.say(intro)
    await answer_until_summary(chat, lang)
    assert "Fatima" in chat.last and "Tiel" in chat.last
    await chat.press(lang.yes)
    assert summary(notifier)["gemeente"].startswith("Tiel (regio")
    assert summary(notifier)["contract_type"] in ("Oproep of nuluren", "On-call or zero hours")


# 4. Corrections in words -----------------------------------------------------------------------


async def test_corrections_in_words_reach_the_card(coaches, parser, lang):
    chat, notifier = await begin(coaches, parser, lang.fired, lang)
    await answer_until_summary(chat, lang)
    assert "Amsterdam" in chat.last
    await chat.say(lang.fix_town)
    assert lang.confirm in chat.last and "Utrecht" in chat.last and "Amsterdam" not in chat.last
    await chat.say(lang.fix_contract)
    assert lang.confirm in chat.last
    assert ("Tijdelijk" if lang.code == "nl" else "Temporary") in chat.last
    await chat.press(lang.yes)
    [case] = notifier.cases
    assert case.region_code == "AM13"  # re-routed to the new town's region
    assert case.coach is not None and case.coach.name == "Bram Jansen"
    html = card_html(case)
    assert "Utrecht" in html and "Amsterdam" not in html


async def test_a_correction_at_a_later_question(coaches, parser, lang):
    chat, notifier = await begin(coaches, parser, lang.fired, lang)
    for _ in range(15):
        if "bereiken" in chat.last.lower() or "reach you" in chat.last.lower():
            break
        await answer_until_summary_without_phone_number(chat, lang)
    time_question = chat.last
    await chat.say(lang.fix_phone)
    assert "+31687654321" in chat.text and chat.last.endswith(time_question)
    await chat.press(chat.buttons[0].label)
    await chat.press(lang.yes)
    assert summary(notifier)["phone"] == "+31687654321"


async def answer_until_summary_without_phone_number(chat: Chat, lang: Lang) -> None:
    low = chat.last.lower()
    if "telefoonnummer" in low or "phone number" in low:
        await chat.say("0612345678")
    else:
        await answer_until_summary_without_phone(chat, lang)


async def test_naming_a_field_at_the_summary_asks_it_again(coaches, parser, lang):
    chat, _ = await begin(coaches, parser, lang.fired, lang)
    await answer_until_summary(chat, lang)
    await chat.say("mijn woonplaats" if lang.code == "nl" else "my town")
    assert "woonplaats" in chat.last.lower() or "town or village" in chat.last.lower()
    await chat.say("Utrecht")
    assert lang.confirm in chat.last and "Utrecht" in chat.last


# 5. Implausible answers are checked back; chatter is never stored ------------------------------


async def test_yes_as_a_name_is_checked_back(coaches, parser, lang):
    chat, notifier = await begin(coaches, parser, lang.fired, lang)
    assert "noemen" in chat.last.lower() or "call you" in chat.last.lower()
    name_question = chat.last
    await chat.say("ja")
    assert lang.name_doubt in chat.last
    await chat.press(lang.no)
    assert chat.last == name_question
    await chat.say(lang.hello)  # a greeting in between is answered, not taken as a name
    assert chat.last.endswith(name_question)
    await answer_until_summary(chat, lang, name="Sam")
    await chat.press(lang.yes)
    assert summary(notifier)["first_name"] == "Sam"
    assert "Naam:</b> Sam" in card_html(notifier.cases[0])


# Asking for a person ---------------------------------------------------------------------------


async def test_asking_for_a_person_outside_an_intake_starts_the_short_one(coaches, parser, lang):
    chat, notifier = await begin(coaches, parser, lang.human, lang)
    assert "noemen" in chat.last.lower() or "call you" in chat.last.lower()
    await chat.say("Sam")
    await chat.say("Utrecht")
    await chat.press(lang.phone_button)
    await chat.say("0612345678")
    await chat.press(chat.buttons[0].label)
    await chat.press(lang.yes)
    [case] = notifier.cases
    assert case.topic == "talk_to_human"
    assert case.contact_method == "phone"  # the option value, whatever the label's language


async def test_what_is_written_before_consent_is_taken_up_after_it(sqlite_url, parser, lang):
    """/start first, then the problem in their own words, before answering the consent question."""
    service, _ = make_service(sqlite_url, parser)
    chat = Chat(service)
    await chat.say("/start")
    await chat.say(lang.agency)
    assert [b.label for b in chat.buttons] == [lang.yes, lang.no]  # in their language
    await chat.press(lang.yes)
    assert lang.agency_fact in chat.text  # the agency rules: the topic and the contract kept


class TornNlu(FakeNlu):
    """The model torn between two topics, as the shipped model is by "mijn contract bij het
    uitzendbureau stopt" (flex_contract 0.52, job_loss 0.48)."""

    async def parse(self, text: str) -> NluResult:
        if "stopt" in text or "ends" in text:
            ranking = (IntentScore("flex_contract", 0.52), IntentScore("job_loss", 0.47))
            return NluResult(intent="flex_contract", confidence=0.52, ranking=ranking)
        return await super().parse(text)


@pytest.mark.parametrize(
    ("lang", "torn"),
    [(NL, "mijn contract bij het uitzendbureau stopt volgende maand"), (EN, "my agency job ends")],
    ids=["nl", "en"],
)
async def test_a_topic_between_two_at_the_consent_question_is_taken_up_after_it(
    sqlite_url, lang, torn
):
    """Not the consent question again as if nothing was said, and no "which one?" stacked on
    it (a "ja" then answers the wrong question): consent, then the likelier topic."""
    service, _ = make_service(sqlite_url, TornNlu(RULES))
    chat = Chat(service)
    await chat.say("/start")
    await chat.say(torn)
    assert [b.label for b in chat.buttons] == [lang.yes, lang.no]  # the consent question
    assert chat.text.count("?") == 1, chat.text  # one question at a time
    await chat.say("ja dat is goed" if lang is NL else "yes that is fine")
    assert "contract" in chat.text.lower() and chat.buttons  # the flex topic goes on
    assert lang.yes not in [b.label for b in chat.buttons]


class WrappedNlu(FakeNlu):
    """A topic wrapped in a greeting and "can you help?", as the shipped model reads "hoi, ik
    krijg waarschijnlijk ontslag. kunnen jullie helpen?" (job loss 0.51, about the service
    0.36, hello 0.10): a topic below its flow's bar, the rest no competing topic."""

    async def parse(self, text: str) -> NluResult:
        if "helpen" in text or "help me" in text:
            ranking = (
                IntentScore("job_loss", 0.51),
                IntentScore("ask_about_service", 0.36),
                IntentScore("greet", 0.10),
                IntentScore("talk_to_human", 0.03),
            )
            return NluResult(intent="job_loss", confidence=0.51, ranking=ranking)
        return await super().parse(text)


@pytest.mark.parametrize(
    ("lang", "wrapped"),
    [
        (NL, "hoi, ik krijg waarschijnlijk ontslag. kunnen jullie helpen?"),
        (EN, "hello, I might lose my job. can you help me?"),
    ],
    ids=["nl", "en"],
)
@pytest.mark.parametrize("start_first", [False, True], ids=["first-message", "after-start"])
async def test_a_topic_wrapped_in_hello_and_can_you_help_is_taken_up_after_consent(
    sqlite_url, lang, wrapped, start_first
):
    """The person said what it is about: after consent the bot goes on with it, not the menu
    as if nothing was said (nor a "which one?" stacked on the consent question)."""
    service, _ = make_service(sqlite_url, WrappedNlu(RULES))
    chat = Chat(service)
    if start_first:
        await chat.say("/start")
    await chat.say(wrapped)
    assert [b.label for b in chat.buttons] == [lang.yes, lang.no]  # the consent question
    await chat.say("ja" if lang is NL else "yes")
    assert "UWV" in chat.text  # the job-loss facts, then its questions
    assert len(chat.buttons) != 5  # not the topic menu


def test_a_button_of_another_question_is_stale():
    from bot.engine.engine import turn
    from bot.engine.messages import Inbound
    from bot.engine.state import ConversationState, Frame
    from bot.flows.registry import FlowRegistry
    from tests.conversation_helpers import FLOWS_DIR

    flows = FlowRegistry(FLOWS_DIR).current
    state = ConversationState(
        welcomed=True, consent=True, stack=[Frame(flow="intake", step="goal")]
    )
    result = turn(flows, state, Inbound(payload="v:basic"), None, channel="t")
    assert "goal" not in result.state.slots
    assert "eerder gesprek" in result.replies[0].text
