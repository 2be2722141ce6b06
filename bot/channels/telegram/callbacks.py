"""Callback data for inline buttons, within Telegram's 64-byte limit.

Prefixes keep participants and coaches apart: a participant can never forge a coach action,
because desk actions are also checked against the sender (routers/coach.py, coordinator.py).

- ``p:<payload>``         a participant button carrying the engine's payload
- ``h:<key>``             a participant payload too long to fit, stored in the database
- ``c:<verb>:<n>[:<m>]``  a desk action on case n (accept, decline; assign to coach m)
- ``x``                   a button that was already pressed (only acknowledged)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from telegram.constants import InlineKeyboardButtonLimit

from bot.desk.notices import Action, Verb
from storage.models import MAX_ID

MAX_CALLBACK_BYTES = int(InlineKeyboardButtonLimit.MAX_CALLBACK_DATA)
DONE = "x"
# ASCII digits only: "²".isdigit() is True, and int("²") raises.
_DESK = re.compile(r"c:(acc|dec|asg):([0-9]{1,12})(?::([0-9]{1,12}))?")


def fits(data: str) -> bool:
    return 1 <= len(data.encode()) <= MAX_CALLBACK_BYTES


def participant_data(payload: str, store_long: Callable[[str], str]) -> str:
    """Callback data for an engine payload; `store_long` persists one that does not fit."""
    data = f"p:{payload}"
    return data if fits(data) else f"h:{store_long(payload)}"


def desk_data(action: Action) -> str:
    tail = f":{action.coach.id}" if action.verb is Verb.ASSIGN and action.coach else ""
    return f"c:{action.verb.value}:{action.case_id}{tail}"


@dataclass(frozen=True, slots=True)
class Parsed:
    kind: str  # "participant", "stored", "desk", "done", "unknown"
    value: str = ""
    verb: Verb | None = None
    case_id: int = 0
    coach_id: int = 0


def parse(data: str | None) -> Parsed:
    """What a button press asks for. Data the bot never makes (control characters such as NUL,
    ids beyond what the database holds) is "unknown": nothing happens, nothing fails."""
    if not data or not data.isprintable():
        return Parsed("unknown")
    if data == DONE:
        return Parsed("done")
    if data.startswith("p:"):
        return Parsed("participant", data[2:])
    if data.startswith("h:"):
        return Parsed("stored", data[2:])
    if match := _DESK.fullmatch(data):
        verb, case, coach = match.groups()
        case_id, coach_id = int(case), int(coach or 0)
        if case_id > MAX_ID or coach_id > MAX_ID:
            return Parsed("unknown")
        return Parsed("desk", verb=Verb(verb), case_id=case_id, coach_id=coach_id)
    return Parsed("unknown")
