"""The life of a case, in one place: its states, who may move it, and the one helper that
records each step.

    new (coordinator) ──assign──► assigned (coach) ──accept──► accepted ──close──► closed
                                   │  ▲   decline, coach gone            │ hand back / resume
                                   └──┴── next coach of the region, else the coordinator

    assigned ──close──► closed   (a request the coach closes without taking it up)

Every change of a case goes through `record`: the event row (with its time, for statistics and
SLAs) and the case's `updated_at` move together.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from bot.desk.notices import CoachRef
from bot.flows.catalogue import Key
from storage import cases as store
from storage.database import lock_key
from storage.models import Case, CaseEventKind, CaseStatus

# Which coach action is allowed in which state (both desks, Telegram and the web).
ALLOWED: dict[str, frozenset[str]] = {
    "accept": frozenset({CaseStatus.ASSIGNED}),
    "decline": frozenset({CaseStatus.ASSIGNED}),
    "message": frozenset({CaseStatus.ACCEPTED}),
    "hand_back": frozenset({CaseStatus.ACCEPTED}),
    "close": frozenset({CaseStatus.ASSIGNED, CaseStatus.ACCEPTED}),
    "note": frozenset({CaseStatus.ASSIGNED, CaseStatus.ACCEPTED, CaseStatus.CLOSED}),
    "show": frozenset({CaseStatus.NEW, CaseStatus.ASSIGNED, CaseStatus.ACCEPTED, "closed"}),
}

# Why an action is refused, by the state the case is in (catalogue texts, flows/texts.yml).
REFUSAL: dict[str, Key] = {
    CaseStatus.ASSIGNED: Key.DESK_ACCEPT_FIRST,
    CaseStatus.ACCEPTED: Key.DESK_ALREADY_ACCEPTED,
    CaseStatus.CLOSED: Key.DESK_CASE_IS_CLOSED,
}
NOT_YOURS = Key.DESK_NOT_YOURS


def allowed(action: str, status: str) -> bool:
    return status in ALLOWED[action]


def actions_in(status: str) -> list[str]:
    """What a coach may do with a case in `status` (the buttons a desk shows)."""
    return [action for action, states in ALLOWED.items() if status in states]


def record(
    session: Session,
    case: Case,
    kind: CaseEventKind,
    *,
    coach: CoachRef | int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """One step of a case: its event (timestamped) and the case's last change."""
    coach_id = coach.id if isinstance(coach, CoachRef) else coach
    store.touch(case)
    session.add(case)
    store.add_case_event(session, case=case, kind=kind, coach_id=coach_id, detail=detail)


def locked_case(session: Session, case_id: int) -> Case | None:
    """The case, read fresh under its lock (two desks acting at once take turns)."""
    lock_key(session, f"case:{case_id}")
    case = store.get_case(session, case_id=case_id)
    if case is not None:
        session.refresh(case)
    return case
