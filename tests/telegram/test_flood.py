"""Issue 21, finding 4: a flood from one chat. Telegram lets a bot send about one message a
second to a chat, so answering each of 60 messages would keep the person waiting a minute or
more for the answer to their last one. The bot processes every message (nothing lost, in
order) but sends only the replies to where the conversation is now."""

from __future__ import annotations

import time
from pathlib import Path

from sqlmodel import Session, col, select

from bot.channels.telegram.pacing import ChatPacer
from bot.channels.telegram.wiring import build_telegram_bot
from bot.config import Settings
from storage.database import create_db_engine, upgrade
from storage.models import InboxUpdate, MessageLog
from storage.telegram_state import OutboxStatus, TelegramOutbox
from tests.fake_telegram import FakeTelegram
from tests.fake_telegram.user import TelegramUser

SAM = 6201
FLOOD = 60


async def test_a_flood_is_answered_where_the_conversation_is_now(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'flood.db'}"
    upgrade(url)
    settings = Settings(
        telegram_bot_token=fake_telegram.token,
        telegram_base_url=fake_telegram.base_url,
        database_url=url,
        rasa_url="http://127.0.0.1:9",
        webhook_secret=None,
    )
    # Telegram's real pace: about one message a second per chat, a burst of three.
    assembled = await build_telegram_bot(
        settings, poll_timeout=2, pacer=ChatPacer(), sweep_interval=0.5
    )
    await assembled.bot.start_polling()
    try:
        sam = TelegramUser(fake_telegram, SAM, quiet=1.5)
        await sam.say("/start")
        await sam.press("Ja")
        before = len(fake_telegram.sent[SAM])
        for _ in range(FLOOD):
            await fake_telegram.send_text(SAM, "hallo hallo")
        await fake_telegram.send_text(SAM, "/taal")
        started = time.monotonic()
        await fake_telegram.wait_until(
            lambda: "In welke taal" in (fake_telegram.texts(SAM) or [""])[-1], timeout=45
        )
        waited = time.monotonic() - started
        received = len(fake_telegram.sent[SAM]) - before
    finally:
        await assembled.aclose()
    print(f"flood: {FLOOD} messages, {received} answers, last answer after {waited:.1f}s")
    assert waited < 30, waited
    assert received < FLOOD / 2, received  # coalesced, not one answer per message
    engine = create_db_engine(url)
    with Session(engine) as session:
        updates = session.exec(select(InboxUpdate).order_by(col(InboxUpdate.update_id))).all()
        assert {u.status for u in updates} == {"done"}  # nothing lost
        done = [u.processed_at for u in updates]
        assert done == sorted(done)  # in order
        said = session.exec(select(MessageLog).where(MessageLog.direction == "in")).all()
        assert len(said) == 2 + FLOOD + 1  # every message was heard
        dropped = session.exec(
            select(TelegramOutbox).where(TelegramOutbox.status == OutboxStatus.SUPERSEDED)
        ).all()
        assert dropped and all(row.payload == "{}" for row in dropped)  # no text kept
    engine.dispose()
