"""The bot as `careerbot run` assembles it (SQLite and PostgreSQL), with two coaches, for the
reliability and fault tests: NLU down on purpose, every path must work with buttons and typed
answers alone."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from bot.channels.telegram.pacing import ChatPacer
from bot.channels.telegram.wiring import AssembledBot, build_telegram_bot
from bot.config import Settings
from storage.coaches import add_coach
from storage.database import create_db_engine, session_scope, upgrade
from storage.models import Case, Union
from tests.fake_telegram import FakeTelegram
from tests.fake_telegram.user import TelegramUser

SAM, EVE = 6101, 6102
ANNA, BRAM = 7201, 7202
ADMIN = 7301
COORDINATOR = -100888


@dataclass
class Desk:
    fake: FakeTelegram
    bot: AssembledBot
    url: str

    def user(self, user_id: int, name: str = "Sam") -> TelegramUser:
        return TelegramUser(self.fake, user_id, name)

    def case(self) -> Case:
        with Session(self.bot.conversation.db) as session:
            return session.exec(select(Case).order_by(col(Case.id))).one()

    def fail_once(self, statement_start: str, times: int = 1) -> list[int]:
        """The next statement(s) starting so fail like a database that drops a connection."""
        fired: list[int] = []

        def boom(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if len(fired) < times and statement.lstrip().upper().startswith(statement_start):
                fired.append(1)
                raise OperationalError(statement, {}, Exception("server closed the connection"))

        event.listen(self.bot.conversation.db, "before_cursor_execute", boom)
        return fired

    def fail_in_order(self, *statement_starts: str) -> list[str]:
        """The first statement starting with the first prefix fails, then the next one starting
        with the second prefix, and so on."""
        fired: list[str] = []

        def boom(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if len(fired) < len(statement_starts):
                wanted = statement_starts[len(fired)]
                if statement.lstrip().upper().startswith(wanted):
                    fired.append(wanted)
                    raise OperationalError(statement, {}, Exception("server closed the connection"))

        event.listen(self.bot.conversation.db, "before_cursor_execute", boom)
        return fired


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def desk(
    request: pytest.FixtureRequest, fake_telegram: FakeTelegram, tmp_path: Path
) -> AsyncIterator[Desk]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'bot.db'}"
    else:
        url = request.getfixturevalue("postgres_schema_url")
    upgrade(url)
    engine = create_db_engine(url)
    with session_scope(engine) as session:
        add_coach(
            session, name="Anna de Vries", telegram_id=ANNA, union=Union.FNV, regions=["AM13"]
        )
        add_coach(session, name="Bram Jansen", telegram_id=BRAM, union=Union.CNV, regions=["AM13"])
    engine.dispose()
    settings = Settings(
        telegram_bot_token=fake_telegram.token,
        telegram_base_url=fake_telegram.base_url,
        database_url=url,
        rasa_url="http://127.0.0.1:9",
        coordinator_chat_id=COORDINATOR,
        admin_telegram_ids=frozenset({ADMIN}),
        webhook_secret=None,
    )
    assembled = await build_telegram_bot(
        settings, poll_timeout=2, pacer=ChatPacer(rate=50, burst=10), sweep_interval=0.3
    )
    await assembled.bot.start_polling()
    try:
        yield Desk(fake_telegram, assembled, url)
    finally:
        await assembled.aclose()


async def short_intake(
    sam: TelegramUser, *, name: str = "Sam", contact: str = "chatgesprek"
) -> None:
    await sam.say("/start")
    await sam.press("Ja")
    await sam.press("Praten met een coach")
    await sam.say(name)
    await sam.say("Utrecht")
    await sam.press(contact)
    if contact == "Telefoon":
        await sam.say("0687654321")
    if contact == "E-mail":
        await sam.say("geertruida@example.nl")
    await sam.press("Ochtend")
    assert "Klopt dit?" in sam.last_text
    await sam.press("Ja")


async def accepted(d: Desk) -> tuple[TelegramUser, TelegramUser]:
    sam, anna = d.user(SAM), d.user(ANNA, "Anna")
    await short_intake(sam)
    await anna.read()
    await anna.press("Aannemen")
    await sam.read()
    return sam, anna


def once(fake: FakeTelegram, chat: int) -> None:
    counts = Counter(fake.texts(chat))
    assert all(n == 1 for n in counts.values()), counts
