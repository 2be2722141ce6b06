"""`careerbot stats [--region R] [--since DATE] [--csv]`: anonymous figures for admins."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from sqlmodel import Session

from bot import stats
from bot.config import get_settings
from bot.gemeenten import resolve_region
from storage.database import create_db_engine, upgrade


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = subparsers.add_parser("stats", help="the funnel, intents, time to accept, ratings")
    command.add_argument("--region", help="a labour-market region: code (AM13) or name")
    command.add_argument("--since", help="from this date on (YYYY-MM-DD)")
    command.add_argument("--csv", action="store_true", help="CSV instead of text")
    command.set_defaults(func=_stats)


def _stats(args: argparse.Namespace) -> int:
    region = None
    if args.region:
        found = resolve_region(args.region)
        if found is None:
            print(f"careerbot: unknown region {args.region!r}", file=sys.stderr)
            return 1
        region = found.code
    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since).replace(tzinfo=UTC)
        except ValueError:
            print("careerbot: --since wants a date like 2026-01-31", file=sys.stderr)
            return 1
    url = get_settings().database_url
    upgrade(url)
    engine = create_db_engine(url)
    with Session(engine) as session:
        figures = stats.collect(session, region=region, since=since)
    print(
        stats.as_csv(figures) if args.csv else stats.as_text(figures), end="" if args.csv else "\n"
    )
    return 0
