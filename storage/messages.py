"""The message log: who said what when, with the NLU intent (for audit and statistics)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import insert
from sqlmodel import Session

from storage.models import Direction, MessageLog, utcnow


@dataclass(frozen=True, slots=True)
class LogEntry:
    direction: Direction
    text: str | None
    intent: str | None = None
    confidence: float | None = None
    flow: str | None = None


_INSERT_LOG = insert(MessageLog)


def log_messages(session: Session, *, participant_id: int, entries: Sequence[LogEntry]) -> None:
    """All messages of one turn in one statement (this runs on every turn)."""
    if not entries:
        return
    now = utcnow()
    session.connection().execute(
        _INSERT_LOG,
        [
            {
                "participant_id": participant_id,
                "direction": e.direction.value,
                "text": e.text,
                "intent": e.intent,
                "confidence": e.confidence,
                "flow": e.flow,
                "created_at": now,
            }
            for e in entries
        ],
    )
