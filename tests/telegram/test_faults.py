"""Issue 21, "a fault never silences a chat": one test per finding, through the bot as
`careerbot run` assembles it (SQLite and PostgreSQL, NLU down), against the fake Bot API.

1. no claim without a worker on it (a failed read, a failed release, a lost commit
   acknowledgement, a live worker that lost a row);
2. whitespace-only text, an active coach pressing an old participant button;
3. input PostgreSQL refuses (NUL in a button, case numbers beyond int4);
4. a flood from one chat (tests/telegram/test_flood.py), 5. repeated coach notices
   (tests/test_desk.py), 6. start-up mistakes (tests/test_startup_errors.py);
7. a deactivated coach who writes; heartbeats by the database's clock (here), a re-processed
   button press answered (test_crash.py), "doorgegeven aan Anna" before a 403
   (test_reliability.py).
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from bot import faults
from storage import inbox, workers
from storage.coaches import add_coach
from storage.database import create_db_engine, session_scope
from storage.inbox import Incoming
from storage.models import InboxUpdate, Participant, Union, utcnow
from tests.telegram.desk_fixture import ADMIN, ANNA, SAM, Desk, accepted, desk

__all__ = ["desk"]
SORRY = "er ging bij mij iets mis"


def no_apology(d: Desk, *chats: int) -> None:
    for chat in chats:
        assert not any(SORRY in t for t in d.fake.texts(chat)), d.fake.texts(chat)


def raw_update(d: Desk, user: int, text: str) -> dict[str, Any]:
    return {
        "update_id": d.fake.next_update_id(),
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": user, "type": "private", "first_name": "Sam"},
            "from": {"id": user, "is_bot": False, "first_name": "Sam", "language_code": "nl"},
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
        },
    }


# -- 1. no claim without a worker on it ----------------------------------------------------------


async def test_a_failed_read_before_a_button_turn_does_not_wedge_the_chat(desk: Desk) -> None:
    sam = desk.user(SAM)
    await sam.say("/start")
    fired = desk.fail_once("INSERT INTO TELEGRAM_KEYBOARD_PRESS")  # the press, one statement
    assert await sam.press("Ja")  # answered, after the read failed once
    assert fired
    assert await sam.say("/help")  # and the chat goes on
    no_apology(desk, SAM)


async def test_a_turn_whose_release_fails_too_is_tried_again(desk: Desk) -> None:
    sam = desk.user(SAM)
    await sam.say("/start")
    fired = desk.fail_in_order("INSERT INTO MESSAGE_LOG", "UPDATE INBOX")
    assert await sam.press("Ja")
    assert len(fired) == 2
    assert await sam.say("/help")
    no_apology(desk, SAM)


async def test_an_update_whose_stored_commit_looked_failed_is_still_answered(desk: Desk) -> None:
    """The commit reached the database but its acknowledgement was lost: Telegram delivers the
    update again, it is a duplicate, and the stored row (claimed by this very worker) must
    not be left with nobody on it."""
    raised: list[int] = []

    def lost_acknowledgement() -> None:
        if not raised:
            raised.append(1)
            raise OperationalError("COMMIT", {}, Exception("connection lost after the commit"))

    remove = faults.on("inbox.stored", lost_acknowledgement)
    try:
        assert await desk.user(SAM).say("/start")
    finally:
        remove()
    assert raised
    await asyncio.sleep(1)
    assert len([t for t in desk.fake.texts(SAM) if t.startswith("Hoi!")]) == 1


async def test_a_claim_nobody_renews_is_taken_over_although_its_worker_lives(desk: Desk) -> None:
    """Another process is alive (its heartbeat goes on) but lost Sam's update: after a while
    longer than any turn takes, this worker takes it over."""
    engine = desk.bot.conversation.db
    start = raw_update(desk, SAM, "/start")
    with session_scope(engine) as session:
        workers.register(session, worker_id="lost-a-row")
        inbox.store(
            session,
            channel="telegram",
            items=[Incoming(start["update_id"], str(SAM), json.dumps(start))],
            claim_for="lost-a-row",
        )
        session.connection().execute(
            update(InboxUpdate).values(claimed_at=utcnow() - timedelta(minutes=5))
        )

    async def heartbeat() -> None:
        while True:
            with session_scope(engine) as session:
                workers.heartbeat(session, worker_id="lost-a-row")
            await asyncio.sleep(0.5)

    beating = asyncio.create_task(heartbeat())
    try:
        await desk.fake.wait_until(lambda: len(desk.fake.texts(SAM)) >= 3, timeout=20)
    finally:
        beating.cancel()
    assert desk.fake.texts(SAM)[0].startswith("Hoi!")


# -- 2. odd input -------------------------------------------------------------------------------

BLANKS = (" ", "\u00a0", "\u3000", "\u2028", " \t ")


async def test_whitespace_only_text_gets_an_answer_not_an_apology(desk: Desk) -> None:
    sam, admin = desk.user(SAM), desk.user(ADMIN, "Ada")
    await sam.say("/start")
    await admin.say("/start")
    for blank in BLANKS:
        assert await sam.say(blank), repr(blank)
        assert await admin.say(blank), repr(blank)
    no_apology(desk, SAM, ADMIN)


async def test_an_active_coach_pressing_an_old_participant_button_is_told_why(desk: Desk) -> None:
    """Cas chatted with the bot as a participant, then became a coach, then pressed a button of
    that old conversation."""
    cas_id = 7299
    cas = desk.user(cas_id, "Cas")
    await cas.say("/start")
    old_keyboard = cas.last_with_buttons()
    engine = create_db_engine(desk.url)
    with session_scope(engine) as session:
        add_coach(session, name="Cas Bakker", telegram_id=cas_id, union=Union.FNV, regions=["AM13"])
    engine.dispose()
    (answer,) = await cas.press("Ja", old_keyboard)
    assert "voordat je coach werd" in answer["text"]
    no_apology(desk, cas_id)


# -- 3. what PostgreSQL refuses is refused at the edge -------------------------------------------


async def test_a_nul_in_a_button_payload_is_ignored_politely(desk: Desk) -> None:
    sam = desk.user(SAM)
    await sam.say("/start")
    keyboard = sam.last_with_buttons()
    await desk.fake.press(SAM, keyboard, "p:v:yes\x00")
    await desk.fake.wait_until(lambda: len(desk.fake.callback_answers) >= 1, timeout=15)
    assert await sam.say("/help")  # the chat goes on, nothing failed
    no_apology(desk, SAM)


async def test_case_numbers_beyond_the_database_are_no_case(desk: Desk) -> None:
    _, anna = await accepted(desk)
    huge = "99999999999"
    for command in (f"/zaak {huge}", f"/afsluiten {huge} klaar", f"/bericht {huge} hoi"):
        (answer,) = await anna.say(command)
        assert f"Zaak #{huge} staat niet" in answer["text"], answer["text"]
    card = next(m for m in reversed(desk.fake.sent[ANNA]) if m.get("reply_markup"))
    await desk.fake.press(ANNA, card, f"c:acc:{huge}")
    await desk.fake.press(ANNA, card, f"c:asg:1:{huge}")
    await desk.fake.wait_until(lambda: len(desk.fake.callback_answers) >= 3, timeout=15)
    assert await anna.say("/zaken")
    no_apology(desk, SAM, ANNA)


# -- 7. smaller points ----------------------------------------------------------------------------


async def test_a_deactivated_coach_who_writes_is_not_made_a_participant(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.cli import main
    from bot.config import get_settings

    monkeypatch.setenv("DATABASE_URL", desk.url)
    get_settings.cache_clear()
    try:
        assert main(["coach", "deactivate", "--telegram-id", str(ANNA)]) == 0
    finally:
        get_settings.cache_clear()
    anna = desk.user(ANNA, "Anna")
    await anna.read()  # "you have stopped as a coach"
    (answer,) = await anna.say("hallo, ik wil een nieuwe baan")
    assert "niet (meer) als actief" in answer["text"]
    engine = create_db_engine(desk.url)
    with Session(engine) as session:
        found = session.exec(select(Participant).where(Participant.external_id == str(ANNA)))
        assert found.first() is None
    engine.dispose()


@pytest.mark.postgres
def test_heartbeats_go_by_the_database_clock(
    postgres_schema_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A host whose clock is a minute behind still counts as alive for the others."""
    engine = create_db_engine(postgres_schema_url)
    behind = utcnow() - timedelta(minutes=1)
    with session_scope(engine) as session:
        workers.register(session, worker_id="host-behind")
    with monkeypatch.context() as skewed:
        import storage.claims
        import storage.workers

        skewed.setattr(storage.workers, "utcnow", lambda: behind, raising=False)
        skewed.setattr(storage.claims, "utcnow", lambda: behind, raising=False)
        with session_scope(engine) as session:
            workers.heartbeat(session, worker_id="host-behind")
    with session_scope(engine) as session:
        assert "host-behind" in workers.alive(session)
    engine.dispose()
