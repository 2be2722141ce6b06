"""Claims on inbox and outbox rows: which worker works on a row, since when, and who may take
it over. One compare-and-set for both tables.

A row is claimed by a worker (`claimed_by`) at a time (`claimed_at`, by the database's clock, so
that hosts whose clocks differ agree). A worker renews the claims of the rows it holds with
every heartbeat. Another worker — or the same one — may take a claimed row when:

- its worker is dead (no heartbeat for `workers.DEAD_AFTER`, or its process is gone);
- the claim is this worker's own but nothing in this process holds the row (an orphan: an
  error between a commit and the hand-over to the lane that would have run it);
- the claim was not renewed for `STALE_AFTER` although its worker lives (a lost row in another
  process). No turn or send takes that long: rows being worked on are renewed.

The take itself is a compare-and-set on (claimed_by, claimed_at) as read: of two workers that
saw the same claim, one wins; a renewal in between makes both lose.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, bindparam, func, or_, update
from sqlmodel import Session
from sqlmodel.sql.sqltypes import UTCDateTime

from storage.models import utcnow

STALE_AFTER = timedelta(seconds=30)


def clock(dialect: str, *, minus: timedelta = timedelta(0)) -> ColumnElement[datetime]:
    """Now (`minus` a span) by the database's clock: PostgreSQL's (several hosts may share it);
    SQLite is embedded in this process, so its clock is this machine's, read at execution."""
    if dialect == "postgresql":
        now = func.clock_timestamp(type_=UTCDateTime())
        return now - minus if minus else now
    return bindparam(
        "db_clock", callable_=lambda: utcnow() - minus, type_=UTCDateTime(), unique=True
    )


def dialect_of(session: Session) -> str:
    return session.get_bind().dialect.name


def is_stale(table: Table, dialect: str) -> ColumnElement[bool]:
    """True for a claim nobody renewed for STALE_AFTER (or one without a time)."""
    claimed_at = table.c.claimed_at
    return or_(claimed_at.is_(None), claimed_at < clock(dialect, minus=STALE_AFTER))


@dataclass(frozen=True, slots=True)
class Holder:
    """A row's claim as read: by whom, when, and whether it is stale."""

    claimed_by: str | None
    claimed_at: datetime | None
    stale: bool


def may_take(
    holder: Holder, *, row_id: int, worker_id: str, alive: Collection[str], in_hand: Collection[int]
) -> bool:
    by = holder.claimed_by
    if by is None:
        return True
    if by == worker_id:
        return row_id not in in_hand  # ours, but nothing here works on it
    return by not in alive or holder.stale


def take(
    session: Session,
    table: Table,
    *,
    row_id: int,
    seen: Holder,
    worker_id: str,
    where: Iterable[ColumnElement[bool]] = (),
    values: Mapping[str, Any] | None = None,
) -> bool:
    """Claim `row_id` for `worker_id` if its claim is still the one `seen`."""
    c = table.c
    same_claim = and_(
        c.claimed_by.is_(None) if seen.claimed_by is None else c.claimed_by == seen.claimed_by,
        c.claimed_at.is_(None) if seen.claimed_at is None else c.claimed_at == seen.claimed_at,
    )
    result = session.connection().execute(
        update(table)
        .where(c.id == row_id, same_claim, *where)
        .values(claimed_by=worker_id, claimed_at=clock(dialect_of(session)), **(values or {}))
    )
    return int(result.rowcount) == 1


def renew(session: Session, table: Table, *, ids: Collection[int], worker_id: str) -> None:
    """The rows this worker holds are still being worked on."""
    if not ids:
        return
    c = table.c
    session.connection().execute(
        update(table)
        .where(c.id.in_(list(ids)), c.claimed_by == worker_id)
        .values(claimed_at=clock(dialect_of(session)))
    )


def release(
    session: Session,
    table: Table,
    *,
    ids: Collection[int],
    worker_id: str,
    where: Iterable[ColumnElement[bool]] = (),
    values: Mapping[str, Any] | None = None,
) -> None:
    """Give claimed rows back, to be taken in order by whoever comes next."""
    if not ids:
        return
    c = table.c
    session.connection().execute(
        update(table)
        .where(c.id.in_(list(ids)), c.claimed_by == worker_id, *where)
        .values(claimed_by=None, claimed_at=None, **(values or {}))
    )
