"""The pure engine: decisions that need no database."""

from __future__ import annotations

import pytest

from bot.engine.engine import needs_nlu, turn
from bot.engine.language import detect_language
from bot.engine.messages import Inbound
from bot.engine.state import ConversationState, Frame
from bot.flows.registry import FlowRegistry
from bot.nlu.client import NluResult
from tests.conversation_helpers import FLOWS_DIR

FLOWS = FlowRegistry(FLOWS_DIR).current


def at(flow: str, step: str, **slots) -> ConversationState:
    return ConversationState(
        welcomed=True, consent=True, stack=[Frame(flow=flow, step=step)], slots=slots
    )


def intake_step(slot: str) -> str:
    step = FLOWS.flows["intake"].collect_step_for(slot)
    assert step is not None
    return step


@pytest.mark.parametrize(
    ("state", "inbound", "expected"),
    [
        (ConversationState(), Inbound(text="mijn baan is weg"), True),  # first message: topic
        (ConversationState(welcomed=True), Inbound(text="hoi"), True),
        (ConversationState(welcomed=True), Inbound(payload="f:job_loss"), False),
        (ConversationState(welcomed=True), Inbound(text="/taal"), False),
        (ConversationState(welcomed=True), Inbound(text="laat maar"), False),
        (at("intake", "ask_phone"), Inbound(text="06 12345678"), False),
        (at("intake", "ask_phone"), Inbound(text="waarom wil je dat weten?"), True),
        (at("intake", "ask_email"), Inbound(text="a@b.nl"), False),
        (at("intake", intake_step("gemeente")), Inbound(text="Den Haag"), False),
        (at("intake", intake_step("gemeente")), Inbound(text="ik woon in tiel"), False),
        (at("intake", intake_step("gemeente")), Inbound(text="Amsterdm"), False),  # a typo
        (at("intake", intake_step("gemeente")), Inbound(text="hallo"), True),
        (at("intake", intake_step("first_name")), Inbound(text="Anna"), True),  # free text
        (at("intake", intake_step("contract_type")), Inbound(text="vast"), False),
        (at("intake", "confirm"), Inbound(text="ja"), False),
        (at("intake", "confirm"), Inbound(text="nee, ik woon in Utrecht"), True),
        (at("intake", "confirm"), Inbound(text="stop"), False),
    ],
)
def test_needs_nlu(state, inbound, expected):
    assert needs_nlu(FLOWS, state, inbound) is expected


def test_language_detection():
    assert detect_language("I lost my job and need help") == "en"
    assert detect_language("ik ben mijn baan kwijt") == "nl"
    assert detect_language("Amsterdam") is None
    assert detect_language("ok") is None
    assert detect_language("I work in de zorg") is None  # mixed: keep the current language
    assert detect_language("i lost my job", first=True) == "en"  # a first message decides
    assert detect_language("mn contract word nie verlengd") == "nl"


def test_english_message_switches_language_unless_chosen():
    result = turn(
        FLOWS, ConversationState(), Inbound(text="I lost my job, what can I do"), None, channel="t"
    )
    assert result.state.language == "en"
    chosen = ConversationState(welcomed=True, language="nl", language_chosen=True)
    result = turn(FLOWS, chosen, Inbound(text="what does it cost for me"), None, channel="t")
    assert result.state.language == "nl"


def test_taal_with_argument():
    result = turn(
        FLOWS, ConversationState(welcomed=True), Inbound(text="/taal en"), None, channel="t"
    )
    assert result.state.language == "en" and result.state.language_chosen
    assert "English" in result.replies[0].text


def test_stale_button_is_explained_and_question_reasked():
    state = at("intake", "ask_phone")
    result = turn(FLOWS, state, Inbound(payload="v:does_not_exist"), None, channel="t")
    assert result.state.stack == state.stack  # still at the phone question
    result = turn(FLOWS, state, Inbound(payload="garbage"), None, channel="t")
    assert "eerder gesprek" in result.replies[0].text
    assert "telefoonnummer" in result.replies[-1].text


def test_unknown_saved_position_recovers_politely():
    state = at("flow_that_was_deleted", "step_3")
    result = turn(FLOWS, state, Inbound(text="hallo"), NluResult("greet", 0.9), channel="t")
    assert result.state.stack == []
    assert "bijgewerkt" in result.replies[0].text


def test_nlu_unavailable_mid_question_keeps_the_question():
    state = at("intake", "ask_phone")
    down = NluResult.unavailable()
    result = turn(FLOWS, state, Inbound(text="weet ik niet"), down, channel="t")
    assert "geen geldig telefoonnummer" in result.replies[0].text
    assert result.state.retries == 1


