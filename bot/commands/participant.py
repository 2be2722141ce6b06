"""`careerbot participant export|erase --telegram-id N`: the AVG rights, for admins."""

from __future__ import annotations

import argparse
import sys

from sqlalchemy import Engine

from bot import privacy
from bot.config import get_settings
from storage import privacy as stored
from storage import telegram_state
from storage.database import create_db_engine, session_scope, upgrade


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    participant = subparsers.add_parser("participant", help="export or erase a participant")
    sub = participant.add_subparsers(dest="participant_command", metavar="ACTION", required=True)
    export = sub.add_parser("export", help="print everything held about them as JSON")
    export.add_argument("--telegram-id", type=int, required=True)
    export.set_defaults(func=_export)
    erase = sub.add_parser("erase", help="erase them everywhere (cases stay, anonymously)")
    erase.add_argument("--telegram-id", type=int, required=True)
    erase.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    erase.set_defaults(func=_erase)


def _engine() -> Engine:
    url = get_settings().database_url
    upgrade(url)
    return create_db_engine(url)


def _export(args: argparse.Namespace) -> int:
    with session_scope(_engine()) as session:
        found = privacy.find(session, channel="telegram", external_id=str(args.telegram_id))
        if found is None:
            print(f"no participant with Telegram id {args.telegram_id}", file=sys.stderr)
            return 1
        print(privacy.export_json(session, participant=found))
    return 0


def _erase(args: argparse.Namespace) -> int:
    if not args.yes:
        answer = input(f"Erase everything about Telegram user {args.telegram_id}? [y/N] ")
        if answer.strip().lower() not in {"y", "yes", "j", "ja"}:
            print("nothing erased")
            return 1
    from bot.channels.telegram import render
    from bot.flows.registry import FlowRegistry

    settings = get_settings()
    engine = _engine()
    with session_scope(engine) as session:
        found = privacy.find(session, channel="telegram", external_id=str(args.telegram_id))
        if found is None:
            print(f"no participant with Telegram id {args.telegram_id}", file=sys.stderr)
            return 1
        notices = privacy.erase(session, participant=found, reason="admin")
        flows = FlowRegistry(settings.flows_dir).current
        outgoing = render.notices(flows, notices, coordinator_chat_id=settings.coordinator_chat_id)
        telegram_state.enqueue(session, outgoing=outgoing)
    stored.checkpoint(engine)
    print(f"participant {args.telegram_id} erased")
    return 0
