"""Questions a person asks in their own words get their answer, whatever the model reads
(person trial, 6 December 2026; `asked:` in the flows, bot/engine/asked.py):

(0c, 17) WW: "how much money i get from uwv?" was answered "It is free" (the model reads the
    cost of the service); "hoe lang krijg ik ww?" got "Daar kan ik je niet mee helpen". Now:
    what UWV pays and for how long, that UWV calculates it, and the pending question again.
(7) "En die 5000 euro, krijg ik die dan zeker?" right after the budget text got buttons. Now:
    not certain, the coach decides with the person, and the question again.
(10) "hoe lang duurt dat voor ze bellen" after the handoff got buttons. Now: the coach accepts,
    then contacts within 2 working days.
(11, 3) "do you speak polish?", "will the coach speak english?" got buttons or the service
    text. Now: Dutch and English; the coach's card says "Taal: Engels" for an English chat.
(0d) "my work finish" at the situation question was not understood.

The sentences were written from the trial's personas before anyone looked at the NLU data:
Oleksandr (Ukrainian order picker, simple English, never presses buttons), Kees (58, factory,
waiting for the call), Marianne (wants a course, asks whether the money is certain), Tomasz
(expat, English only). Each runs with a fake parser that reads them the wrong way (as the model
did) and against the real Rasa server with the shipped model.
"""

from __future__ import annotations

import pytest

from bot.desk.render import card_lines
from bot.flows.registry import FlowRegistry
from bot.nlu.client import NluParser
from storage.coaches import add_coach
from storage.database import create_db_engine, session_scope
from storage.models import Union
from tests.conversation_helpers import FLOWS_DIR, Chat, FakeNlu, fake_or_rasa, make_service
from tests.test_answer_and_question import EN, NL, Lang, to_question

# The fake parser reads the questions as the model did in the trial: money as the cost of the
# service, a language question as one about the service, the rest as nothing certain.
RULES = {
    "how much": "ask_cost",
    "hoeveel": "ask_cost",
    "speak": "ask_about_service",
    "engels": "ask_about_service",
    "5000": "training_question",
    "gegarandeerd": "training_question",
    "opleiding": "training_question",
    "course": "training_question",
    "ontslagen": "job_loss",
    "fired": "job_loss",
    "work finish": "job_loss",
    "wat kost": "ask_cost",
}

FLOWS = FlowRegistry(FLOWS_DIR).current


parser = fake_or_rasa(lambda: FakeNlu(RULES))


@pytest.fixture
def coaches(sqlite_url: str) -> str:
    with session_scope(create_db_engine(sqlite_url)) as session:
        add_coach(session, name="Anna de Vries", telegram_id=11, union=Union.FNV, regions=["AM18"])
        add_coach(
            session, name="Bram Jansen", telegram_id=12, union=Union.CNV, regions=["Midden-Brabant"]
        )
    return sqlite_url


async def at_name(url: str, parser: NluParser, lang: Lang) -> Chat:
    service, _ = make_service(url, parser)
    chat = Chat(service)
    await chat.say(lang.start)
    await chat.press(lang.yes)
    await to_question(chat, lang, lang.name_q)
    return chat


async def handed_off(url: str, parser: NluParser, lang: Lang) -> Chat:
    chat = await at_name(url, parser, lang)
    await to_question(chat, lang, lang.confirm.lower())
    await chat.press(lang.yes)
    assert "Dank je, Henk!" in chat.last or "Thank you, Henk!" in chat.last, chat.last
    return chat


def lang_of(text: str) -> Lang:
    return (
        NL
        if any(w in text.lower() for w in ("krijg", "hoe", "hoeveel", "spreek", "kan de"))
        else EN
    )


# (0c, 17) WW ----------------------------------------------------------------------------------

WW_QUESTIONS = [
    "how much money i get from uwv?",  # the trial's line
    "how much uwv pay me",
    "uwv how much per month",
    "what money i get when no work",
    "how long i get ww",
    "hoe lang krijg ik ww?",  # the trial's line
    "hoelang duurt de ww",
    "hoeveel krijg ik van het uwv",
    "hoeveel maanden ww krijg ik",
]


@pytest.mark.parametrize("said", WW_QUESTIONS)
async def test_a_ww_question_at_a_question_gets_the_ww_answer(
    coaches: str, parser: NluParser, said: str
) -> None:
    lang = lang_of(said)
    chat = await at_name(coaches, parser, lang)
    await chat.say(said)
    answer = chat.replies[0].text
    if lang is NL:
        assert "75%" in answer and "minstens 3 maanden" in answer and "rekent UWV uit" in answer
        assert "gratis" not in chat.last.lower()
    else:
        assert "75%" in answer and "at least 3 months" in answer and "UWV calculates" in answer
        assert "free" not in chat.last.lower()
    assert lang.name_q in chat.replies[-1].text.lower()  # the name question comes back


@pytest.mark.parametrize(
    ("said", "lang", "expected"),
    [
        ("how much money i get from uwv?", EN, "UWV calculates"),
        ("hoe lang krijg ik ww?", NL, "rekent UWV uit"),
    ],
)
async def test_a_ww_question_as_the_first_message_is_answered_after_the_welcome(
    coaches: str, parser: NluParser, said: str, lang: Lang, expected: str
) -> None:
    service, _ = make_service(coaches, parser)
    chat = Chat(service)
    await chat.say(said)
    await chat.press(lang.yes)  # consent
    assert any(expected in r.text for r in chat.replies), chat.last
    assert not any("free" in r.text or "gratis" in r.text for r in chat.replies)


