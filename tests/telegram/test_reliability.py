"""Regression tests for the reliability audit (issue 9), through the real bot wiring over
PTB's HTTP path against the fake Bot API. The NLU is down here on purpose: every path must
work with buttons and typed answers alone.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

import pytest
from sqlmodel import Session, select

from bot.channels.telegram import render
from bot.desk.notices import Notice, ParticipantRef, To
from bot.engine.state import ConversationState
from bot.flows.registry import FlowRegistry
from storage import inbox, workers
from storage.database import session_scope
from storage.inbox import Incoming
from storage.models import CaseStatus, Conversation
from tests.conversation_helpers import FLOWS_DIR
from tests.telegram.desk_fixture import (
    ANNA,
    BRAM,
    COORDINATOR,
    EVE,
    SAM,
    Desk,
    accepted,
    desk,
    once,
    short_intake,
)

__all__ = ["desk"]

# -- 4. logs never hold personal data, not even when the database fails ----------------------


async def test_logs_hold_no_personal_data_even_when_the_database_fails(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fired = desk.fail_once("INSERT INTO MESSAGE_LOG")
    sam = desk.user(SAM, "Geertruida")
    await short_intake(sam, name="Geertruida", contact="E-mail")
    assert fired  # the error happened, and the turn was done again
    assert any("doorgegeven" in t for t in desk.fake.texts(SAM))
    once(desk.fake, SAM)
    assert any(r.levelno >= logging.ERROR for r in caplog.records)
    for secret in ("Geertruida", "geertruida@example.nl", "Utrecht", "Praten met", "Klopt dit"):
        assert secret not in caplog.text, secret


async def test_a_relayed_message_survives_a_database_error(desk: Desk) -> None:
    sam, anna = await accepted(desk)
    fired = desk.fail_once("INSERT INTO TELEGRAM_OUTBOX")
    await sam.send("hoi Anna, mijn nummer is 0612345678")
    (relayed,) = await anna.read()
    assert fired and "0612345678" in relayed["text"]
    once(desk.fake, ANNA)


# -- 3. a deactivated coach: relay ends at once, cases move on, participants told the truth ----


async def test_a_deactivated_coach_gets_nothing_more(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    sam, anna = await accepted(desk)
    from bot.cli import main
    from bot.config import get_settings

    monkeypatch.setenv("DATABASE_URL", desk.url)
    monkeypatch.setenv("COORDINATOR_CHAT_ID", str(COORDINATOR))
    get_settings.cache_clear()
    try:
        assert main(["coach", "deactivate", "--telegram-id", str(ANNA)]) == 0
    finally:
        get_settings.cache_clear()
    told = await sam.read()
    assert any("Bram" in m["text"] and "neemt het over" in m["text"] for m in told)
    (card,) = await desk.user(BRAM, "Bram").read()
    assert "Nieuwe aanvraag #1" in card["text"]
    farewell = await anna.read()
    assert any("gestopt" in m["text"] for m in farewell)
    seen = len(desk.fake.sent[ANNA])
    await sam.say("mijn nummer is 0612345678")  # the bot answers now, Anna gets nothing
    assert len(desk.fake.sent[ANNA]) == seen
    assert desk.case().status == CaseStatus.ASSIGNED


async def test_stop_always_leaves_the_live_chat(desk: Desk) -> None:
    sam, anna = await accepted(desk)
    replies = await sam.say("/stop")
    assert any("weer met mij, de bot" in m["text"] for m in replies)
    (notice,) = await anna.read()
    assert "gestopt (/stop)" in notice["text"]
    replies = await sam.say("/start")  # the bot again, not the coach
    assert replies and len(desk.fake.sent[ANNA]) == len(anna.inbox)


# -- 9. a coach card Telegram refuses moves the case on ------------------------------------------


async def test_a_coach_telegram_cannot_reach_loses_the_case_to_the_next(desk: Desk) -> None:
    """The participant is never told "I passed your details to Anna" when Telegram refuses
    Anna's card: they read that Bram has it (issue 21, finding 7)."""
    desk.fake.blocked.add(ANNA)
    sam = desk.user(SAM)
    await short_intake(sam)
    (card,) = await desk.user(BRAM, "Bram").read()
    assert "Nieuwe aanvraag #1" in card["text"]
    await desk.fake.wait_until(
        lambda: any("doorgegeven aan Bram" in t for t in desk.fake.texts(SAM)), timeout=15
    )
    await asyncio.sleep(1)
    assert not any("Anna" in t for t in desk.fake.texts(SAM)), desk.fake.texts(SAM)
    once(desk.fake, SAM)
    case = desk.case()
    assert case.status == CaseStatus.ASSIGNED and case.coach_id == 2


# -- 11. smaller findings ----------------------------------------------------------------------


