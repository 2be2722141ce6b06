"""Yes or no in a person's own words: the phrase decides, not its first word (tester's findings
42, 44, 45 and 47, 6 December).

"klopt niet" at "Klopt dit?" handed the case to the coach with the details the person had just
called wrong ("klopt" is a yes word); "geen probleem" at the consent question refused consent
("geen" is a no word); "ja, alleen de woonplaats niet" and "yes except the town" confirmed the
summary. Each conversation runs with the fake parser (the engine's decisions) and with the real
Rasa server and the shipped model (what a participant would see).
"""

from __future__ import annotations

import pytest

from bot.nlu.client import NluParser
from storage.coaches import add_coach
from storage.database import create_db_engine, session_scope
from storage.models import Union
from tests.conversation_helpers import Chat, FakeNlu, Handoffs, fake_or_rasa, make_service
from tests.test_understanding import EN, NL, Lang, answer_until_summary

RULES = {"ontslagen": "job_loss", "lost my job": "job_loss", "coach": "talk_to_human"}


parser = fake_or_rasa(lambda: FakeNlu(RULES))


@pytest.fixture
def coaches(sqlite_url: str) -> str:
    with session_scope(create_db_engine(sqlite_url)) as session:
        add_coach(
            session, name="Anna de Vries", telegram_id=11, union=Union.FNV, regions=["AM18", "AM26"]
        )
    return sqlite_url


async def at_consent(url: str, parser: NluParser, lang: Lang) -> tuple[Chat, Handoffs]:
    service, handoffs = make_service(url, parser)
    chat = Chat(service)
    await chat.say("ik ben ontslagen" if lang is NL else "i lost my job")
    return chat, handoffs


async def at_summary(url: str, parser: NluParser, lang: Lang) -> tuple[Chat, Handoffs]:
    chat, handoffs = await at_consent(url, parser, lang)
    await chat.press(lang.yes)
    await answer_until_summary(chat, lang, name="Piet")
    assert lang.confirm in chat.last
    return chat, handoffs


# Consent: said with "geen" or "no", and yet a yes -------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "typed"),
    [
        (NL, "geen probleem"),
        (NL, "geen bezwaar"),
        (NL, "prima, geen bezwaar"),
        (NL, "nee hoor, geen probleem"),
        (NL, "waarom niet"),
        (EN, "no problem"),
        (EN, "no worries"),
        (EN, "not a problem"),
    ],
)
async def test_no_problem_at_the_consent_question_is_a_yes(coaches, parser, lang, typed):
    chat, _ = await at_consent(coaches, parser, lang)
    await chat.say(typed)
    assert "niets van wat je vertelt" not in chat.text, chat.text
    assert "not keep anything" not in chat.text
    low = chat.last.lower()
    assert "noemen" in low or "call you" in low, chat.text  # the intake starts


@pytest.mark.parametrize(("lang", "typed"), [(NL, "liever niet"), (NL, "nee dank je")])
async def test_a_plain_no_at_the_consent_question_stays_a_no(coaches, parser, lang, typed):
    chat, _ = await at_consent(coaches, parser, lang)
    await chat.say(typed)
    assert "niets van wat je vertelt" in chat.text, chat.text


# The summary: a negated "klopt" and "yes, except …" never hand the case over --------------------


@pytest.mark.parametrize(
    ("lang", "typed"),
    [
        (NL, "klopt niet"),
        (NL, "klopt niet echt"),
        (NL, "dat klopt niet"),
        (NL, "is niet goed"),
        (NL, "klopt er niks van"),
        (NL, "bijna"),
        (EN, "not quite right"),
        (EN, "thats not correct"),
        (EN, "almost"),
    ],
)
async def test_not_right_at_the_summary_asks_what_to_change(coaches, parser, lang, typed):
    chat, handoffs = await at_summary(coaches, parser, lang)
    await chat.say(typed)
    assert not handoffs.cases, chat.text  # nothing went to the coach
    assert "Anna" not in chat.text
    low = chat.last.lower()
    assert "aanpassen" in low or "change" in low or "ja of een nee" in low, chat.text


@pytest.mark.parametrize(
    ("lang", "typed", "question"),
    [
        (NL, "ja alleen de woonplaats niet", "woonplaats"),
        (NL, "ja maar de woonplaats klopt niet", "woonplaats"),
        (NL, "ja behalve mijn woonplaats", "woonplaats"),
        (EN, "yes except the town", "town"),
    ],
)
async def test_yes_except_a_field_at_the_summary_asks_that_field(
    coaches, parser, lang, typed, question
):
    chat, handoffs = await at_summary(coaches, parser, lang)
    await chat.say(typed)
    assert not handoffs.cases, chat.text
    assert question in chat.last.lower(), chat.text  # that field is asked again
    await chat.say("Utrecht")
    assert lang.confirm in chat.last and "Utrecht" in chat.last, chat.text


async def test_yes_with_a_new_town_at_the_summary_changes_it(coaches, parser):
    chat, handoffs = await at_summary(coaches, parser, NL)
    await chat.say("ja alleen de woonplaats niet, dat is Utrecht")
    assert not handoffs.cases, chat.text
    assert NL.confirm in chat.last and "Utrecht" in chat.last, chat.text


@pytest.mark.parametrize(("lang", "typed"), [(NL, "ja klopt"), (NL, "klopt helemaal"), (EN, "yes")])
async def test_a_plain_yes_at_the_summary_still_hands_over(coaches, parser, lang, typed):
    chat, handoffs = await at_summary(coaches, parser, lang)
    await chat.say(typed)
    assert len(handoffs.cases) == 1 and "Anna" in chat.text, chat.text


# Finding 43: a new number after the handoff, said with "ja maar", reaches the coach ------------


async def test_a_new_number_after_the_handoff_reaches_the_coach(coaches, parser):
    from bot.flows.catalogue import Key

    chat, handoffs = await at_summary(coaches, parser, NL)
    await chat.press(NL.yes)
    assert len(handoffs.cases) == 1
    await chat.say("ja maar mijn nummer is 0611111111")
    assert "coach ziet het" in chat.text, chat.text
    [update] = [n for n in handoffs.notices if n.key is Key.DESK_CASE_UPDATED]
    assert update.params["case"] == str(handoffs.cases[0].case_id)
    [case] = handoffs.cases
    assert {line.slot: line.raw for line in case.summary}["phone"] == "+31611111111"
