"""Fixtures for Telegram tests: the fake Bot API server, a database, and a bot factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.channels.telegram.app import TelegramBot, TelegramOptions
from bot.channels.telegram.pacing import ChatPacer
from bot.channels.telegram.routers import Router
from bot.config import PROJECT_ROOT
from bot.conversation import TurnService
from bot.flows.registry import FlowRegistry, FlowSource
from bot.ops.server import Health
from storage.database import create_db_engine, upgrade
from tests.fake_telegram.server import FakeTelegram

FLOWS_DIR = PROJECT_ROOT / "flows"
BotFactory = Callable[..., Awaitable[TelegramBot]]


@pytest.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    fake = await FakeTelegram().start()
    try:
        yield fake
    finally:
        await fake.stop()


def sqlite_engine(path: Path) -> Engine:
    """A migrated SQLite database (the real schema, Alembic head)."""
    url = f"sqlite:///{path}"
    upgrade(url)
    return create_db_engine(url)


@pytest.fixture
def telegram_db(tmp_path: Path) -> Engine:
    return sqlite_engine(tmp_path / "telegram.db")


@pytest.fixture
async def start_bot(fake_telegram: FakeTelegram, telegram_db: Engine) -> AsyncIterator[BotFactory]:
    """Start TelegramBot instances (polling the fake server); all are stopped at the end."""
    running: list[TelegramBot] = []

    async def factory(
        conversation: TurnService,
        *,
        routers: Sequence[Router] = (),
        engine: Engine | None = None,
        webhook: str | None = None,
        flows: FlowSource | None = None,
        coordinator_chat_id: int | None = None,
        health: Health | None = None,
        **options: Any,
    ) -> TelegramBot:
        options_flows = flows
        opts = TelegramOptions(
            token=fake_telegram.token,
            base_url=fake_telegram.base_url,
            poll_timeout=options.pop("poll_timeout", 2),
            pacer=options.pop("pacer", ChatPacer(rate=20, burst=5)),
            sweep_interval=options.pop("sweep_interval", 0.5),
            **options,
        )
        bot = TelegramBot(
            opts,
            engine=engine or telegram_db,
            conversation=conversation,
            flows=options_flows or FlowRegistry(FLOWS_DIR),
            routers=routers,
            coordinator_chat_id=coordinator_chat_id,
            health=health,
        )
        if webhook:
            await bot.start_webhook(webhook, listen="127.0.0.1", port=0)
        else:
            await bot.start_polling()
        running.append(bot)
        return bot

    yield factory
    for bot in reversed(running):
        if bot.running:
            await bot.stop()