async def test_a_flood_wait_in_one_chat_does_not_hold_up_the_others(desk: Desk) -> None:
    eve = desk.user(EVE, "Eve")
    await eve.send("/start")  # Eve has buttons to press: the whole welcome, however it is paced
    await desk.fake.wait_for(EVE, 3, timeout=15)
    welcome = [m["text"] for m in await eve.read()]
    desk.fake.fail("sendMessage", 429, retry_after=4)
    await desk.fake.send_text(SAM, "/start")  # Sam's first reply gets the 429
    for _ in range(100):
        if any(c.status == 429 for c in desk.fake.calls_of("sendMessage")):
            break
        await asyncio.sleep(0.05)
    answers = len(desk.fake.callback_answers)
    started = time.monotonic()
    await eve.press("Ja")
    assert time.monotonic() - started < 3  # Eve's press answered and replied at once
    assert len(desk.fake.callback_answers) == answers + 1
    await desk.fake.wait_for(SAM, len(welcome), timeout=15)  # Sam's come after the wait
    once(desk.fake, SAM)
    assert desk.fake.texts(SAM) == welcome  # in order: the refused first one is still first


async def test_a_newer_update_waits_for_an_older_one_another_worker_holds(desk: Desk) -> None:
    """Another process holds Sam's /start (received first); Sam's next message, received here,
    is not answered before it, and both are answered in order once that process is gone."""
    older = {
        "update_id": desk.fake.next_update_id(),
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": SAM, "type": "private", "first_name": "Sam"},
            "from": {"id": SAM, "is_bot": False, "first_name": "Sam", "language_code": "nl"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }
    engine = desk.bot.conversation.db
    with session_scope(engine) as session:
        workers.register(session, worker_id="other-process")
        inbox.store(
            session,
            channel="telegram",
            items=[Incoming(older["update_id"], str(SAM), json.dumps(older))],
            claim_for="other-process",
        )
    await desk.fake.send_text(SAM, "/help")
    await asyncio.sleep(1.5)
    assert desk.fake.texts(SAM) == []  # /help waits for /start
    with session_scope(engine) as session:
        workers.unregister(session, worker_id="other-process")  # it stopped without finishing
    await desk.fake.wait_until(lambda: len(desk.fake.texts(SAM)) >= 4, timeout=15)
    texts = desk.fake.texts(SAM)
    assert texts[0].startswith("Hoi!")  # /start's welcome first
    assert "Vind je het goed" in texts[2] and "Waar kan ik je mee helpen" in texts[3]  # /help


async def test_invisible_characters_and_nul_never_break_a_turn(desk: Desk) -> None:
    sam, anna = desk.user(SAM), desk.user(ANNA, "Anna")
    await sam.say("/start")
    await sam.press("Ja")
    await sam.press("Praten met een coach")
    await sam.say("Fa\u200bti\u202ema\u0000")  # zero-width, bidi override, NUL
    assert "woonplaats" in sam.last_text.lower()
    await sam.say("Utrecht\u0000")
    with Session(desk.bot.conversation.db) as session:
        stored = session.exec(select(Conversation)).one()
    slots = ConversationState.model_validate(stored.state).slots
    assert slots["first_name"] == "Fatima" and slots["gemeente"] == "Utrecht"
    await sam.press("chatgesprek")
    await sam.press("Ochtend")
    await sam.press("Ja")
    await anna.read()
    await anna.press("Aannemen")
    (done,) = await anna.say("/afsluiten 1 werk gevonden\u0000")
    assert "afgesloten" in done["text"]
    # Superscript digits are digits to Python, but no case number.
    for command in ("/zaak ²", "/bericht ¹ hoi", "/terug ³", "/afsluiten 1² x"):
        (answer,) = await anna.say(command)
        assert "Coach-commando's" in answer["text"]


def test_long_relayed_messages_are_split_outside_html_entities() -> None:
    flows = FlowRegistry(FLOWS_DIR).current
    typed = ("Tom & Jerry <3 " * 400) + "einde"
    notice = Notice(
        To.PARTICIPANT,
        "from_coach",
        {"coach": "Anna", "union": "FNV"},
        participant=ParticipantRef(1, "telegram", "42", "nl"),
        quote=typed,
    )
    parts = [
        m.params["text"] for m in render.notice_messages(flows, notice, coordinator_chat_id=None)
    ]
    assert len(parts) >= 2 and all(len(p) <= 4096 for p in parts)
    import html
    import re

    for part in parts:  # every entity whole: nothing like "&am" at a cut
        assert not re.search(r"&[a-z]*$", part) and "&amp" in part
    body = html.unescape("\n".join(parts)).split("\n", 1)[1]
    assert " ".join(body.split()) == " ".join(typed.split())
