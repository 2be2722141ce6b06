"""Cases (a handoff from the bot to a coach or the coordinator), their events and the relay.

Query and write helpers only; what may happen to a case, and who is told, is the coach desk's
business (bot/desk/).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.models import (
    OPEN_STATUSES,
    Case,
    CaseEvent,
    CaseEventKind,
    CaseRelay,
    Coach,
    Participant,
    utcnow,
)


def add_case_event(
    session: Session,
    *,
    case: Case,
    kind: CaseEventKind,
    coach_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    assert case.id is not None
    session.add(CaseEvent(case_id=case.id, kind=kind.value, coach_id=coach_id, detail=detail))


def create_case(
    session: Session,
    *,
    participant_id: int,
    region_code: str | None,
    topic: str | None,
    language: str,
    summary: list[dict[str, str]],
) -> Case:
    case = Case(
        participant_id=participant_id,
        region_code=region_code,
        topic=topic,
        language=language,
        summary=summary,
    )
    session.add(case)
    session.flush()
    add_case_event(session, case=case, kind=CaseEventKind.CREATED)
    return case


def touch(case: Case) -> None:
    case.updated_at = utcnow()


def get_case(session: Session, *, case_id: int) -> Case | None:
    return session.get(Case, case_id)


def open_case_of_participant(session: Session, *, participant_id: int) -> Case | None:
    return session.exec(
        select(Case).where(
            Case.participant_id == participant_id, col(Case.status).in_(OPEN_STATUSES)
        )
    ).first()


def case_of_coach(session: Session, *, case_id: int, coach_id: int) -> Case | None:
    """The case if it is assigned to this coach, else None (a case that does not exist and one
    of someone else look the same: coaches learn nothing about other cases)."""
    case = session.get(Case, case_id)
    return case if case is not None and case.coach_id == coach_id else None


def open_cases_of_coach(session: Session, *, coach_id: int) -> Sequence[Case]:
    return session.exec(
        select(Case)
        .where(Case.coach_id == coach_id, col(Case.status).in_(OPEN_STATUSES))
        .order_by(col(Case.id))
    ).all()


def coaches_who_declined(session: Session, *, case_id: int) -> set[int]:
    rows = session.exec(
        select(CaseEvent.coach_id).where(
            CaseEvent.case_id == case_id,
            col(CaseEvent.kind).in_(
                (
                    CaseEventKind.DECLINED.value,
                    CaseEventKind.COACH_UNREACHABLE.value,
                    CaseEventKind.COACH_DEACTIVATED.value,
                    CaseEventKind.ESCALATED.value,
                )
            ),
        )
    ).all()
    return {coach_id for coach_id in rows if coach_id is not None}


def count_case_events(
    session: Session, *, case_id: int, kind: CaseEventKind, since: datetime
) -> int:
    statement = select(func.count()).where(
        CaseEvent.case_id == case_id,
        CaseEvent.kind == kind.value,
        col(CaseEvent.created_at) >= since,
    )
    return int(session.exec(statement).one())


def list_case_events(session: Session, *, case_id: int) -> Sequence[CaseEvent]:
    statement = select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(col(CaseEvent.id))
    return session.exec(statement).all()


def participant_of(session: Session, *, case: Case) -> Participant | None:
    return session.get(Participant, case.participant_id)


def case_counts(session: Session) -> dict[str, int]:
    rows = session.exec(select(Case.status, func.count()).group_by(Case.status)).all()
    return {status: count for status, count in rows}


# -- the relay (live chat) ---------------------------------------------------------------------


def set_relay(session: Session, *, case: Case, coach_id: int, active: bool) -> bool:
    """Turn the relay on or off; True when that changed something."""
    assert case.id is not None
    relay = session.get(CaseRelay, case.id)
    if relay is not None and relay.active == active and relay.coach_id == coach_id:
        return False
    if relay is None:
        if not active:
            return False
        relay = CaseRelay(case_id=case.id, participant_id=case.participant_id, coach_id=coach_id)
    relay.coach_id = coach_id
    relay.active = active
    relay.updated_at = utcnow()
    session.add(relay)
    return True


def relay_active(session: Session, *, case_id: int) -> bool:
    relay = session.get(CaseRelay, case_id)
    return bool(relay and relay.active)


def active_relay_of_participant(
    session: Session, *, participant_id: int
) -> tuple[Case, Coach] | None:
    """The live chat of a participant: only with an accepted case of an active coach."""
    row = session.exec(
        select(Case, Coach)
        .join(CaseRelay, col(CaseRelay.case_id) == col(Case.id))
        .join(Coach, col(Coach.id) == col(Case.coach_id))
        .where(
            CaseRelay.participant_id == participant_id,
            col(CaseRelay.active).is_(True),
            Case.status == "accepted",
            col(Coach.active).is_(True),
        )
        .order_by(col(Case.id).desc())
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else None
