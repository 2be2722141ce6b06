"""`careerbot db upgrade`: apply the Alembic migrations to DATABASE_URL."""

from __future__ import annotations

import argparse

from bot.config import get_settings
from storage.database import upgrade


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = subparsers.add_parser("db", help="database schema")
    sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = sub.add_parser("upgrade", help="apply all migrations (safe to repeat)")
    up.add_argument("--revision", default="head")
    up.set_defaults(func=_upgrade)


def _upgrade(args: argparse.Namespace) -> int:
    upgrade(get_settings().database_url, args.revision)
    print("database is up to date")
    return 0
