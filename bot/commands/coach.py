"""`careerbot coach add|list|deactivate`: manage the coaches that receive handoffs."""

from __future__ import annotations

import argparse
import sys

from sqlalchemy import Engine

from bot.config import get_settings
from bot.flows.catalogue import Key
from bot.gemeenten import resolve_region
from storage.coaches import CoachExists, add_coach, coach_by_telegram_id, list_coaches
from storage.database import create_db_engine, session_scope, upgrade
from storage.models import Union


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    coach = subparsers.add_parser("coach", help="manage coaches")
    sub = coach.add_subparsers(dest="coach_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="register a coach")
    add.add_argument("--name", required=True)
    add.add_argument("--telegram-id", type=int, required=True)
    add.add_argument("--union", required=True, type=str.upper, choices=[u.value for u in Union])
    add.add_argument(
        "--regions", required=True, help="comma-separated CBS codes or names: AM18,Midden-Utrecht"
    )
    add.add_argument("--capacity", type=int, default=10, help="open cases at most (default 10)")
    add.set_defaults(func=_add)
    show = sub.add_parser("list", help="list coaches with their regions and open cases")
    show.set_defaults(func=_list)
    off = sub.add_parser(
        "deactivate",
        help="a coach stops: their live chats end, open cases go to colleagues (participants told)",
    )
    off.add_argument("--telegram-id", type=int, required=True)
    off.set_defaults(func=_deactivate)
    on = sub.add_parser("activate", help="assign new cases to a coach again")
    on.add_argument("--telegram-id", type=int, required=True)
    on.set_defaults(func=_activate)


def _engine() -> Engine:
    url = get_settings().database_url
    upgrade(url)
    return create_db_engine(url)


def parse_regions(text: str) -> tuple[list[str], list[str]]:
    """(codes, unknown parts) for "AM18, Midden-Utrecht"."""
    codes: list[str] = []
    unknown: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        region = resolve_region(part)
        if region is None:
            unknown.append(part)
        elif region.code not in codes:
            codes.append(region.code)
    return codes, unknown


def _add(args: argparse.Namespace) -> int:
    codes, unknown = parse_regions(args.regions)
    if unknown or not codes:
        print(f"unknown region(s): {', '.join(unknown) or '(none given)'}", file=sys.stderr)
        return 1
    if args.capacity < 1:
        print("capacity must be at least 1", file=sys.stderr)
        return 1
    try:
        with session_scope(_engine()) as session:
            coach = add_coach(
                session,
                name=args.name.strip(),
                telegram_id=args.telegram_id,
                union=Union(args.union),
                regions=codes,
                capacity=args.capacity,
            )
            coach_id = coach.id
    except CoachExists:
        print(f"a coach with Telegram id {args.telegram_id} already exists", file=sys.stderr)
        return 1
    print(f"coach {coach_id} added for {', '.join(codes)}")
    return 0


def _list(args: argparse.Namespace) -> int:
    with session_scope(_engine()) as session:
        loads = list_coaches(session)
    if not loads:
        print(
            "no coaches yet: careerbot coach add --name ... --telegram-id ... --union FNV --regions AM18"
        )
        return 0
    print(
        f"{'id':>4}  {'name':<24} {'union':<5} {'telegram':>12} {'open':>4}/{'cap':<4} {'active':<6} regions"
    )
    for load in loads:
        c = load.coach
        print(
            f"{c.id:>4}  {c.name[:24]:<24} {c.union:<5} {c.telegram_id:>12} "
            f"{load.open_cases:>4}/{c.capacity:<4} {'yes' if c.active else 'no':<6} "
            f"{','.join(load.regions)}"
        )
    return 0


def _deactivate(args: argparse.Namespace) -> int:
    """The desk moves the coach's cases on; what people must be told goes to the Telegram
    outbox in the same transaction, and the running bot sends it."""
    from bot.channels.telegram import render
    from bot.desk import service as desk
    from bot.desk.notices import Notice, To
    from bot.flows.registry import FlowRegistry
    from storage import telegram_state

    settings = get_settings()
    flows = FlowRegistry(settings.flows_dir).current
    with session_scope(_engine()) as session:
        coach = coach_by_telegram_id(session, telegram_id=args.telegram_id)
        if coach is None:
            print(f"no coach with Telegram id {args.telegram_id}", file=sys.stderr)
            return 1
        if not coach.active:
            print(f"coach {args.telegram_id} was already deactivated")
            return 0
        notices = desk.deactivate(session, coach=coach)
        farewell = Notice(To.COACH, Key.DESK_COACH_STOPPED, coach=desk.coach_ref(coach))
        outgoing = render.notices(
            flows, [*notices, farewell], coordinator_chat_id=settings.coordinator_chat_id
        )
        telegram_state.enqueue(session, outgoing=outgoing)
        moved = len({n.case_id for n in notices if n.case_id is not None})
    print(f"coach {args.telegram_id} deactivated; {moved} open case(s) handed over")
    return 0


def _activate(args: argparse.Namespace) -> int:
    with session_scope(_engine()) as session:
        coach = coach_by_telegram_id(session, telegram_id=args.telegram_id)
        if coach is None:
            print(f"no coach with Telegram id {args.telegram_id}", file=sys.stderr)
            return 1
        coach.active = True
        session.add(coach)
    print(f"coach {args.telegram_id} activated")
    return 0
