"""What the desk pages show, read in the request's transaction: case rows with age and SLA
state, a case with its conversation, events and notes, the coordinator's region."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from bot.desk.people import card_of
from bot.desk.pressed import logged_payload, pressed_label
from bot.desk.render import card_lines, status_text
from bot.flows.flowset import FlowSet
from bot.flows.models import Language
from bot.scheduler.calendar import add_working_days, local
from bot.scheduler.timings import Timings
from storage.models import OPEN_STATUSES, Case, CaseEvent, CaseStatus, Coach, MessageLog
from storage.web import CaseNote, notes_of

CLOSED_SHOWN = 50


@dataclass(frozen=True)
class CaseRow:
    id: int
    name: str
    region: str
    status: str
    status_label: str
    age: str
    sla: str  # ok, reminded, late, done
    coach: str


def age(since: datetime, now: datetime) -> str:
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} u"
    return f"{seconds // 86400} d"


def sla_state(case: Case, timings: Timings, now: datetime) -> str:
    """Where an assigned case stands against the coach's response time (working days)."""
    if case.status != CaseStatus.ASSIGNED or case.assigned_at is None:
        return "waiting" if case.status == CaseStatus.NEW else "done"
    if now >= add_working_days(case.assigned_at, timings.coach_escalation_working_days):
        return "late"
    if now >= add_working_days(case.assigned_at, timings.coach_reminder_working_days):
        return "reminded"
    return "ok"


def status_label(flows: FlowSet, status: str, language: str) -> str:
    return status_text(flows, status, "en" if language == "en" else "nl")


def rows(
    session: Session,
    cases: Sequence[Case],
    *,
    flows: FlowSet,
    timings: Timings,
    now: datetime,
    language: str,
) -> list[CaseRow]:
    names = coach_names(session, ids={case.coach_id for case in cases if case.coach_id})
    out = []
    for case in cases:
        assert case.id is not None
        card = card_of(case)
        out.append(
            CaseRow(
                id=case.id,
                name=card.first_name,
                region=card.region,
                status=case.status,
                status_label=status_label(flows, case.status, language),
                age=age(case.created_at, now),
                sla=sla_state(case, timings, now),
                coach=names.get(case.coach_id or 0, "–"),
            )
        )
    return out


def coach_names(session: Session, *, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    found = session.exec(select(Coach.id, Coach.name).where(col(Coach.id).in_(ids))).all()
    return {coach_id or 0: name for coach_id, name in found}


def cases_of_coach(session: Session, *, coach_id: int, closed: bool) -> Sequence[Case]:
    statement = select(Case).where(Case.coach_id == coach_id)
    if closed:
        statement = (
            statement.where(Case.status == CaseStatus.CLOSED)
            .order_by(col(Case.closed_at).desc())
            .limit(CLOSED_SHOWN)
        )
    else:
        statement = statement.where(col(Case.status).in_(OPEN_STATUSES)).order_by(col(Case.id))
    return session.exec(statement).all()


def region_cases(
    session: Session, *, regions: Sequence[str] | None, statuses: Sequence[str]
) -> Sequence[Case]:
    """Cases of these regions (None: every region, for admins) in these states, oldest first."""
    statement = select(Case).where(col(Case.status).in_(list(statuses)))
    if regions is not None:
        statement = statement.where(col(Case.region_code).in_(list(regions)))
    return session.exec(statement.order_by(col(Case.id))).all()


@dataclass(frozen=True)
class Line:
    at: str
    who: str
    text: str
    detail: str = ""
    pressed: bool = False  # a button the participant pressed ("[v:yes]" in the log)


def conversation(session: Session, case: Case, *, flows: FlowSet, limit: int = 200) -> list[Line]:
    """The participant's messages the bot kept: text is stored only with their consent. A
    pressed button shows its label as the participant read it, never its payload."""
    found = session.exec(
        select(MessageLog)
        .where(MessageLog.participant_id == case.participant_id, col(MessageLog.text).is_not(None))
        .order_by(col(MessageLog.id).desc())
        .limit(limit)
    ).all()
    language: Language = "en" if case.language == "en" else "nl"
    out = []
    for m in reversed(found):
        text = m.text or ""
        payload = logged_payload(text) if m.direction == "in" else None
        shown = pressed_label(flows, payload, flow=m.flow, language=language) if payload else text
        at = local(m.created_at).strftime("%d-%m %H:%M")
        out.append(Line(at, m.direction, shown, "", payload is not None))
    return out


def events(session: Session, case: Case) -> list[Line]:
    found = session.exec(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(col(CaseEvent.id))
    ).all()
    names = coach_names(session, ids={e.coach_id for e in found if e.coach_id})
    out = []
    for event in found:
        detail = event.detail or {}
        extra = ", ".join(f"{k}: {v}" for k, v in detail.items() if v is not None and k != "from")
        out.append(
            Line(
                local(event.created_at).strftime("%d-%m-%Y %H:%M"),
                names.get(event.coach_id or 0, ""),
                event.kind,
                extra,
            )
        )
    return out


def notes(session: Session, case: Case) -> list[CaseNote]:
    assert case.id is not None
    return list(notes_of(session, case_id=case.id))


def summary(flows: FlowSet, case: Case, language: str) -> list[tuple[str, str]]:
    return card_lines(flows, card_of(case), "en" if language == "en" else "nl")
