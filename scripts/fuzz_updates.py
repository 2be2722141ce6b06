"""Fuzz the whole bot with odd Telegram updates (issue 21) and count the give-ups.

    .venv/bin/python scripts/fuzz_updates.py                       # 3,000 on SQLite and PostgreSQL
    .venv/bin/python scripts/fuzz_updates.py --count 500 --database sqlite --seed 7

The bot runs as `careerbot run` assembles it, against the fake Bot API (tests/fake_telegram),
with the NLU down (keywords and buttons). On PostgreSQL the script makes a database of its own
(fuzz_<random>, dropped afterwards). What is sent: tests/telegram/fuzz.py. A give-up is an
update the bot put to rest with its apology after failing on it again and again; the goal is 0.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy  # noqa: E402

from storage.database import upgrade  # noqa: E402
from tests.telegram.fuzz import Figures, run_fuzz  # noqa: E402

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


async def fuzz_sqlite(count: int, seed: int) -> Figures:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'fuzz.db'}"
        upgrade(url)
        return await run_fuzz(url, database="SQLite", count=count, seed=seed, progress=True)


async def fuzz_postgres(count: int, seed: int, server: str) -> Figures:
    name = f"fuzz_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
    url = server.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        return await run_fuzz(url, database="PostgreSQL", count=count, seed=seed, progress=True)
    finally:
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=3000, help="updates per database")
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--postgres", default=POSTGRES, help="a server URL to make the database on")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    results: list[Figures] = []
    if args.database in ("sqlite", "both"):
        results.append(asyncio.run(fuzz_sqlite(args.count, args.seed)))
        print(results[-1].line(), flush=True)
    if args.database in ("postgres", "both"):
        results.append(asyncio.run(fuzz_postgres(args.count, args.seed, args.postgres)))
        print(results[-1].line(), flush=True)
    for figures in results:
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(figures.kinds.items()))
        print(f"{figures.database}: {kinds}")
    return 0 if all(f.give_ups == 0 and f.unprocessed == 0 for f in results) else 1


if __name__ == "__main__":
    sys.exit(main())
