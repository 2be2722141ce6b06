"""Gaps a person trial found after issues 16/17 ("a person answering in their own words"):

- "ik woon in X" / "I live in X" at a button question, with a home town already known and no
  correction word: a person saying where they live corrects it (said so, then the question).
- Digits or ordinals typed at a button question ("2", "optie 2", "de tweede", "nr 1"): where the
  channel shows the options numbered (the terminal chat), the number picks that option;
  elsewhere (Telegram shows plain buttons) or out of range, the re-ask says how to answer.

Pure engine, the NLU edge given what the model might say (the engine decides without it here).
"""

from __future__ import annotations

import pytest

from bot.engine.engine import turn
from bot.engine.messages import Inbound
from bot.engine.state import ConversationState
from bot.nlu.client import NluResult
from tests.test_answers_in_words import FLOWS, Talk, in_intake

KNOWN_TOWN = {"gemeente": "Westland", "place": "Naaldwijk", "region": "AM21"}


def _at(slot: str, lang: str = "nl", **slots: object) -> Talk:
    # what was asked before the education question: name, town, situation, work
    before = {"first_name": "Piotr", "work_situation": "at_risk", "sector": "orderpicker"}
    talk = in_intake(slot, **{**KNOWN_TOWN, **before, **slots})
    talk.state.language = "en" if lang == "en" else "nl"
    return talk


# -- "ik woon in X" at a choice question --------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "lang", "place", "municipality"),
    [
        ("ik woon in tilburg", "nl", None, "Tilburg"),
        ("woon in wateringen", "nl", "Wateringen", "Westland"),
        ("ik woon in berkel-enschot", "nl", "Berkel-Enschot", "Tilburg"),  # one word, hyphenated
        ("ik woon nu in breda", "nl", None, "Breda"),
        ("wij wonen in oss", "nl", None, "Oss"),
        ("I live in Tilburg", "en", None, "Tilburg"),
        ("i'm living in breda now", "en", None, "Breda"),
        ("we live in venlo", "en", None, "Venlo"),
    ],
)
def test_saying_where_you_live_at_a_button_question_corrects_the_town(
    said: str, lang: str, place: str | None, municipality: str
) -> None:
    talk = _at("education", lang)
    talk.say(said, "out_of_scope", 0.9)
    assert talk.slot("gemeente") == municipality
    assert talk.slot("place") == place
    changed = "Aangepast" if lang == "nl" else "Changed"
    assert talk.replies[0].text.startswith(changed), talk.transcript
    assert municipality in talk.replies[0].text
    # then the open question again, with its buttons
    question = "opleiding" if lang == "nl" else "education"
    assert question in talk.last and len(talk.labels) == 5
    assert talk.slot("education") is None
    assert "begreep ik niet" not in talk.text and "understand" not in talk.text


def test_saying_the_town_you_already_gave_changes_nothing_and_asks_again() -> None:
    talk = _at("education")
    talk.say("ik woon in naaldwijk", "out_of_scope", 0.9)
    assert talk.slot("gemeente") == "Westland" and talk.slot("place") == "Naaldwijk"
    assert "Aangepast" not in talk.text
    assert "opleiding" in talk.last and len(talk.labels) == 5


def test_saying_where_you_live_at_a_free_text_question_is_not_the_answer() -> None:
    talk = _at("sector", sector=None)
    talk.say("ik woon in berkel-enschot", "out_of_scope", 0.9)
    assert talk.slot("gemeente") == "Tilburg" and talk.slot("sector") is None
    assert "Wat voor werk doe je" in talk.last


def test_where_you_work_is_not_where_you_live() -> None:
    talk = _at("education")
    talk.say("ik werk in tilburg", "out_of_scope", 0.9)
    assert talk.slot("gemeente") == "Westland"


# -- numbers typed at a button question ---------------------------------------------------------


def _turn(talk: Talk, text: str, channel: str) -> None:
    result = turn(
        FLOWS, talk.state, Inbound(text=text), NluResult("nlu_fallback", 1.0), channel=channel
    )
    talk.state, talk.replies = result.state, result.replies


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("2", "mbo"),
        ("optie 2", "mbo"),
        ("de tweede", "mbo"),
        ("nr 1", "basic"),
        ("nummer 3", "havo_vwo"),
        ("de 1e", "basic"),
        ("keuze 4", "hbo_wo"),
        ("option 2", "mbo"),
        ("the second one", "mbo"),
        ("number 5", "other"),
    ],
)
def test_a_number_picks_the_option_where_options_are_shown_numbered(typed: str, value: str) -> None:
    talk = _at("education")
    _turn(talk, typed, "terminal")
    assert talk.slot("education") == value
    assert "Wat zou je graag willen?" in talk.last or "What would you like?" in talk.last


@pytest.mark.parametrize("typed", ["2", "optie 2", "de tweede", "nr 1"])
def test_a_number_where_buttons_are_not_numbered_says_how_to_answer(typed: str) -> None:
    talk = _at("education")
    _turn(talk, typed, "telegram")
    assert talk.slot("education") is None
    how = talk.replies[0].text
    assert "knop" in how and "woorden" in how  # pick a button or type the answer in words
    assert "opleiding" in talk.last and len(talk.labels) == 5


@pytest.mark.parametrize("typed", ["7", "optie 9", "de tiende"])
def test_a_number_out_of_range_says_how_to_answer(typed: str) -> None:
    talk = _at("education")
    _turn(talk, typed, "terminal")
    assert talk.slot("education") is None
    how = talk.replies[0].text
    assert "1" in how and "5" in how  # the numbers that can be typed
    assert "opleiding" in talk.last and len(talk.labels) == 5


def test_a_number_in_english_says_how_to_answer_in_english() -> None:
    talk = _at("education", "en")
    _turn(talk, "option 2", "telegram")
    assert talk.slot("education") is None
    assert "button" in talk.replies[0].text and "words" in talk.replies[0].text


def test_a_number_at_a_yes_no_question_in_the_terminal() -> None:
    talk = _at("intake_confirmed", education="mbo", contact_method="telegram", best_time="evening")
    _turn(talk, "optie 1", "terminal")
    assert talk.slot("intake_confirmed") is True


# -- nonsense the model reads as off-topic ------------------------------------------------------


def _at_menu(lang: str = "nl") -> Talk:
    state = ConversationState(welcomed=True, consent=True, language="en" if lang == "en" else "nl")
    return Talk(state)


@pytest.mark.parametrize(
    ("messages", "lang"),
    [
        (("blablabla", "qwertyuiop", "zxcvb"), "nl"),
        (("hmm what", "???", "asdf"), "en"),
    ],
)
def test_nonsense_read_as_off_topic_is_not_understood_then_a_person(
    messages: tuple[str, str, str], lang: str
) -> None:
    # what the shipped model answers for each: out_of_scope, 0.97-1.0
    talk = _at_menu(lang)
    sorry = "dat begreep ik niet goed" if lang == "nl" else "I did not quite get that"
    cannot = "niet mee helpen" if lang == "nl" else "cannot help"
    for message in messages[:2]:
        talk.say(message, "out_of_scope", 0.99)
        assert sorry in talk.text and cannot not in talk.text
        assert len(talk.labels) == 5  # the menu
    talk.say(messages[2], "out_of_scope", 0.99)
    person = "met een coach praten" if lang == "nl" else "talk to a coach"
    assert person in talk.labels[0]


def test_a_real_question_off_topic_still_gets_cannot_help() -> None:
    talk = _at_menu()
    talk.say("hoe maak ik pannenkoeken", "out_of_scope", 1.0)
    assert "Daar kan ik je helaas niet mee helpen" in talk.text
