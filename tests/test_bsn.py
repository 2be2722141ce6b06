"""Finding 29: a BSN typed anywhere is recognised, never understood, stored or shown to a
coach; the person is told once, and what else they said still counts."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bot.engine.bsn import contains_bsn, elfproef, remove_bsn
from storage.database import create_db_engine
from storage.models import Case, MessageLog
from tests.conversation_helpers import DEFAULT_RULES, Chat, FakeNlu, Handoffs, make_service

BSN = "123456782"  # passes the eleven-test
NOT_KEPT = "Je BSN heb ik niet nodig en bewaar ik niet."


@pytest.mark.parametrize(
    "text",
    [
        BSN,
        "123 456 782",
        "1234 56 782",
        "123.456.782",
        "mijn bsn is 123456782",
        "BSN: 111222333",
        "burgerservicenummer 12345678",  # said as a BSN: digits enough, test or not
        "bsn-nummer is 987 654 32",
    ],
)
def test_a_bsn_is_recognised(text: str) -> None:
    assert contains_bsn(text)


@pytest.mark.parametrize(
    "text",
    [
        "123456789",  # nine digits that fail the eleven-test
        "000000000",
        "0612345678",  # a Dutch mobile: ten digits
        "06 12345678",
        "06-12345678",
        "+31612345678",
        "0031612345678",
        "NL91ABNA0417164300",  # an IBAN: its digits are no BSN
        "NL91 ABNA 0417 1643 00",
        "postcode 5038 AB, huisnummer 12",
        "ik ben 45 en werk al 20 jaar in de schoonmaak",
    ],
)
def test_no_bsn_where_there_is_none(text: str) -> None:
    assert not contains_bsn(text)
    assert remove_bsn(text) == text


def test_the_eleven_test() -> None:
    assert elfproef("123456782") and elfproef("111222333")
    assert not elfproef("123456789") and not elfproef("000000000") and not elfproef("12345678")


def test_the_clause_with_the_bsn_goes_the_rest_stays() -> None:
    assert remove_bsn(f"schoonmaak, mijn bsn is {BSN} als je dat nodig hebt") == "schoonmaak"
    assert remove_bsn(f"Mijn BSN is {BSN}. Ik werk in de zorg") == "Ik werk in de zorg"
    assert remove_bsn(f"mijn bsn is {BSN}") == ""
    assert remove_bsn("123 456 782") == ""


async def _to_work_question(url: str) -> tuple[Chat, Handoffs]:
    service, handoffs = make_service(url, FakeNlu(DEFAULT_RULES))
    chat = Chat(service)
    await chat.say("ik ben mijn baan kwijt")
    await chat.press("Ja")
    await chat.say("Piet")
    await chat.say("Tilburg")
    await chat.press("ontslagen")
    if chat.asked("contract"):
        await chat.press("Vast")
    assert chat.asked("werk")
    return chat, handoffs


async def test_a_bsn_in_a_free_text_answer_is_not_stored_nor_on_the_card(sqlite_url):
    engine = create_db_engine(sqlite_url)
    chat, handoffs = await _to_work_question(sqlite_url)
    await chat.say(f"schoonmaak, mijn bsn is {BSN} als je dat nodig hebt")
    assert NOT_KEPT in chat.text
    assert chat.asked("opleiding")  # "schoonmaak" was the answer
    await chat.press("Mbo")
    assert NOT_KEPT not in chat.text  # told once
    await chat.say("rustiger werk")
    await chat.press("Chat")
    if chat.asked("bereiken"):
        await chat.press("Maakt niet uit")
    assert "schoonmaak" in chat.last and BSN not in chat.last
    await chat.press("Ja")
    [case] = handoffs.cases
    summary = {line.slot: line.value for line in case.summary}
    assert summary["sector"] == "schoonmaak"
    card = case.card_html()
    assert "schoonmaak" in card and BSN not in card and "bsn" not in card.lower()
    with Session(engine) as session:
        assert BSN not in str(session.exec(select(Case)).one().model_dump())
        logged = [m.text or "" for m in session.exec(select(MessageLog)).all()]
        assert logged and not any(BSN in t for t in logged)


async def test_only_a_bsn_asks_the_question_again(sqlite_url):
    chat, _ = await _to_work_question(sqlite_url)
    await chat.say(f"mijn bsn is {BSN}")
    assert NOT_KEPT in chat.text
    assert chat.asked("werk")  # nothing else was said: the same question
    await chat.say("schoonmaak")
    assert chat.asked("opleiding")
