"""SQL statements per turn of the Telegram bot: a typed text turn and a button turn, by kind.

The real bot (intake, inbox dispatcher, pipeline, routers, conversation service, outbox) polls
the fake Bot API (tests/fake_telegram) on SQLite or PostgreSQL. One participant goes through
the bench's script (scripts/bench_openloop.SCRIPT), typing each line and pressing the first
button of every answer that has buttons, one turn at a time; the statements the bot's engine
sent from the update's arrival to the settling of its replies are counted per turn
(scripts/sql_counter.py). Heartbeats and sweeps are pushed out of the window (a long sweep
interval) and their statements, if any, are shown apart.

The NLU is the tests' keyword double by default (which intent a text gets does not change
which statements a turn sends); `--rasa-url http://…` asks a real Rasa server instead.

  .venv/bin/python scripts/count_statements.py                      # SQLite
  .venv/bin/python scripts/count_statements.py --database postgres  # fresh schema on $URL
  .venv/bin/python scripts/count_statements.py --verbose            # every statement's head
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.bench_openloop import SCRIPT  # noqa: E402
from scripts.sql_counter import StatementCounter, delta, without_heartbeats  # noqa: E402

POSTGRES_URL = os.environ.get(
    "CAREERBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
KINDS = ("SELECT", "INSERT", "UPDATE", "DELETE", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT")
USER = 4242


@contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'count.db'}"
        return
    import sqlalchemy

    schema = f"count_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sqlalchemy.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


async def run(args: argparse.Namespace) -> dict[str, list[dict[str, int]]]:
    from bot.channels.telegram.app import TelegramBot, TelegramOptions
    from bot.channels.telegram.pacing import ChatPacer
    from bot.channels.telegram.wiring import routers
    from bot.conversation import ConversationService
    from bot.flows.registry import FlowRegistry
    from bot.nlu.client import NluClient
    from storage.database import create_db_engine, upgrade
    from tests.conversation_helpers import DEFAULT_RULES, FLOWS_DIR, FakeNlu
    from tests.fake_telegram.server import FakeTelegram, buttons_of
    from tests.fake_telegram.user import TelegramUser

    turns: dict[str, list[dict[str, int]]] = {"first contact": [], "text": [], "button": []}
    with database(args.database) as url:
        upgrade(url)
        engine = create_db_engine(url)
        nlu: Any = NluClient(args.rasa_url) if args.rasa_url else FakeNlu(DEFAULT_RULES)
        flows = FlowRegistry(FLOWS_DIR)
        service = ConversationService(engine=engine, flows=flows, nlu=nlu)
        fake = await FakeTelegram().start()
        bot = TelegramBot(
            TelegramOptions(
                token=fake.token,
                base_url=fake.base_url,
                poll_timeout=2,
                rate_limit=False,
                pacer=ChatPacer(rate=1000, burst=1000),
                sweep_interval=3600,  # no sweep inside the measured windows
            ),
            engine=engine,
            conversation=service,
            flows=flows,
            routers=routers(admin_ids=frozenset(), flows=flows),
        )
        await bot.start_polling()
        counter = StatementCounter(engine, keep_text=args.verbose)
        user = TelegramUser(fake, USER, quiet=0.25)
        try:
            await user.say("/start")  # warm-up: the participant exists, the caches are filled
            for round_ in range(args.rounds):
                for text in SCRIPT[1:-1]:
                    kind = "text"
                    before = counter.snapshot()
                    counter.take_texts()
                    reply = await user.say(text)
                    await asyncio.sleep(0.3)  # the last delivery is recorded (batch settle)
                    turns[kind].append(without_heartbeats(delta(counter.snapshot(), before)))
                    show(args, f"{kind}: {text}", counter)
                    pressable = [m for m in reply if buttons_of(m)]
                    if not pressable:
                        continue
                    label = buttons_of(pressable[-1])[0]["text"]
                    before = counter.snapshot()
                    counter.take_texts()
                    await user.press(label, pressable[-1])
                    await asyncio.sleep(0.3)
                    turns["button"].append(without_heartbeats(delta(counter.snapshot(), before)))
                    show(args, f"button: {label}", counter)
                await user.say("/stop")
                if round_ + 1 < args.rounds:
                    await user.say("/start")
        finally:
            await bot.stop()
            await fake.stop()
            engine.dispose()
    return turns


def show(args: argparse.Namespace, title: str, counter: StatementCounter) -> None:
    if args.verbose:
        print(f"--- {title}")
        for text in counter.take_texts():
            print("   ", text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rasa-url", default="")
    parser.add_argument("--rounds", type=int, default=2, help="times through the script")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    turns = asyncio.run(run(args))
    print(f"statements per turn on {args.database} (median [min–max] over the turns)")
    for kind, rows in turns.items():
        if not rows:
            continue
        cells = []
        for key in (*KINDS, "(executemany)", "pool checkouts"):
            values = [row.get(key, 0) for row in rows]
            if any(values):
                med = statistics.median(values)
                cells.append(f"{key} {med:g} [{min(values)}–{max(values)}]")
        total = statistics.median(sum(v for k, v in row.items() if k in KINDS[:4]) for row in rows)
        print(f"  {kind} ({len(rows)} turns): statements {total:g} | " + ", ".join(cells))


if __name__ == "__main__":
    main()
