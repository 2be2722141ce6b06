"""Chaos (issue 21): the database fails again and again while participants type and press
buttons. Afterwards every participant's next message is answered within seconds, and nothing
was lost, nothing sent twice, each chat in order.

- PostgreSQL: the bot's connections are terminated (`pg_terminate_backend`) every few hundred
  milliseconds. The test makes a database of its own (chaos_<random>, dropped afterwards) and
  only ever terminates connections to that database: the server is shared.
- SQLite: right after an update is stored, another connection takes the write lock and holds
  it past the busy timeout, so the turn (and everything else) meets "database is locked".

The figures are printed (`pytest -s tests/telegram/test_chaos.py`): messages sent, answered,
lost, duplicated, worst wait.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy
from sqlmodel import Session, col, select

from bot import faults
from bot.channels.telegram.pacing import ChatPacer
from bot.channels.telegram.wiring import build_telegram_bot
from bot.config import Settings
from storage.coaches import add_coach
from storage.database import create_db_engine, session_scope, upgrade
from storage.models import InboxUpdate, MessageLog, Participant, Union
from storage.telegram_state import OutboxStatus, TelegramOutbox
from tests.fake_telegram import FakeTelegram, buttons_of
from tests.fake_telegram.user import TelegramUser

PEOPLE = (6301, 6302, 6303, 6304)
CHAOS_SECONDS = 8.0
ANSWER_WITHIN = 30.0  # a message without any answer in this time counts as lost
TEXTS = ("/start", "/help", "hallo", "wat kost het?", "ik ben mijn baan kwijt", "Utrecht", "Sam")


@dataclass
class Figures:
    sent: int = 0
    answered: int = 0
    waits: list[float] = field(default_factory=list)
    faults: int = 0
    duplicated: int = 0
    unprocessed: int = 0
    unsent: int = 0
    after: list[float] = field(default_factory=list)  # the next message once the chaos ended

    @property
    def lost(self) -> int:
        return self.sent - self.answered + self.unprocessed + self.unsent

    def line(self, database: str) -> str:
        return (
            f"chaos on {database}: {self.faults} faults injected; {self.sent} messages sent, "
            f"{self.answered} answered, {self.lost} lost, {self.duplicated} duplicated; "
            f"worst wait {max(self.waits, default=0):.1f}s (median "
            f"{sorted(self.waits)[len(self.waits) // 2] if self.waits else 0:.2f}s); "
            f"next message after the chaos answered within {max(self.after, default=0):.1f}s"
        )


async def act(fake: FakeTelegram, user: TelegramUser, rnd: random.Random) -> None:
    """One thing a participant does: press a button of the newest keyboard, or type."""
    try:
        keyboard = user.last_with_buttons()
    except AssertionError:
        keyboard = None
    choices = [b for b in buttons_of(keyboard or {}) if b["callback_data"] != "x"]
    if choices and rnd.random() < 0.5:
        await fake.press(user.id, keyboard or {}, rnd.choice(choices)["callback_data"])
    else:
        await fake.send_text(user.id, rnd.choice(TEXTS))


async def participant(
    fake: FakeTelegram, user_id: int, until: float, figures: Figures, seed: int
) -> None:
    user = TelegramUser(fake, user_id, f"P{user_id}", quiet=0.3)
    rnd = random.Random(seed)
    while time.monotonic() < until:
        before = len(user.inbox)
        user.seen = before
        started = time.monotonic()
        await act(fake, user, rnd)
        figures.sent += 1
        try:
            await fake.wait_for(user_id, 1, since=before, timeout=ANSWER_WITHIN)
        except AssertionError:
            continue
        figures.waits.append(time.monotonic() - started)
        figures.answered += 1
        await user.read(timeout=ANSWER_WITHIN)  # the rest of the turn, before acting again


async def chaos_run(
    fake: FakeTelegram, url: str, inject: Callable[[asyncio.Event], AsyncIterator[None]]
) -> Figures:
    """Participants act for CHAOS_SECONDS while `inject` makes faults, then once more."""
    engine = create_db_engine(url)
    with session_scope(engine) as session:
        add_coach(
            session, name="Anna de Vries", telegram_id=7401, union=Union.FNV, regions=["AM13"]
        )
        add_coach(session, name="Bram Jansen", telegram_id=7402, union=Union.CNV, regions=["AM13"])
    engine.dispose()
    settings = Settings(
        telegram_bot_token=fake.token,
        telegram_base_url=fake.base_url,
        database_url=url,
        rasa_url="http://127.0.0.1:9",
        webhook_secret=None,
    )
    assembled = await build_telegram_bot(
        settings, poll_timeout=2, pacer=ChatPacer(rate=50, burst=10), sweep_interval=0.5
    )
    await assembled.bot.start_polling()
    figures = Figures()
    stop = asyncio.Event()
    try:

        async def faulting() -> None:
            async for _ in inject(stop):
                figures.faults += 1

        injector = asyncio.create_task(faulting())
        until = time.monotonic() + CHAOS_SECONDS
        await asyncio.gather(*(participant(fake, u, until, figures, seed=u) for u in PEOPLE))
        stop.set()
        await injector
        # The database is fine again: everyone's next message is answered within seconds.
        for user_id in PEOPLE:
            before = len(fake.sent[user_id])
            started = time.monotonic()
            await fake.send_text(user_id, "/help")
            figures.sent += 1
            await fake.wait_for(user_id, 1, since=before, timeout=ANSWER_WITHIN)
            figures.answered += 1
            figures.after.append(time.monotonic() - started)
        await asyncio.sleep(1.5)  # anything sent twice would show up now
    finally:
        stop.set()
        await assembled.aclose()
    check(fake, url, figures)
    return figures


def check(fake: FakeTelegram, url: str, figures: Figures) -> None:
    engine = create_db_engine(url)
    with Session(engine) as session:
        statuses = session.exec(select(InboxUpdate.status)).all()
        figures.unprocessed = sum(1 for s in statuses if s != "done")
        figures.unsent = len(
            session.exec(
                select(TelegramOutbox.id).where(
                    col(TelegramOutbox.status).in_((OutboxStatus.PENDING, OutboxStatus.SENDING))
                )
            ).all()
        )
        for user_id in PEOPLE:
            rows = session.exec(
                select(TelegramOutbox.id).where(
                    TelegramOutbox.chat_id == user_id,
                    TelegramOutbox.method == "sendMessage",
                    TelegramOutbox.status == OutboxStatus.SENT,
                )
            ).all()
            delivered = [
                c
                for c in fake.calls_of("sendMessage")
                if c.params.get("chat_id") == user_id and c.status == 200
            ]
            figures.duplicated += max(0, len(delivered) - len(rows))
            # Each message was heard once: one "in" line per update of the chat.
            participant = session.exec(
                select(Participant).where(Participant.external_id == str(user_id))
            ).one()
            heard = session.exec(
                select(MessageLog.id).where(
                    MessageLog.participant_id == participant.id, MessageLog.direction == "in"
                )
            ).all()
            updates = session.exec(
                select(InboxUpdate).where(InboxUpdate.chat_key == str(user_id))
            ).all()
            assert len(heard) == len(updates), (user_id, len(heard), len(updates))
            done = [u.processed_at for u in sorted(updates, key=lambda u: u.update_id)]
            assert done == sorted(done), "a chat's updates were processed out of order"
    engine.dispose()


def assert_healthy(figures: Figures, database: str) -> None:
    print("\n" + figures.line(database))
    assert figures.faults >= 3, "the chaos did not happen"
    assert figures.sent >= 2 * len(PEOPLE)
    assert figures.lost == 0
    assert figures.duplicated == 0
    assert max(figures.after) < 10


# -- PostgreSQL: connections terminated -----------------------------------------------------------


@pytest.fixture
def chaos_database(postgres_url: str) -> AsyncIterator[tuple[str, str]]:
    """A database of this test's own (the server is shared: only its connections are cut)."""
    name = f"chaos_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
    url = postgres_url.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    try:
        yield name, url
    finally:
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.mark.postgres
async def test_terminated_connections_never_silence_a_chat(
    fake_telegram: FakeTelegram, chaos_database: tuple[str, str], postgres_url: str
) -> None:
    name, url = chaos_database
    admin = sqlalchemy.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    terminate = sqlalchemy.text(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = :name AND pid <> pg_backend_pid()"
    )

    async def cut_connections(stop: asyncio.Event) -> AsyncIterator[None]:
        rnd = random.Random(21)
        while not stop.is_set():
            await asyncio.sleep(rnd.uniform(0.2, 0.6))
            with admin.connect() as connection:
                cut = connection.execute(terminate, {"name": name}).scalar()
            if cut:
                yield None

    try:
        figures = await chaos_run(fake_telegram, url, cut_connections)
    finally:
        admin.dispose()
    assert_healthy(figures, "PostgreSQL")


