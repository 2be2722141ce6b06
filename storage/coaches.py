"""Coaches, the regions they cover, and their load."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import delete, func
from sqlalchemy.sql.selectable import Subquery
from sqlmodel import Session, col, select

from storage.models import OPEN_STATUSES, Case, Coach, CoachRegion, Role, Union


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
    role: Role = Role.COACH,
) -> Coach:
    if session.exec(select(Coach).where(Coach.telegram_id == telegram_id)).first():
        raise CoachExists(str(telegram_id))
    coach = Coach(name=name, telegram_id=telegram_id, union=union, capacity=capacity, role=role)
    session.add(coach)
    session.flush()
    assert coach.id is not None
    set_regions(session, coach_id=coach.id, regions=regions)
    return coach


def set_regions(session: Session, *, coach_id: int, regions: Iterable[str]) -> None:
    session.execute(delete(CoachRegion).where(col(CoachRegion.coach_id) == coach_id))
    for code in sorted(set(regions)):
        session.add(CoachRegion(coach_id=coach_id, region_code=code))
    session.flush()


def coach_by_telegram_id(session: Session, *, telegram_id: int) -> Coach | None:
    return session.exec(select(Coach).where(Coach.telegram_id == telegram_id)).first()


def active_coach_by_telegram_id(session: Session, *, telegram_id: int) -> Coach | None:
    """Coach rights belong to active coaches only."""
    return session.exec(
        select(Coach).where(Coach.telegram_id == telegram_id, col(Coach.active).is_(True))
    ).first()


def get_coach(session: Session, *, coach_id: int) -> Coach | None:
    return session.get(Coach, coach_id)


def coach_regions(session: Session, *, coach_id: int) -> tuple[str, ...]:
    statement = (
        select(CoachRegion.region_code)
        .where(CoachRegion.coach_id == coach_id)
        .order_by(col(CoachRegion.region_code))
    )
    return tuple(session.exec(statement).all())


def _open_counts() -> Subquery:
    return (
        select(col(Case.coach_id).label("coach_id"), func.count().label("n"))
        .where(col(Case.status).in_(OPEN_STATUSES), col(Case.coach_id).is_not(None))
        .group_by(col(Case.coach_id))
        .subquery()
    )


def list_coaches(session: Session, *, include_inactive: bool = True) -> list[CoachLoad]:
    counts = _open_counts()
    statement = (
        select(Coach, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.coach_id == col(Coach.id))
        .order_by(col(Coach.name))
    )
    if not include_inactive:
        statement = statement.where(col(Coach.active).is_(True))
    return [
        CoachLoad(coach, coach_regions(session, coach_id=coach.id or 0), int(load))
        for coach, load in session.exec(statement).all()
    ]


def coaches_for_region(
    session: Session, *, region_code: str, exclude: Collection[int] = ()
) -> list[CoachLoad]:
    """Active, reachable coaches covering the region with room for a case, least loaded first.

    Ties go to the coach registered first, so assignment is predictable. Call with the
    region locked (storage.database.lock_key) when assigning, so that two handoffs at once
    cannot both take a coach's last place.
    """
    counts = _open_counts()
    load = func.coalesce(counts.c.n, 0)
    statement = (
        select(Coach, load)
        .join(CoachRegion, col(CoachRegion.coach_id) == col(Coach.id))
        .outerjoin(counts, counts.c.coach_id == col(Coach.id))
        .where(
            col(Coach.active).is_(True),
            col(Coach.role) == Role.COACH,
            col(Coach.unreachable_since).is_(None),
            CoachRegion.region_code == region_code,
            load < col(Coach.capacity),
            col(Coach.id).not_in(list(exclude)),
        )
        .order_by(load, col(Coach.id))
    )
    return [CoachLoad(coach, (region_code,), int(n)) for coach, n in session.exec(statement).all()]


def pick_coach(
    session: Session, *, region_code: str, exclude: Collection[int] = ()
) -> Coach | None:
    """The coach a new case of this region goes to, or None (the coordinator then)."""
    found = coaches_for_region(session, region_code=region_code, exclude=exclude)
    return found[0].coach if found else None
