"""A fuzz of Telegram updates through the whole bot (issue 21): the odd things people and
Telegram really send — blank and invisible text, NUL, emoji, 4,096 characters, every command
with odd arguments, numbers beyond what the database holds, media, edits, group chats, replies,
presses of real and of forged buttons — from participants, active and deactivated coaches, an
admin and the coordinator's group. Each update must be answered like any other; a "give-up"
is an update the bot put to rest with its apology after failing on it again and again.

Used by tests/telegram/test_fuzz.py (a few hundred updates) and scripts/fuzz_updates.py
(3,000, both databases).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from bot.channels.telegram.pacing import ChatPacer
from bot.channels.telegram.wiring import build_telegram_bot
from bot.cli import main as careerbot
from bot.config import Settings, get_settings
from storage.coaches import add_coach
from storage.database import create_db_engine, session_scope
from storage.models import InboxUpdate, Union
from storage.telegram_state import OutboxStatus, TelegramOutbox
from tests.fake_telegram import FakeTelegram, buttons_of

PARTICIPANTS = tuple(range(9101, 9113))
COACHES = (9201, 9202)  # active
GONE_COACH = 9203  # deactivated
ADMIN = 9301
COORDINATOR = -1009400
GROUP = -1009500
SORRY = "er ging bij mij iets mis"
HUGE = ("2147483648", "99999999999", "999999999999", "-1", "0", "²", "1²", "#2147483647")
BLANK = (" ", "\u00a0", "\u3000", "\u2028", "\u2029", "\t", " \n ", "\u200b", "\ufeff")
ODD = (
    "\x00",
    "a\x00b",
    "\x01\x02\x1f",
    "\u202eevil",
    "🙂" * 50,
    "👨‍👩‍👧‍👦",
    "מה שלומך",
    "مرحبا",
    "Ï̶̡n̷͍v̸͈a̵l̴i̸d̵",
    "\ud7ff\ue000\uffff",
    "x" * 4096,
    "<b>vet</b> &amp; <a href='x'>",
    "' OR 1=1 --",
    "${jndi:ldap://x}",
    "%s%s%n",
)
WORDS = (
    "hallo",
    "ik ben mijn baan kwijt",
    "mn contract word nie verlengd",
    "wat kost het?",
    "ik wil een coach",
    "Utrecht",
    "Amsterdam",
    "3511 AB",
    "0612345678",
    "+31 6 1234 5678",
    "sam@example.nl",
    "ja",
    "nee",
    "laat maar",
    "Sam",
    "12",
    "1-1-2024",
    "31-02-2024",
)
COMMANDS = (
    "/start",
    "/help",
    "/menu",
    "/stop",
    "/cancel",
    "/taal",
    "/taal en",
    "/mijngegevens",
    "/verwijder",
    "/zaken",
    "/stats",
    "/start@careerbot_test_bot",
    "/onbekend",
    "/",
)
CASE_COMMANDS = ("/zaak", "/bericht", "/terug", "/afsluiten")
MEDIA = ("photo", "sticker", "voice", "video", "location", "document", "contact")


@dataclass
class Figures:
    database: str
    updates: int = 0
    give_ups: int = 0  # updates put to rest with the apology
    failed_attempts: int = 0  # turns that raised (each retried after a back-off)
    unprocessed: int = 0
    unsent: int = 0
    seconds: float = 0.0
    kinds: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        return (
            f"fuzz on {self.database}: {self.updates} updates in {self.seconds:.0f}s, "
            f"{self.give_ups} give-ups, {self.failed_attempts} failed attempts, "
            f"{self.unprocessed} unprocessed, {self.unsent} unsent"
        )


class _FailureCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.failed = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg.startswith("update %d failed"):
            self.failed += 1


def _user(user_id: int, name: str = "Sam") -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": name, "language_code": "nl"}


class Fuzzer:
    def __init__(self, fake: FakeTelegram, rnd: random.Random) -> None:
        self.fake = fake
        self.rnd = rnd
        self.kinds: dict[str, int] = {}

    def _pick(self, *options: Any) -> Any:
        return self.rnd.choice(options)

    def text(self) -> str:
        r = self.rnd.random()
        if r < 0.15:
            return str(self._pick(*BLANK))
        if r < 0.3:
            return str(self._pick(*ODD))
        if r < 0.45:
            return str(self._pick(*COMMANDS))
        if r < 0.6:
            command = self._pick(*CASE_COMMANDS)
            number = self._pick(*HUGE, "1", "2", "3")
            tail = self._pick("", " klaar", " hoi\x00", "\u00a0tekst", " " + "y" * 3000)
            return f"{command} {number}{tail}"
        if r < 0.7:
            return "".join(self.rnd.choice(BLANK + ODD + WORDS) for _ in range(3))
        return str(self._pick(*WORDS))

    def data(self, message: dict[str, Any] | None) -> str:
        """Callback data: mostly a real button of the message, sometimes forged."""
        real = [b["callback_data"] for b in buttons_of(message or {})]
        if real and self.rnd.random() < 0.6:
            return str(self.rnd.choice(real))
        return str(
            self._pick(
                "x",
                "p:",
                "p:\x00",
                "p:v:yes\x00",
                "h:doesnotexist",
                "h:\x00",
                "g:erase",
                "g:keep",
                f"c:acc:{self._pick(*HUGE[:3], '1')}",
                f"c:dec:{self._pick(*HUGE[:3], '1')}",
                f"c:asg:1:{self._pick(*HUGE[:3], '1')}",
                f"c:asg:{self._pick(*HUGE[:3])}:1",
                "c:zzz:1",
                "p:" + "é" * 40,
                "",
                "\u2028",
            )
        )

    async def one(self) -> str:
        """Send one update; returns its kind."""
        fake, rnd = self.fake, self.rnd
        who = rnd.random()
        if who < 0.6:
            user = self._pick(*PARTICIPANTS)
        elif who < 0.8:
            user = self._pick(*COACHES)
        elif who < 0.88:
            user = GONE_COACH
        else:
            user = ADMIN
        r = rnd.random()
        mine = fake.sent.get(user) or []
        if r < 0.45:
            kind = "text"
            reply_to = rnd.choice(mine) if mine and rnd.random() < 0.2 else None
            await fake.send_text(user, self.text(), reply_to=reply_to)
        elif r < 0.75:
            kind = "press"
            message = rnd.choice(mine[-5:]) if mine else _bot_message(user)
            await fake.press(user, message, self.data(message))
        elif r < 0.82:
            kind = "media"
            await fake.send_media(user, self._pick(*MEDIA))
        elif r < 0.87:
            kind = "edit"
            await fake.push_update(self._edited(user))
        elif r < 0.94:
            kind = "group"
            chat = self._pick(GROUP, COORDINATOR)
            await fake.push_update(self._group(user, chat))
        else:
            kind = "group press"
            chat = COORDINATOR
            group = fake.sent.get(chat) or []
            message = rnd.choice(group[-5:]) if group else _bot_message(chat)
            await fake.push_update(self._group_press(user, message))
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        return kind

    def _edited(self, user: int) -> dict[str, Any]:
        return {
            "update_id": self.fake.next_update_id(),
            "edited_message": {
                "message_id": self.rnd.randint(1, 50),
                "date": int(time.time()),
                "edit_date": int(time.time()),
                "chat": {"id": user, "type": "private", "first_name": "Sam"},
                "from": _user(user),
                "text": self.text(),
            },
        }

    def _group(self, user: int, chat: int) -> dict[str, Any]:
        text = self.text()
        message: dict[str, Any] = {
            "message_id": self.rnd.randint(1, 10_000),
            "date": int(time.time()),
            "chat": {"id": chat, "type": "supergroup", "title": "Groep"},
            "from": _user(user),
            "text": text,
        }
        if text.startswith("/"):
            length = len(text.split()[0]) if text.split() else 1
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return {"update_id": self.fake.next_update_id(), "message": message}

    def _group_press(self, user: int, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "update_id": self.fake.next_update_id(),
            "callback_query": {
                "id": str(self.rnd.randint(1, 10**12)),
                "from": _user(user),
                "chat_instance": "group",
                "data": self.data(message),
                "message": message,
            },
        }


def _bot_message(chat: int) -> dict[str, Any]:
    """A message of the bot the fake never sent (an old keyboard, another deployment's)."""
    return {
        "message_id": 99_999,
        "date": int(time.time()),
        "chat": {"id": chat, "type": "private" if chat > 0 else "supergroup", "first_name": "x"},
        "from": {"id": 999000, "is_bot": True, "first_name": "CareerBot"},
        "text": "oud bericht",
        "reply_markup": {
            "inline_keyboard": [[{"text": "Ja", "callback_data": "p:v:yes"}]],
        },
    }


def _prepare(url: str) -> None:
    engine = create_db_engine(url)
    with session_scope(engine) as session:
        for number, telegram_id in enumerate((*COACHES, GONE_COACH)):
            add_coach(
                session,
                name=f"Coach{number} Test",
                telegram_id=telegram_id,
                union=Union.FNV if number % 2 else Union.CNV,
                regions=["AM13", "AM18"],
                capacity=3,
            )
    engine.dispose()
    # Deactivated the way an admin does it.
    import os

    before = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    try:
        careerbot(["coach", "deactivate", "--telegram-id", str(GONE_COACH)])
    finally:
        if before is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = before
        get_settings.cache_clear()


async def run_fuzz(
    url: str,
    *,
    database: str,
    count: int,
    seed: int = 21,
    pace: float = 0.0,
    progress: bool = False,
) -> Figures:
    """Send `count` odd updates to a bot on `url` (migrated, empty); wait until all are done."""
    _prepare(url)
    fake = await FakeTelegram().start()
    counter = _FailureCounter()
    logging.getLogger("bot.channels.telegram.pipeline").addHandler(counter)
    settings = Settings(
        telegram_bot_token=fake.token,
        telegram_base_url=fake.base_url,
        database_url=url,
        rasa_url="http://127.0.0.1:9",
        webhook_secret=None,
        admin_telegram_ids=frozenset({ADMIN}),
        coordinator_chat_id=COORDINATOR,
    )
    assembled = await build_telegram_bot(
        settings, poll_timeout=1, pacer=ChatPacer(rate=1e9, burst=1e9), rate_limit=False
    )
    await assembled.bot.start_polling()
    fuzzer = Fuzzer(fake, random.Random(seed))
    figures = Figures(database)
    started = time.monotonic()
    engine = create_db_engine(url)
    try:
        for n in range(count):
            await fuzzer.one()
            figures.updates += 1
            if pace:
                await asyncio.sleep(pace)
            elif n % 25 == 24:  # let the bot answer, so presses find real keyboards
                await _settled(fake, engine, timeout=60)
            if progress and n % 250 == 249:
                print(f"  {database}: {n + 1}/{count} updates", flush=True)
        await _settled(fake, engine, timeout=300)
    finally:
        await assembled.aclose()
        await fake.stop()
        logging.getLogger("bot.channels.telegram.pipeline").removeHandler(counter)
    figures.seconds = time.monotonic() - started
    figures.failed_attempts = counter.failed
    figures.give_ups = sum(
        1 for chat in list(fake.sent) for text in fake.texts(chat) if SORRY in text
    )
    with Session(engine) as session:
        figures.unprocessed = len(
            session.exec(select(InboxUpdate.id).where(InboxUpdate.status != "done")).all()
        )
        figures.unsent = len(
            session.exec(
                select(TelegramOutbox.id).where(
                    col(TelegramOutbox.status).in_((OutboxStatus.PENDING, OutboxStatus.SENDING))
                )
            ).all()
        )
    engine.dispose()
    figures.kinds = dict(fuzzer.kinds)
    return figures


async def _settled(fake: FakeTelegram, engine: Any, *, timeout: float) -> None:
    """Wait until every update sent is stored and done, and nothing waits to be sent."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        if fake.pending_updates():
            continue
        with Session(engine) as session:
            open_updates = session.exec(
                select(InboxUpdate.id).where(InboxUpdate.status != "done").limit(1)
            ).first()
            unsent = session.exec(
                select(TelegramOutbox.id)
                .where(col(TelegramOutbox.status).in_((OutboxStatus.PENDING, OutboxStatus.SENDING)))
                .limit(1)
            ).first()
        if open_updates is None and unsent is None:
            return
