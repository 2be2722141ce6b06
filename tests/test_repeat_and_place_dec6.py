"""Things said twice, places as people give them, and "are you a person?" (person trial, 6 Dec).

(40) After the on-call rules, "dit is mijn 4e tijdelijke contract, klopt dat?" got "Dat heb ik
    je eerder in dit gesprek al uitgelegd (Regels voor mijn contract)": the on-call text again,
    as the contract known was still the on-call one. Now: the temporary-contract rules.
(41) "Wil je het nog een keer lezen?" answered by typing "ja" / "ja graag, nog een keer" got
    "Dat begreep ik niet helemaal" (the pending question's buttons followed). Now: the text again.
(35) A postcode or a district at "Wat is je woonplaats?" got "na deze paar vragen geef ik alles
    door" or "Daar kan ik je helaas niet mee helpen". Now: a district is its town; a postcode
    asks kindly for the place's name (no postcode table ships with the bot).
(30) "praat ik met een echt persoon?" got "Ja, ik ben een chatbot". Now no "ja" first.

The sentences were written from the trial's personas before looking at the NLU data. Each runs
with a fake parser that reads them as the model did in the trial, and against the real Rasa
server with the shipped model.
"""

from __future__ import annotations

import pytest

from bot.nlu.client import NluParser
from tests.conversation_helpers import Chat, FakeNlu, fake_or_rasa, make_service

RULES = {
    "nulurencontract": "flex_contract",
    "zero hours": "flex_contract",
    "tijdelijk": "flex_contract",
    "temporary": "flex_contract",
    "transitievergoeding": "job_loss",
    "transition payment": "job_loss",
    "ontslagen": "job_loss",
    "fired": "job_loss",
    # as the model read them in the trial
    "5051": "talk_to_human",
    "5021": "talk_to_human",
    "postcode": "out_of_scope",
    "noord": "out_of_scope",
    "reeshof": "out_of_scope",
    "echt persoon": "bot_challenge",
    "echte persoon": "bot_challenge",
    "real person": "bot_challenge",
    "ben je een bot": "bot_challenge",
}
ENTITIES = {
    "nulurencontract": (("contract_type", "nulurencontract"),),
    "zero hours": (("contract_type", "zero hours"),),
}


parser = fake_or_rasa(lambda: FakeNlu(RULES, entities=ENTITIES))


TOLD = ("eerder in dit gesprek al uitgelegd", "explained that earlier")


# (40) another contract than the one explained -------------------------------------------------

OTHER_CONTRACT = [
    (
        "dit is al mijn 4e tijdelijke contract bij dezelfde werkgever, mag dat?",
        "Tijdelijk contract?",
    ),
    ("mijn tijdelijke contract is nu 3 keer verlengd, hoe zit dat?", "Tijdelijk contract?"),
    (
        "this is my 4th temporary contract with the same boss, is that allowed?",
        "Temporary contract?",
    ),
]


@pytest.mark.parametrize("consent", ["Ja", "Nee"])
@pytest.mark.parametrize(("said", "expected"), OTHER_CONTRACT)
async def test_a_question_about_another_contract_gets_that_contracts_rules(
    sqlite_url: str, parser: NluParser, consent: str, said: str, expected: str
) -> None:
    service, _ = make_service(sqlite_url, parser)
    chat = Chat(service)
    await chat.say("hoi")
    await chat.press(consent)
    await chat.say("ik heb een nulurencontract, wanneer krijg ik vaste uren?")
    assert "Oproepkracht" in chat.text, chat.text
    await chat.say(said)
    assert expected in chat.text, chat.text
    assert not any(t in chat.text for t in TOLD), chat.text


async def test_the_same_contract_asked_again_is_still_told_once(
    sqlite_url: str, parser: NluParser
) -> None:
    service, _ = make_service(sqlite_url, parser)
    chat = Chat(service)
    await chat.say("hoi")
    await chat.press("Nee")
    await chat.say("ik heb een nulurencontract, wanneer krijg ik vaste uren?")
    await chat.say("i have a zero hours contract, when do i get fixed hours?")
    assert "Oproepkracht" not in chat.text and "On-call" not in chat.text
    assert any(t in chat.text for t in TOLD), chat.text


