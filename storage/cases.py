"""Cases: a handoff from the bot to a coach (or the coordinator), and every step of it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, col, select

from storage.coaches import pick_coach
from storage.models import Case, CaseEvent, CaseStatus, Coach, utcnow


class CaseEventKind:
    CREATED = "created"
    ASSIGNED = "assigned"
    TO_COORDINATOR = "to_coordinator"


def add_case_event(
    session: Session,
    *,
    case: Case,
    kind: str,
    coach_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> CaseEvent:
    assert case.id is not None
    event = CaseEvent(case_id=case.id, kind=kind, coach_id=coach_id, detail=detail)
    session.add(event)
    return event


def create_case(
    session: Session,
    *,
    participant_id: int,
    region_code: str | None,
    topic: str | None,
    language: str,
    summary: list[dict[str, str]],
) -> tuple[Case, Coach | None]:
    """Create the case and assign it: a coach for the region, else the coordinator (None)."""
    coach = pick_coach(session, region_code=region_code) if region_code else None
    case = Case(
        participant_id=participant_id,
        region_code=region_code,
        topic=topic,
        language=language,
        summary=summary,
        coach_id=coach.id if coach else None,
        status=CaseStatus.ASSIGNED if coach else CaseStatus.NEW,
    )
    session.add(case)
    session.flush()
    add_case_event(session, case=case, kind=CaseEventKind.CREATED)
    if coach is not None:
        add_case_event(session, case=case, kind=CaseEventKind.ASSIGNED, coach_id=coach.id)
    else:
        add_case_event(
            session,
            case=case,
            kind=CaseEventKind.TO_COORDINATOR,
            detail={"reason": "no region" if region_code is None else "no coach available"},
        )
    return case, coach


def set_case_status(session: Session, *, case: Case, status: CaseStatus) -> None:
    case.status = status
    case.updated_at = utcnow()
    if status is CaseStatus.CLOSED:
        case.closed_at = case.updated_at
    session.add(case)
    add_case_event(session, case=case, kind=status.value)


def get_case(session: Session, *, case_id: int) -> Case | None:
    return session.get(Case, case_id)


def list_cases(session: Session, *, participant_id: int) -> Sequence[Case]:
    statement = select(Case).where(Case.participant_id == participant_id).order_by(col(Case.id))
    return session.exec(statement).all()


def list_case_events(session: Session, *, case_id: int) -> Sequence[CaseEvent]:
    statement = select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(col(CaseEvent.id))
    return session.exec(statement).all()