async def test_a_ww_question_after_the_handoff_gets_the_answer_and_no_new_request(
    coaches: str, parser: NluParser
) -> None:
    chat = await handed_off(coaches, parser, NL)
    await chat.say("hoe lang krijg ik ww?")
    assert "minstens 3 maanden" in chat.last
    assert "helaas niet mee helpen" not in chat.last
    assert not any("coach" in b.label.lower() for b in chat.buttons)  # no "Praten met een coach"


@pytest.mark.parametrize("said", ["wat kost het?", "hoeveel kost een coach als ik geen werk heb?"])
async def test_the_cost_of_the_service_is_still_free(
    coaches: str, parser: NluParser, said: str
) -> None:
    chat = await at_name(coaches, parser, NL)
    await chat.say(said)
    assert "gratis" in chat.replies[0].text
    assert "UWV" not in chat.last


# (7) the budget: certain? ----------------------------------------------------------------------

CERTAINTY = [
    "En die 5000 euro, krijg ik die dan zeker?",  # the trial's line
    "krijg ik die 5000 euro zeker?",
    "is dat budget gegarandeerd?",
    "krijg ik dat geld echt?",
    "do i get the 5000 for sure",
    "is the 5000 euro sure?",
]


@pytest.mark.parametrize("said", CERTAINTY)
async def test_is_the_budget_certain_right_after_the_budget_text(
    coaches: str, parser: NluParser, said: str
) -> None:
    service, _ = make_service(coaches, parser)
    chat = Chat(service)
    await chat.say("ik wil graag een opleiding doen")
    await chat.press("Ja")
    assert "Wil je met een coach bespreken" in chat.last
    await chat.say(said)
    answer = chat.replies[0].text
    assert "Zeker is het niet" in answer or "It is not certain" in answer, chat.last
    assert "coach" in answer
    assert "rechtstreeks naar de opleider" not in chat.last  # not the whole budget text again
    assert "Wil je met een coach bespreken" in chat.last or "discuss with a coach" in chat.last
    assert not any("Iets anders" in b.label or "Something else" in b.label for b in chat.buttons)


# (10) how long until they call ---------------------------------------------------------------

WAITING = [
    "hoe lang duurt dat voor ze bellen",  # the trial's line
    "wanneer belt de coach?",
    "hoe lang moet ik wachten",
    "wanneer hoor ik wat",
    "when will they call me",
    "how long until the coach calls",
]


@pytest.mark.parametrize("said", WAITING)
async def test_how_long_until_the_coach_calls_after_the_handoff(
    coaches: str, parser: NluParser, said: str
) -> None:
    lang = NL if said.split()[0] in ("hoe", "wanneer") else EN
    chat = await handed_off(coaches, parser, lang)
    await chat.say(said)
    assert "binnen 2 werkdagen" in chat.last or "within 2 working days" in chat.last, chat.last
    assert not chat.buttons


# (11, 3) languages -------------------------------------------------------------------------------

LANGUAGES = [
    "do you speak polish?",  # the trial's line
    "will the coach speak english?",  # the trial's line
    "does the coach speak english",
    "spreek je engels?",
    "kan de coach ook engels",
]


@pytest.mark.parametrize("said", LANGUAGES)
async def test_a_question_about_languages_at_a_question_and_after_the_handoff(
    coaches: str, parser: NluParser, said: str
) -> None:
    lang = lang_of(said)
    chat = await at_name(coaches, parser, lang)
    await chat.say(said)
    said_back = chat.replies[0].text
    assert "Nederlands en het Engels" in said_back or "Dutch and English" in said_back, chat.last
    assert lang.name_q in chat.replies[-1].text.lower()
    await to_question(chat, lang, lang.confirm.lower())
    await chat.press(lang.yes)
    await chat.say(said)
    assert "Nederlands en het Engels" in chat.last or "Dutch and English" in chat.last, chat.last


async def test_a_course_in_english_is_not_a_question_about_languages(
    coaches: str, parser: NluParser
) -> None:
    chat = await at_name(coaches, parser, NL)
    await chat.say("kan ik een cursus engels doen?")
    assert "Nederlands en het Engels" not in chat.last


@pytest.mark.parametrize(("lang", "line"), [(EN, ("Taal", "Engels")), (NL, None)])
async def test_the_card_says_english_when_the_chat_was_in_english(
    coaches: str, parser: NluParser, lang: Lang, line: tuple[str, str] | None
) -> None:
    service, handoffs = make_service(coaches, parser)
    chat = Chat(service)
    await chat.say(lang.start)
    await chat.press(lang.yes)
    await to_question(chat, lang, lang.confirm.lower())
    await chat.press(lang.yes)
    (case,) = handoffs.cases
    assert case.notice.card is not None
    lines = card_lines(FLOWS, case.notice.card, "nl")
    taal = [x for x in lines if x[0] == "Taal"]
    assert taal == ([line] if line else []), lines
    if line:
        assert "<b>Taal:</b> Engels" in case.card_html()  # as the coach reads it on Telegram


# (0d) simple English at the situation question ------------------------------------------------

SITUATION = [
    "my work finish",  # the trial's line
    "my work is finish",
    "they fire me",
    "boss say no more work",
    "my contract end next week",
    "contract finish",
]


@pytest.mark.parametrize("said", SITUATION)
async def test_simple_english_at_the_situation_question(
    coaches: str, parser: NluParser, said: str
) -> None:
    chat = await at_name(coaches, parser, EN)
    await to_question(chat, EN, "what fits your situation")
    await chat.say(said)
    assert "kind of contract" in chat.last.lower(), chat.last  # the next question
    summary = await _summary(chat)
    assert "• Situation: I was dismissed or my contract ends" in summary, summary


async def _summary(chat: Chat) -> str:
    await to_question(chat, EN, EN.confirm.lower())
    return chat.last