# (41) "ja" to "Wil je het nog een keer lezen?" -----------------------------------------------


@pytest.mark.parametrize(
    "typed", ["ja", "ja graag, nog een keer", "nog een keer graag", "yes please", "again please"]
)
async def test_typing_yes_to_read_it_again_shows_the_text(
    sqlite_url: str, parser: NluParser, typed: str
) -> None:
    service, _ = make_service(sqlite_url, parser)
    chat = Chat(service)
    await chat.say("ik ben ontslagen")
    await chat.press("Ja")
    assert "Ontslag gaat meestal zo" in chat.text
    await chat.say("Piet")
    await chat.say("Tilburg")
    assert "situatie" in chat.last
    await chat.say("hoe zat het ook alweer met de transitievergoeding?")
    assert any(t in chat.text for t in TOLD), chat.text
    await chat.say(typed)
    assert "Ontslag gaat meestal zo" in chat.text, chat.text
    assert "begreep ik niet" not in chat.text
    assert "situatie" in chat.last  # the pending question comes back


# (35) a postcode or a district at the place question --------------------------------------------


async def at_place(
    url: str, parser: NluParser, start: str = "ik ben ontslagen", yes: str = "Ja"
) -> Chat:
    service, _ = make_service(url, parser)
    chat = Chat(service)
    await chat.say(start)
    await chat.press(yes)
    await chat.say("Kees")
    assert "woonplaats" in chat.last.lower() or "town" in chat.last.lower(), chat.last
    return chat


NOT_HELPED = ("helaas niet mee helpen", "na deze paar vragen", "cannot help", "after these")


@pytest.mark.parametrize("typed", ["5051 AB", "5021AB", "mijn postcode is 5037 EA"])
async def test_a_postcode_at_the_place_question_asks_for_the_place_name(
    sqlite_url: str, parser: NluParser, typed: str
) -> None:
    chat = await at_place(sqlite_url, parser)
    await chat.say(typed)
    assert "Welke plaats is dat?" in chat.text, chat.text
    assert not any(t in chat.text for t in NOT_HELPED), chat.text
    await chat.say("Goirle")
    assert "situatie" in chat.last, chat.last


async def test_a_postcode_in_english_asks_for_the_place_name(
    sqlite_url: str, parser: NluParser
) -> None:
    chat = await at_place(sqlite_url, parser, start="I got fired last week", yes="Yes")
    await chat.say("postcode 5021 AB")
    assert "Which place is that?" in chat.text, chat.text
    assert not any(t in chat.text for t in NOT_HELPED), chat.text


@pytest.mark.parametrize(
    "typed", ["Tilburg-Noord", "ik woon in Tilburg-Noord", "Tilburg Reeshof", "tilburg noord"]
)
async def test_a_district_at_the_place_question_is_its_town(
    sqlite_url: str, parser: NluParser, typed: str
) -> None:
    chat = await at_place(sqlite_url, parser)
    await chat.say(typed)
    assert "situatie" in chat.last, chat.text
    assert not any(t in chat.text for t in NOT_HELPED), chat.text


# (30) "is this a real person?" ------------------------------------------------------------------


@pytest.mark.parametrize(
    "said",
    ["praat ik met een echt persoon?", "ben je een echte persoon?", "ben je een bot?"],
)
async def test_are_you_a_person_is_never_answered_yes(
    sqlite_url: str, parser: NluParser, said: str
) -> None:
    service, _ = make_service(sqlite_url, parser)
    chat = Chat(service)
    await chat.say("hoi")
    await chat.press("Nee")
    await chat.say(said)
    answer = next(r.text for r in chat.replies if "chatbot" in r.text)
    assert not answer.lower().startswith(("ja", "yes")), answer
    assert "geen mens" in answer
