"""The database work of a typed turn alone, as the Telegram pipeline does it, without Telegram:
CPU per turn of this process (and of its PostgreSQL backend), for comparing storage versions.

Per turn, each step in its own transaction as the bot runs it: the inbox row stored (intake);
who sent it and their state (the read before the turn; skipped with `--remembered` when this
process knows the sender: `storage.senders.remembered`); the turn's transaction (inbox row
done, who sent it, the conversation service's `apply` — the real engine and flows —, two
outbox rows); the two deliveries recorded in one settle. Participants take turns through the
bench's script (scripts/bench_openloop.SCRIPT). The NLU is the tests' keyword double: asking
it costs nothing here, so that only the storage differs between two runs.

The figure is for A/B runs on one machine, one right after the other (run it from a
`git archive` copy of each commit, as scripts/bench_telegram.py is):

  .venv/bin/python scripts/bench_turn_storage.py [--database postgres] [--turns 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.bench_openloop import SCRIPT  # noqa: E402
from scripts.count_statements import database  # noqa: E402
from scripts.proc_cpu import process_cpu_seconds  # noqa: E402
from scripts.sql_counter import StatementCounter  # noqa: E402

CHANNEL = "telegram"


def run(args: argparse.Namespace) -> list[dict[str, float]]:
    from sqlalchemy import text

    from bot.conversation import ConversationService, NeedsNlu
    from bot.engine.messages import Inbound
    from bot.flows.registry import FlowRegistry
    from storage import inbox, senders
    from storage import telegram_state as outbox
    from storage.conversations import StaleConversation
    from storage.database import create_db_engine, session_scope, upgrade
    from storage.inbox import Incoming
    from storage.telegram_state import Outgoing
    from tests.conversation_helpers import DEFAULT_RULES, FLOWS_DIR, FakeNlu

    rounds: list[dict[str, float]] = []
    with database(args.database) as url:
        upgrade(url)
        engine = create_db_engine(url, pool_size=1, max_overflow=0)
        with engine.connect() as conn:  # the one backend this process talks to
            backend = (
                int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
                if args.database == "postgres"
                else None
            )
        service = ConversationService(
            engine=engine, flows=FlowRegistry(FLOWS_DIR), nlu=FakeNlu(DEFAULT_RULES)
        )
        counter = StatementCounter(engine) if args.count else None
        remembered = getattr(senders, "remembered", None) if args.remembered else None
        update_id = 0
        loop = asyncio.new_event_loop()
        people = [10_000 + n for n in range(args.participants)]
        step = dict.fromkeys(people, 0)

        def turn_once(user: int, text_: str) -> None:
            nonlocal update_id
            update_id += 1
            with session_scope(engine) as session:
                (claimed,) = inbox.store(
                    session,
                    channel=CHANNEL,
                    items=[Incoming(update_id, str(user), '{"update_id": 1}')],
                    claim_for="w1",
                )
            for _ in range(4):
                known = (
                    remembered(engine, channel=CHANNEL, telegram_id=user) if remembered else None
                )
                state = None
                if known is None or known.context is None:
                    with session_scope(engine) as session:
                        senders.sender_of(session, channel=CHANNEL, telegram_id=user)
                        state = service.peek(session, CHANNEL, str(user))
                else:
                    state = service._state_of(known.context)
                prepared = loop.run_until_complete(
                    service.prepare(CHANNEL, str(user), Inbound(text=text_), state)
                )
                try:
                    with session_scope(engine) as session:
                        assert inbox.finish(session, row_id=claimed.id, worker_id="w1")
                        senders.sender_of(session, channel=CHANNEL, telegram_id=user)
                        outcome = service.apply(session, prepared)
                        replies = [r.text for r in outcome.replies][:2] or ["-"]
                        enqueued = outbox.enqueue_claimed(
                            session,
                            outgoing=[
                                Outgoing(user, "sendMessage", {"text": r}, kind="reply")
                                for r in (replies * 2)[:2]
                            ],
                            worker_id="w1",
                        )
                    break
                except (NeedsNlu, StaleConversation):
                    continue
            sent: list[tuple[int, int | None]] = [
                (row.id or 0, n + 1) for n, row in enumerate(enqueued.claimed)
            ]
            with session_scope(engine) as session:
                outbox.mark_sent_many(session, sent=sent, worker_id="w1")

        for user in people:
            turn_once(user, SCRIPT[0])
        for _round in range(args.rounds):
            cpu0 = time.process_time()
            pg0 = process_cpu_seconds(backend) if backend else None
            counts0 = counter.snapshot() if counter else {}
            for n in range(args.turns):
                user = people[n % len(people)]
                step[user] = step[user] % (len(SCRIPT) - 2) + 1
                turn_once(user, SCRIPT[step[user]])
            cpu = time.process_time() - cpu0
            pg1 = process_cpu_seconds(backend) if backend else None
            row: dict[str, Any] = {"bench ms/turn": cpu / args.turns * 1000}
            if pg0 is not None and pg1 is not None:
                row["postgres ms/turn"] = (pg1 - pg0) / args.turns * 1000
            if counter:
                now = counter.snapshot()
                for key in ("SELECT", "INSERT", "UPDATE", "DELETE", "COMMIT"):
                    row[key] = (now.get(key, 0) - counts0.get(key, 0)) / args.turns
            rounds.append(row)
            print("  " + ", ".join(f"{k} {v:.2f}" for k, v in row.items()), flush=True)
        loop.close()
        engine.dispose()
    return rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--turns", type=int, default=1500, help="turns per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--participants", type=int, default=50)
    parser.add_argument("--remembered", action="store_true", help="skip the read when known")
    parser.add_argument("--count", action="store_true", help="also count statements (slower)")
    args = parser.parse_args()
    print(f"the database work of a typed turn on {args.database}, {args.rounds} rounds:")
    rounds = run(args)
    keys = rounds[0].keys()
    print(
        "median: " + ", ".join(f"{k} {statistics.median(r[k] for r in rounds):.2f}" for k in keys)
    )


if __name__ == "__main__":
    main()
