"""Callback data for inline buttons, within Telegram's 64-byte limit.

Prefixes keep participants and coaches apart: a participant can never forge a coach action,
because coach actions are also checked against the sender (see coach.py).

- ``p:<payload>``  a participant button carrying the engine's payload
- ``h:<key>``      a participant payload too long to fit, stored in the database by digest
- ``c:<verb>:<n>`` a coach action on case n (accept, decline)
- ``x``            a button that was already pressed (only acknowledged)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from telegram.constants import InlineKeyboardButtonLimit

MAX_CALLBACK_BYTES = int(InlineKeyboardButtonLimit.MAX_CALLBACK_DATA)
DONE = "x"


def fits(data: str) -> bool:
    return 1 <= len(data.encode()) <= MAX_CALLBACK_BYTES


def participant_data(payload: str, store_long: Callable[[str], str]) -> str:
    """Callback data for an engine payload; `store_long` persists one that does not fit."""
    data = f"p:{payload}"
    return data if fits(data) else f"h:{store_long(payload)}"


def coach_data(verb: str, case_id: int) -> str:
    return f"c:{verb}:{case_id}"


@dataclass(frozen=True, slots=True)
class Parsed:
    kind: str  # "participant", "stored", "coach", "done", "unknown"
    value: str = ""
    verb: str = ""
    case_id: int = 0


def parse(data: str | None) -> Parsed:
    if not data:
        return Parsed("unknown")
    if data == DONE:
        return Parsed("done")
    if data.startswith("p:"):
        return Parsed("participant", data[2:])
    if data.startswith("h:"):
        return Parsed("stored", data[2:])
    if data.startswith("c:"):
        parts = data.split(":", 2)
        if len(parts) == 3 and parts[2].isdigit():
            return Parsed("coach", verb=parts[1], case_id=int(parts[2]))
    return Parsed("unknown")