# -- SQLite: the write lock held past the busy timeout -------------------------------------------


@dataclass
class LockHolder:
    """Takes SQLite's write lock from another connection and keeps it `hold` seconds."""

    path: Path
    hold: float
    holding: threading.Lock = field(default_factory=threading.Lock)
    count: int = 0

    def grab(self) -> None:
        if not self.holding.acquire(blocking=False):
            return  # one at a time
        taken = threading.Event()

        def hold() -> None:
            try:
                connection = sqlite3.connect(self.path, timeout=5, isolation_level=None)
                connection.execute("BEGIN IMMEDIATE")
                self.count += 1
                taken.set()
                time.sleep(self.hold)
                connection.execute("ROLLBACK")
                connection.close()
            finally:
                taken.set()
                self.holding.release()

        threading.Thread(target=hold, daemon=True).start()
        taken.wait(5)


async def test_a_write_lock_held_past_the_busy_timeout_never_silences_a_chat(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    path = tmp_path / "chaos.db"
    busy_timeout = 1.0
    url = f"sqlite:///{path}?timeout={busy_timeout:g}"
    upgrade(url)
    holder = LockHolder(path, hold=busy_timeout + 0.5)

    async def hold_locks(stop: asyncio.Event) -> AsyncIterator[None]:
        seen = 0
        remove = faults.on("inbox.stored", holder.grab)  # right after an update is stored
        try:
            while not stop.is_set():
                await asyncio.sleep(0.1)
                while seen < holder.count:
                    seen += 1
                    yield None
        finally:
            remove()

    figures = await chaos_run(fake_telegram, url, hold_locks)
    assert_healthy(figures, "SQLite")
