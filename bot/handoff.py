"""The handoff hook: what a channel implements to tell a coach (or the coordinator) about a case.

The Telegram channel implements `HandoffNotifier` with a message and Accept/Decline buttons;
the terminal chat prints what the coach would receive.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.engine.effects import SummaryLine


@dataclass(frozen=True, slots=True)
class CoachView:
    id: int
    name: str
    telegram_id: int
    union: str


@dataclass(frozen=True, slots=True)
class CaseView:
    """Everything a notification needs, detached from the database session."""

    case_id: int
    participant_id: int
    channel: str  # where the participant talks to the bot ("telegram", "terminal")
    external_id: str  # their id on that channel (the Telegram user id)
    language: str
    topic: str | None
    region_code: str | None
    region_name: str | None
    coach: CoachView | None  # None: the case went to the coordinator
    coordinator_chat_id: int | None
    summary: tuple[SummaryLine, ...]
    created_at: datetime
    first_name: str | None = None
    contact_method: str | None = None  # option value: phone, email, telegram


class HandoffNotifier(Protocol):
    async def case_created(self, case: CaseView) -> None:
        """Called once per new case, after it is stored. Exceptions are logged, not raised."""
        ...


def format_case(case: CaseView) -> str:
    """A plain-text rendering of a case, as a coach would read it (Dutch)."""
    to = (
        f"coach {case.coach.name} ({case.coach.union}, Telegram {case.coach.telegram_id})"
        if case.coach
        else f"coördinator (chat {case.coordinator_chat_id or 'niet ingesteld'})"
    )
    region = f"{case.region_name} ({case.region_code})" if case.region_code else "onbekend"
    lines = [
        f"Nieuwe aanvraag #{case.case_id} voor {to}",
        f"Regio: {region}",
        f"Taal: {case.language}",
        *(f"{line.label}: {line.value}" for line in case.summary),
    ]
    return "\n".join(lines)


class PrintingNotifier:
    """Terminal chat: show what the coach would receive."""

    def __init__(self, write: Callable[[str], None] = print) -> None:
        self._write = write

    async def case_created(self, case: CaseView) -> None:
        body = format_case(case).replace("\n", "\n   | ")
        self._write(f"\n   [bericht aan de coach]\n   | {body}\n")
