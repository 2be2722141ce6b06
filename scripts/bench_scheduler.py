"""One scheduler sweep over 10,000 due items on PostgreSQL, with two workers sweeping at once.

Each run seeds a fresh schema with N participants who left an intake a day ago, then two
processes run the intake-reminder sweep at the same moment; every reminder must be queued
exactly once (the claims). Baseline in the same run: one bare UPDATE of the same N rows (the
floor for touching each item once). Medians of --runs runs.

    .venv/bin/python scripts/bench_scheduler.py [--items 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import time
import uuid
from datetime import timedelta

import sqlalchemy

POSTGRES = os.environ.get(
    "CAREERBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def seed(url: str, items: int) -> None:
    from storage.database import create_db_engine
    from storage.models import utcnow

    engine = create_db_engine(url)
    stale = utcnow() - timedelta(hours=30)
    state = '{"welcomed": true, "consent": true, "stack": [{"flow": "intake", "step": "gemeente"}]}'
    with engine.begin() as conn:
        conn.execute(
            sqlalchemy.text(
                "INSERT INTO participants (channel, external_id, language, created_at, updated_at) "
                "SELECT 'telegram', (100000000 + g)::text, 'nl', :at, :at "
                "FROM generate_series(1, :n) g"
            ),
            {"n": items, "at": stale},
        )
        conn.execute(
            sqlalchemy.text(
                "INSERT INTO conversations (participant_id, version, state, updated_at) "
                "SELECT id, 1, CAST(:state AS json), :at FROM participants"
            ),
            {"state": state, "at": stale},
        )
    engine.dispose()


def sweep_worker(url: str, start_at: float, result: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    from bot.config import PROJECT_ROOT
    from bot.flows.registry import FlowRegistry
    from bot.scheduler.calendar import TZ
    from bot.scheduler.runner import Scheduler
    from storage.database import create_db_engine
    from storage.models import utcnow

    class Noon:
        def now(self):
            return utcnow().astimezone(TZ).replace(hour=12).astimezone(utcnow().tzinfo)

    scheduler = Scheduler(
        engine=create_db_engine(url), flows=FlowRegistry(PROJECT_ROOT / "flows"), clock=Noon()
    )
    time.sleep(max(0.0, start_at - time.time()))
    started = time.perf_counter()
    counts = asyncio.run(scheduler.sweep())
    result.put((counts["intake reminders"], time.perf_counter() - started))


def bare_update(url: str) -> float:
    engine = sqlalchemy.create_engine(url)
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("UPDATE conversations SET reminded_at = now()"))
    engine.dispose()
    return time.perf_counter() - started


def one_run(items: int) -> tuple[float, float, int, int]:
    from storage.database import upgrade

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(POSTGRES)
    with admin.begin() as conn:
        conn.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
    url = f"{POSTGRES}?options=-csearch_path%3D{schema}"
    try:
        upgrade(url)
        seed(url, items)
        queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
        start_at = time.time() + 3  # both sweep at the same moment, after their imports
        workers = [
            multiprocessing.Process(target=sweep_worker, args=(url, start_at, queue))
            for _ in range(2)
        ]
        for worker in workers:
            worker.start()
        results = [queue.get(timeout=600) for _ in workers]
        for worker in workers:
            worker.join()
        engine = sqlalchemy.create_engine(url)
        with engine.connect() as conn:
            queued = conn.execute(
                sqlalchemy.text("SELECT count(DISTINCT chat_id), count(*) FROM telegram_outbox")
            ).one()
        engine.dispose()
        handled = sum(n for n, _ in results)
        assert handled == items and queued[0] == items and queued[1] == 2 * items, (
            handled,
            queued,
        )
        wall = max(seconds for _, seconds in results)
        split = min(n for n, _ in results)
        return wall, bare_update(url), handled, split
    finally:
        with admin.begin() as conn:
            conn.execute(sqlalchemy.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    walls, bares, splits = [], [], []
    for run in range(args.runs):
        print(f"  run {run + 1}/{args.runs}: seeding {args.items} due items…", flush=True)
        wall, bare, handled, split = one_run(args.items)
        walls.append(wall)
        bares.append(bare)
        splits.append(split)
        print(f"    sweep {wall:.2f} s for {handled} items (the smaller worker took {split})")
    wall, bare = statistics.median(walls), statistics.median(bares)
    print(f"scheduler sweep, {args.items} due intake reminders, 2 workers, PostgreSQL, medians:")
    print(f"  sweep wall time {wall:.2f} s ({args.items / wall:.0f} items/s), each exactly once")
    print(f"  bare UPDATE of the same rows {bare:.3f} s: ratio {wall / bare:.0f}x")
    print(f"  load average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