def test_handoff_effect_carries_region_and_summary():
    slots = {
        "topic": "job_loss",
        "first_name": "Anna",
        "gemeente": "Utrecht",
        "region": "AM13",
        "contact_method": "telegram",
        "best_time": "any",
    }
    state = at("quick_intake", "confirm", **slots)
    result = turn(FLOWS, state, Inbound(payload="v:yes"), None, channel="t")
    [effect] = result.effects
    assert effect.region_code == "AM13"  # type: ignore[union-attr]
    assert [line.slot for line in effect.summary] == [  # type: ignore[union-attr]
        "topic",
        "first_name",
        "gemeente",
        "region",
        "contact_method",
        "best_time",
    ]
    assert result.replies == []  # the service adds "what happens next"


def test_withdraw_consent_forgets_personal_slots():
    from bot.flows.flowset import FlowSet
    from bot.flows.models import ActionName, ActionStep, Flow

    flows = FlowSet.build(
        flows={
            **{fid: cf.flow for fid, cf in FLOWS.flows.items()},
            "forget_me": Flow(
                description="withdraw consent",
                steps=[ActionStep(action=ActionName.WITHDRAW_CONSENT)],
            ),
        },
        slots=FLOWS.slots,
        texts=FLOWS.texts,
        values=FLOWS.values,
        menu=list(FLOWS.menu),
        settings=FLOWS.settings,
    )
    state = ConversationState(welcomed=True, consent=True, slots={"first_name": "A", "topic": "x"})
    result = turn(flows, state, Inbound(payload="f:forget_me"), None, channel="t")
    assert result.state.consent is False
    assert result.state.slots == {"topic": "x"}


def test_a_valid_name_is_not_taken_for_a_greeting():
    state = at("intake", intake_step("first_name"))
    result = turn(
        FLOWS, state, Inbound(text="ik ben Fatima"), NluResult("greet", 0.97), channel="t"
    )
    assert result.state.slots["first_name"] == "Fatima"
    result = turn(
        FLOWS, state, Inbound(text="ben je een bot?"), NluResult("bot_challenge", 0.9), channel="t"
    )
    assert "first_name" not in result.state.slots and "chatbot" in result.replies[0].text


def test_out_of_scope_never_replaces_a_pending_question():
    state = at("intake", "ask_phone")
    result = turn(FLOWS, state, Inbound(text="12345"), NluResult("out_of_scope", 0.99), channel="t")
    assert result.state.stack == state.stack
    assert "te kort" in result.replies[0].text  # digits are an answer, never an intent


def test_another_topic_in_the_intake_is_answered_not_switched_to():
    state = at("intake", "ask_phone")
    result = turn(
        FLOWS,
        state,
        Inbound(text="ik wil een opleiding doen"),
        NluResult("training_question", 0.95),
        channel="t",
    )
    assert result.state.stack == state.stack
    assert "scholingsbudget" in result.replies[0].text
    assert "telefoonnummer" in result.replies[-1].text


def test_a_typo_with_suggestions_is_not_a_topic_switch():
    state = at("intake", intake_step("gemeente"))
    result = turn(
        FLOWS, state, Inbound(text="Amsterdm"), NluResult("flex_contract", 0.93), channel="t"
    )
    assert result.state.stack == state.stack
    assert result.replies[0].text == "Bedoel je Amsterdam?"  # one close spelling: checked back
    assert [b.label for b in result.replies[0].buttons] == ["Ja", "Nee"]


@pytest.mark.parametrize(
    ("step", "text", "told"),
    [
        ("ask_email", "sanne@@example", "Typ het zo: naam@voorbeeld.nl"),
        ("ask_email", "sanne@example", "Na de @ mist"),
        ("ask_email", "sanne.example.nl", "altijd een @"),
        ("ask_phone", "06 1234", "te kort"),
        ("ask_phone", "12345", "te kort"),
        ("ask_phone", "06 1234 5678 9", "te veel cijfers"),
    ],
)
def test_a_malformed_answer_gets_a_specific_correction_not_a_topic_switch(step, text, told):
    state = at("intake", step)
    result = turn(
        FLOWS, state, Inbound(text=text), NluResult("training_question", 0.95), channel="t"
    )
    assert result.state.stack == state.stack
    assert told in result.replies[0].text
    assert "voorbeeld" in result.replies[0].text  # with an example
    assert result.replies[-1].text.startswith("Op welk")  # and the question again


def test_a_question_about_the_question_is_still_answered():
    state = at("intake", "ask_phone")
    result = turn(
        FLOWS,
        state,
        Inbound(text="wat doen jullie met mijn nummer?"),
        NluResult("privacy_question", 0.95),
        channel="t",
    )
    assert "gegevens" in result.replies[0].text and "telefoonnummer" in result.replies[-1].text
