"""Follow-ups: how it went, four weeks after acceptance (for statistics)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from storage.cases import add_case_event
from storage.models import Case, CaseEventKind, FollowUp


def record_follow_up(
    session: Session, *, participant_id: int, rating: int, remark: str | None
) -> None:
    """Store the answer with the case the follow-up was about (the latest one asked)."""
    case = session.exec(
        select(Case)
        .where(Case.participant_id == participant_id, col(Case.follow_up_sent_at).is_not(None))
        .order_by(col(Case.follow_up_sent_at).desc())
        .limit(1)
    ).first()
    if case is None or case.id is None:
        return
    session.add(FollowUp(case_id=case.id, rating=max(1, min(5, rating)), remark=remark))
    add_case_event(
        session, case=case, kind=CaseEventKind.FOLLOW_UP_GIVEN, detail={"rating": rating}
    )
