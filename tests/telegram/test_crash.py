"""kill -9 at every commit boundary and around a send: after a restart every reply and every
coach notification arrives, each exactly once (the one exception is the message whose send was
under way at the kill: Telegram has no idempotency key, so it may arrive twice, never zero).

The bot runs as a real `careerbot run` process (polling the fake Bot API, SQLite, NLU down so
that the conversation is driven by buttons); CAREERBOT_CRASH_AT makes it SIGKILL itself at the
named point (bot/faults.py).
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from storage.coaches import add_coach
from storage.database import create_db_engine, session_scope, upgrade
from storage.models import Case, CaseStatus, InboxUpdate, Union
from tests.bot_process import BotProcess
from tests.fake_telegram import FakeTelegram, buttons_of
from tests.fake_telegram.user import TelegramUser

SAM = 6001
ANNA = 7101
BRAM = 7102
WELCOME = 3  # "I am a bot", the privacy notice, the consent question


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    upgrade(url)
    engine = create_db_engine(url)
    with session_scope(engine) as session:
        add_coach(
            session, name="Anna de Vries", telegram_id=ANNA, union=Union.FNV, regions=["AM13"]
        )
        add_coach(session, name="Bram Jansen", telegram_id=BRAM, union=Union.CNV, regions=["AM13"])
    engine.dispose()
    return url


async def crash_then_restart(
    fake: FakeTelegram, db_url: str, tmp_path: Path, crash_at: str, act
) -> BotProcess:
    """Run `act` against a bot that kills itself at `crash_at`; then start a healthy one."""
    doomed = await BotProcess(fake, db_url, tmp_path, crash_at=crash_at).start()
    await act()
    code = await doomed.wait_exit(timeout=60)
    assert code == -signal.SIGKILL, doomed.log
    return await BotProcess(fake, db_url, tmp_path).start()


def no_duplicates(fake: FakeTelegram, chat: int) -> None:
    counts = Counter(fake.texts(chat))
    assert all(n == 1 for n in counts.values()), counts


def inbox_done(db_url: str) -> None:
    engine = create_db_engine(db_url)
    with Session(engine) as session:
        statuses = session.exec(select(InboxUpdate.status)).all()
    engine.dispose()
    assert statuses and set(statuses) == {"done"}


@pytest.mark.parametrize(
    "point",
    ["inbox.stored@1", "update.before_commit@1", "update.after_commit@1", "outbox.before_send@2"],
)
async def test_a_kill_at_any_commit_boundary_loses_nothing_and_sends_nothing_twice(
    fake_telegram: FakeTelegram, db_url: str, tmp_path: Path, point: str
) -> None:
    async def act() -> None:
        await fake_telegram.send_text(SAM, "/start")

    healthy = await crash_then_restart(fake_telegram, db_url, tmp_path, point, act)
    try:
        await fake_telegram.wait_for(SAM, WELCOME, timeout=30)
        await asyncio.sleep(1.5)  # time for anything sent twice to show up
        assert len(fake_telegram.texts(SAM)) == WELCOME
        no_duplicates(fake_telegram, SAM)
        inbox_done(db_url)
    finally:
        await healthy.stop()


async def test_a_kill_right_after_a_send_repeats_at_most_that_message(
    fake_telegram: FakeTelegram, db_url: str, tmp_path: Path
) -> None:
    async def act() -> None:
        await fake_telegram.send_text(SAM, "/start")

    healthy = await crash_then_restart(fake_telegram, db_url, tmp_path, "outbox.after_send@1", act)
    try:
        await fake_telegram.wait_for(SAM, WELCOME + 1, timeout=30)
        await asyncio.sleep(1.5)
        texts = fake_telegram.texts(SAM)
        counts = Counter(texts)
        # The first message reached Telegram but its outcome was never written: sent again,
        # straight after the restart (no stall), and nothing else twice.
        assert counts[texts[0]] == 2 and len(counts) == WELCOME
        assert all(n == 1 for text, n in counts.items() if text != texts[0])
    finally:
        await healthy.stop()


async def test_a_kill_during_a_send_is_taken_over_at_once(
    fake_telegram: FakeTelegram, db_url: str, tmp_path: Path
) -> None:
    """The process dies while Telegram is still answering the call."""
    fake_telegram.hold("sendMessage")
    bot = await BotProcess(fake_telegram, db_url, tmp_path).start()
    await fake_telegram.send_text(SAM, "/start")
    await fake_telegram.wait_until(lambda: fake_telegram.held > 0, timeout=30)
    bot.kill()
    assert await bot.wait_exit() == -signal.SIGKILL
    fake_telegram.release()  # Telegram finishes the call the dead process made
    started = asyncio.get_running_loop().time()
    healthy = await BotProcess(fake_telegram, db_url, tmp_path).start()
    try:
        await fake_telegram.wait_for(SAM, WELCOME, timeout=30)
        await asyncio.sleep(1.5)
        counts = Counter(fake_telegram.texts(SAM))
        assert len(counts) == WELCOME  # every message arrived
        assert sum(counts.values()) <= WELCOME + 1  # only the one in flight may repeat
        assert asyncio.get_running_loop().time() - started < 20  # no long stall of the chat
    finally:
        await healthy.stop()


async def intake(fake: FakeTelegram) -> TelegramUser:
    """To the last press before the handoff (NLU down: buttons and free text only)."""
    sam = TelegramUser(fake, SAM, "Sam", quiet=1.5)  # the real pacing: ~1 message/s per chat
    await sam.say("/start")
    await sam.press("Ja")  # consent
    await sam.press("Praten met een coach")
    await sam.say("Sam")
    await sam.say("Utrecht")
    await sam.press("chatgesprek")
    await sam.press("Ochtend")
    assert "Klopt dit?" in sam.last_text
    return sam


async def test_a_kill_after_the_handoff_commit_still_tells_coach_and_participant_once(
    fake_telegram: FakeTelegram, db_url: str, tmp_path: Path
) -> None:
    doomed = await BotProcess(
        fake_telegram, db_url, tmp_path, crash_at="update.after_commit@8"
    ).start()
    sam = await intake(fake_telegram)
    await fake_telegram.press(SAM, sam.last_with_buttons(), "p:v:yes")  # the 8th update
    assert await doomed.wait_exit(timeout=60) == -signal.SIGKILL
    healthy = await BotProcess(fake_telegram, db_url, tmp_path).start()
    try:
        (card,) = await TelegramUser(fake_telegram, ANNA, quiet=1.5).read(timeout=30)
        assert "Nieuwe aanvraag #1" in card["text"]
        await fake_telegram.wait_until(
            lambda: any("doorgegeven" in t for t in fake_telegram.texts(SAM)), timeout=30
        )
        await asyncio.sleep(1.5)
        no_duplicates(fake_telegram, SAM)
        no_duplicates(fake_telegram, ANNA)
        assert len(fake_telegram.sent[ANNA]) == 1
    finally:
        await healthy.stop()


@pytest.mark.parametrize("button", ["Aannemen", "Afwijzen"])
async def test_a_kill_after_accept_or_decline_still_tells_the_next_person_once(
    fake_telegram: FakeTelegram, db_url: str, tmp_path: Path, button: str
) -> None:
    first = await BotProcess(fake_telegram, db_url, tmp_path).start()
    sam = await intake(fake_telegram)
    await sam.press("Ja")
    anna = TelegramUser(fake_telegram, ANNA, quiet=1.5)
    (card,) = await anna.read(timeout=30)
    await first.stop()
    # The coach's press is the first update this process handles: it dies right after its commit.
    doomed = await BotProcess(
        fake_telegram, db_url, tmp_path, crash_at="update.after_commit@1"
    ).start()
    await fake_telegram.press(ANNA, card, "c:acc:1" if button == "Aannemen" else "c:dec:1")
    assert await doomed.wait_exit(timeout=60) == -signal.SIGKILL
    healthy = await BotProcess(fake_telegram, db_url, tmp_path).start()
    try:
        if button == "Aannemen":
            await fake_telegram.wait_until(
                lambda: any("Goed nieuws" in t for t in fake_telegram.texts(SAM)), timeout=30
            )
        else:
            (bram_card,) = await TelegramUser(fake_telegram, BRAM, quiet=1.5).read(timeout=30)
            assert "Nieuwe aanvraag #1" in bram_card["text"]
        await asyncio.sleep(1.5)
        for chat in (SAM, ANNA, BRAM):
            no_duplicates(fake_telegram, chat)
        engine = create_db_engine(db_url)
        with Session(engine) as session:
            case = session.exec(select(Case).order_by(col(Case.id))).one()
        engine.dispose()
        expected = CaseStatus.ACCEPTED if button == "Aannemen" else CaseStatus.ASSIGNED
        assert case.status == expected
    finally:
        await healthy.stop()


async def test_a_button_press_processed_after_a_restart_is_still_answered(
    fake_telegram: FakeTelegram, db_url: str, tmp_path: Path
) -> None:
    """Issue 21, finding 7: the press was stored, then the process died before it answered
    the callback; the next process answers it (else the spinner runs until Telegram gives
    up)."""
    doomed = await BotProcess(fake_telegram, db_url, tmp_path, crash_at="inbox.stored@2").start()
    sam = TelegramUser(fake_telegram, SAM, "Sam", quiet=1.5)
    await sam.say("/start")
    consent = sam.last_with_buttons()
    data = next(b["callback_data"] for b in buttons_of(consent) if b["text"] == "Ja")
    pressed = await fake_telegram.press(SAM, consent, data)
    assert await doomed.wait_exit(timeout=60) == -signal.SIGKILL
    healthy = await BotProcess(fake_telegram, db_url, tmp_path).start()
    query_id = pressed["callback_query"]["id"]
    try:
        await fake_telegram.wait_until(
            lambda: any(
                a.get("callback_query_id") == query_id for a in fake_telegram.callback_answers
            ),
            timeout=30,
        )
        assert await sam.read(timeout=30)  # and the press was carried out
    finally:
        await healthy.stop()
