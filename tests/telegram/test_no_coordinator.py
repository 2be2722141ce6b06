"""Finding 19: without COORDINATOR_CHAT_ID a case no coach can take reaches nobody on
Telegram. That is said at start-up and, per case, in the log (its id only, no personal
data); the coach who declines it is not told that it goes to a colleague."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.channels.telegram.pacing import ChatPacer
from bot.channels.telegram.wiring import build_telegram_bot
from bot.config import Settings
from storage.coaches import add_coach
from storage.database import create_db_engine, session_scope, upgrade
from storage.models import Union
from tests.fake_telegram import FakeTelegram
from tests.fake_telegram.user import TelegramUser

SAM = 5101
ANNA = 7401
NAME = "Geertruida"


async def test_a_case_that_reaches_nobody_is_logged(
    fake_telegram: FakeTelegram, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.WARNING)
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    upgrade(url)
    engine = create_db_engine(url)
    with session_scope(engine) as session:  # the only coach of the region
        add_coach(
            session, name="Anna de Vries", telegram_id=ANNA, union=Union.FNV, regions=["AM13"]
        )
    engine.dispose()
    settings = Settings(
        telegram_bot_token=fake_telegram.token,
        telegram_base_url=fake_telegram.base_url,
        database_url=url,
        rasa_url="http://127.0.0.1:9",
        webhook_secret=None,
    )
    assert settings.coordinator_chat_id is None
    bot = await build_telegram_bot(
        settings, poll_timeout=2, pacer=ChatPacer(rate=50, burst=10), sweep_interval=0.3
    )
    started = [r.getMessage() for r in caplog.records]
    assert any("COORDINATOR_CHAT_ID is not set" in m for m in started)
    await bot.bot.start_polling()
    try:
        sam, anna = (
            TelegramUser(fake_telegram, SAM, NAME),
            TelegramUser(fake_telegram, ANNA, "Anna"),
        )
        await sam.say("/start")
        await sam.press("Ja")
        await sam.press("Praten met een coach")
        await sam.say(NAME)
        await sam.say("Utrecht")
        await sam.press("chatgesprek")
        await sam.press("Ochtend")
        await sam.press("Ja")
        await anna.read()
        caplog.clear()
        told = await anna.press("Afwijzen")
        assert "collega" not in told[-1]["text"]
        assert "wacht nu op de coördinator" in told[-1]["text"]
    finally:
        await bot.aclose()
    logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert "case 1 reaches nobody: COORDINATOR_CHAT_ID is not set" in logged
    every = " ".join(r.getMessage() for r in caplog.records)
    assert NAME not in every and "Utrecht" not in every
