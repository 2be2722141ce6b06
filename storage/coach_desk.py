"""What coaches do with a case after the handoff: accept, decline, relay, hand back, close.

Builds on storage.cases / storage.coaches (cases, coaches, case events). Adds the relay switch
(`case_relay`): while it is on, the participant's messages go to the coach and the bot's flows
stay quiet. Every step is a case event with its time, for statistics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, func
from sqlmodel import Field, Session, SQLModel, col, select

from storage.cases import CaseEventKind, add_case_event
from storage.coaches import pick_coach
from storage.models import (
    OPEN_STATUSES,
    Case,
    CaseEvent,
    CaseStatus,
    Coach,
    Participant,
    utcnow,
)


class DeskEvent:
    ACCEPTED = "accepted"
    DECLINED = "declined"
    HANDED_BACK = "handed_back"
    RELAY_RESUMED = "relay_resumed"
    CLOSED = "closed"


class CaseRelay(SQLModel, table=True):
    __tablename__ = "case_relay"

    case_id: int = Field(
        sa_column=Column(Integer, ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    )
    participant_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("participants.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    coach_id: int = Field(foreign_key="coaches.id")
    active: bool = Field(default=True, index=True)
    updated_at: datetime = Field(default_factory=utcnow)


@dataclass(frozen=True, slots=True)
class ActiveRelay:
    case: Case
    coach: Coach


def coach_by_telegram_id(session: Session, *, telegram_id: int) -> Coach | None:
    """The active coach with this Telegram id (inactive coaches have no coach rights)."""
    return session.exec(
        select(Coach).where(Coach.telegram_id == telegram_id, col(Coach.active).is_(True))
    ).first()


def case_of_coach(session: Session, *, case_id: int, coach_id: int) -> Case | None:
    """The case if it is assigned to this coach, else None (no difference between a case that
    does not exist and one of someone else: coaches learn nothing about other cases)."""
    case = session.get(Case, case_id)
    return case if case is not None and case.coach_id == coach_id else None


def open_cases_of_coach(session: Session, *, coach_id: int) -> Sequence[Case]:
    return session.exec(
        select(Case)
        .where(Case.coach_id == coach_id, col(Case.status).in_(OPEN_STATUSES))
        .order_by(col(Case.id))
    ).all()


def declined_by(session: Session, *, case_id: int) -> set[int]:
    rows = session.exec(
        select(CaseEvent.coach_id).where(
            CaseEvent.case_id == case_id, CaseEvent.kind == DeskEvent.DECLINED
        )
    ).all()
    return {coach_id for coach_id in rows if coach_id is not None}


def accept_case(session: Session, *, case: Case, coach: Coach) -> None:
    assert case.id is not None and coach.id is not None
    case.status = CaseStatus.ACCEPTED
    case.updated_at = utcnow()
    session.add(case)
    add_case_event(session, case=case, kind=DeskEvent.ACCEPTED, coach_id=coach.id)
    _set_relay(session, case=case, coach_id=coach.id, active=True)


def decline_case(session: Session, *, case: Case, coach: Coach) -> Coach | None:
    """Record the decline and reassign: the next coach, or None for the coordinator."""
    assert case.id is not None and coach.id is not None
    add_case_event(session, case=case, kind=DeskEvent.DECLINED, coach_id=coach.id)
    session.flush()
    excluded = declined_by(session, case_id=case.id) | {coach.id}
    # Leave this coach's load out of the count before choosing the next one.
    case.coach_id = None
    session.add(case)
    session.flush()
    following = (
        pick_coach(session, region_code=case.region_code, exclude=excluded)
        if case.region_code
        else None
    )
    case.updated_at = utcnow()
    if following is not None:
        case.coach_id = following.id
        case.status = CaseStatus.ASSIGNED
        add_case_event(session, case=case, kind=CaseEventKind.ASSIGNED, coach_id=following.id)
    else:
        case.status = CaseStatus.NEW
        add_case_event(
            session,
            case=case,
            kind=CaseEventKind.TO_COORDINATOR,
            detail={"reason": "declined by every coach"},
        )
    session.add(case)
    return following


def set_relay(session: Session, *, case: Case, active: bool) -> None:
    """Hand the participant back to the bot (False) or resume the live chat (True)."""
    assert case.id is not None and case.coach_id is not None
    relay = session.get(CaseRelay, case.id)
    if relay is not None and relay.active == active:
        return
    _set_relay(session, case=case, coach_id=case.coach_id, active=active)
    kind = DeskEvent.RELAY_RESUMED if active else DeskEvent.HANDED_BACK
    add_case_event(session, case=case, kind=kind, coach_id=case.coach_id)


def close_case(session: Session, *, case: Case, outcome: str) -> None:
    now = utcnow()
    case.status = CaseStatus.CLOSED
    case.updated_at = now
    case.closed_at = now
    session.add(case)
    add_case_event(
        session,
        case=case,
        kind=DeskEvent.CLOSED,
        coach_id=case.coach_id,
        detail={"outcome": outcome},
    )
    if case.coach_id is not None:
        _set_relay(session, case=case, coach_id=case.coach_id, active=False)


def relay_active(session: Session, *, case_id: int) -> bool:
    relay = session.get(CaseRelay, case_id)
    return bool(relay and relay.active)


def active_relay_of_participant(session: Session, *, participant_id: int) -> ActiveRelay | None:
    row = session.exec(
        select(Case, Coach)
        .join(CaseRelay, col(CaseRelay.case_id) == col(Case.id))
        .join(Coach, col(Coach.id) == col(Case.coach_id))
        .where(
            CaseRelay.participant_id == participant_id,
            col(CaseRelay.active).is_(True),
            Case.status == CaseStatus.ACCEPTED,
        )
        .order_by(col(Case.id).desc())
        .limit(1)
    ).first()
    return ActiveRelay(row[0], row[1]) if row else None


def participant_of(session: Session, *, case: Case) -> Participant | None:
    return session.get(Participant, case.participant_id)


def case_counts(session: Session) -> dict[str, int]:
    rows = session.exec(select(Case.status, func.count()).group_by(Case.status)).all()
    return {status: count for status, count in rows}


def _set_relay(session: Session, *, case: Case, coach_id: int, active: bool) -> None:
    assert case.id is not None
    relay = session.get(CaseRelay, case.id)
    if relay is None:
        relay = CaseRelay(case_id=case.id, participant_id=case.participant_id, coach_id=coach_id)
    relay.coach_id = coach_id
    relay.active = active
    relay.updated_at = utcnow()
    session.add(relay)
