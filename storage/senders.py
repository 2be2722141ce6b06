"""Who sent an update, in one statement: a coach (active or not), a participant, and whether that
participant is in a live chat with a coach. Read once per transaction (`UpdateContext.sender`):
before the turn to decide whether it is a participant's turn, and again in the turn's
transaction, where it decides (a live chat may have started meanwhile)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from storage.models import Case, CaseRelay, Coach, Participant


@dataclass(frozen=True, slots=True)
class Sender:
    coach_id: int | None  # a coach with this Telegram id (active or not)
    participant_id: int | None  # a participant on this channel with this id
    live_case_id: int | None  # their live chat: accepted case, active relay, active coach


_RELAY_COACH = Coach.__table__.alias("relay_coach")  # type: ignore[attr-defined]

_COACH = (
    sa_select(col(Coach.id))
    .where(col(Coach.telegram_id) == bindparam("tid"))
    .limit(1)
    .scalar_subquery()
)
_PARTICIPANT = (
    sa_select(col(Participant.id))
    .where(
        col(Participant.channel) == bindparam("channel"),
        col(Participant.external_id) == bindparam("ext"),
    )
    .limit(1)
    .scalar_subquery()
)
_LIVE = (
    sa_select(col(Case.id))
    .join(CaseRelay, col(CaseRelay.case_id) == col(Case.id))
    .join(_RELAY_COACH, _RELAY_COACH.c.id == col(Case.coach_id))
    .where(
        col(CaseRelay.participant_id) == _PARTICIPANT,
        col(CaseRelay.active).is_(True),
        col(Case.status) == "accepted",
        _RELAY_COACH.c.active.is_(True),
    )
    .order_by(col(Case.id).desc())
    .limit(1)
    .scalar_subquery()
)
# Built once; SQLAlchemy compiles it once per dialect and caches it.
_WHO = sa_select(_COACH.label("coach"), _PARTICIPANT.label("participant"), _LIVE.label("live"))


def sender_of(session: Session, *, channel: str, telegram_id: int) -> Sender:
    row = (
        session.connection()
        .execute(_WHO, {"tid": telegram_id, "channel": channel, "ext": str(telegram_id)})
        .one()
    )
    return Sender(row.coach, row.participant, row.live)
