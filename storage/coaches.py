"""Coaches and the regions they cover."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.models import OPEN_STATUSES, Case, Coach, CoachRegion, Union


class CoachExists(Exception):
    """A coach with this Telegram id is already registered."""


@dataclass(frozen=True, slots=True)
class CoachLoad:
    coach: Coach
    regions: tuple[str, ...]
    open_cases: int


def add_coach(
    session: Session,
    *,
    name: str,
    telegram_id: int,
    union: Union,
    regions: Iterable[str],
    capacity: int = 10,
) -> Coach:
    if session.exec(select(Coach).where(Coach.telegram_id == telegram_id)).first():
        raise CoachExists(str(telegram_id))
    coach = Coach(name=name, telegram_id=telegram_id, union=union, capacity=capacity)
    session.add(coach)
    session.flush()
    assert coach.id is not None
    for code in sorted(set(regions)):
        session.add(CoachRegion(coach_id=coach.id, region_code=code))
    session.flush()
    return coach


def get_coach(session: Session, *, coach_id: int) -> Coach | None:
    return session.get(Coach, coach_id)


def get_coach_by_telegram_id(session: Session, *, telegram_id: int) -> Coach | None:
    return session.exec(select(Coach).where(Coach.telegram_id == telegram_id)).first()


def set_coach_active(session: Session, *, coach: Coach, active: bool) -> None:
    coach.active = active
    session.add(coach)


def coach_regions(session: Session, *, coach_id: int) -> tuple[str, ...]:
    statement = (
        select(CoachRegion.region_code)
        .where(CoachRegion.coach_id == coach_id)
        .order_by(col(CoachRegion.region_code))
    )
    return tuple(session.exec(statement).all())


def list_coaches(session: Session, *, include_inactive: bool = True) -> list[CoachLoad]:
    open_cases = (
        select(col(Case.coach_id), func.count())
        .where(col(Case.status).in_(OPEN_STATUSES), col(Case.coach_id).is_not(None))
        .group_by(col(Case.coach_id))
    )
    counts = {coach_id: count for coach_id, count in session.execute(open_cases).all()}
    statement = select(Coach).order_by(col(Coach.name))
    if not include_inactive:
        statement = statement.where(col(Coach.active).is_(True))
    return [
        CoachLoad(coach, coach_regions(session, coach_id=coach.id or 0), counts.get(coach.id, 0))
        for coach in session.exec(statement).all()
    ]


def pick_coach(
    session: Session, *, region_code: str, exclude: Collection[int] = ()
) -> Coach | None:
    """The active coach covering the region with the fewest open cases, within capacity,
    skipping the coaches in `exclude` (those who declined the case).

    Ties go to the coach registered first, so assignment is predictable.
    """
    open_cases = (
        select(col(Case.coach_id).label("coach_id"), func.count().label("n"))
        .where(col(Case.status).in_(OPEN_STATUSES), col(Case.coach_id).is_not(None))
        .group_by(col(Case.coach_id))
        .subquery()
    )
    load = func.coalesce(open_cases.c.n, 0)
    statement = (
        select(Coach)
        .join(CoachRegion, col(CoachRegion.coach_id) == col(Coach.id))
        .outerjoin(open_cases, open_cases.c.coach_id == col(Coach.id))
        .where(
            col(Coach.active).is_(True),
            CoachRegion.region_code == region_code,
            load < col(Coach.capacity),
            col(Coach.id).not_in(list(exclude)),
        )
        .order_by(load, col(Coach.id))
        .limit(1)
    )
    return session.exec(statement).first()
