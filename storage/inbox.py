"""The inbox: every incoming update, stored before the channel confirms it.

An update is stored already claimed by the worker that received it, which processes it at once
without reading it back (`store(claim_for=…)`). Its `done` mark commits in the same transaction
as everything the update caused, and only if no older update of the chat is still unprocessed:
a chat's updates run in order, also with several processes. Otherwise (or after a restart, or
another worker's death) the update is released and taken the slow way: the oldest new update
of a chat is claimed (`head`, `claim`). A duplicate delivery (Telegram re-sends, two webhook
workers) finds the update already stored and is dropped.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import Boolean, Table, bindparam, case, delete, exists, func, null, select, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from storage import claims
from storage.claims import Holder
from storage.models import InboxStatus, InboxUpdate, utcnow
from storage.statements import Db, PerDialect, connection_of, insert_for

_TABLE = cast(Table, InboxUpdate.__table__)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Incoming:
    update_id: int
    chat_key: str
    payload: str  # the update as JSON


@dataclass(frozen=True, slots=True)
class Claimed:
    """An update claimed by this worker, to process."""

    id: int
    update_id: int
    chat_key: str
    payload: str
    attempts: int
    # When this process got it (time.monotonic()): the turn's NLU budget and the "one moment"
    # notice count from here (bot/nlu/admission.py).
    received: float = field(default_factory=time.monotonic, compare=False)


def store(
    db: Db, *, channel: str, items: Iterable[Incoming], claim_for: str | None = None
) -> list[Claimed]:
    """Store new updates, claimed by worker `claim_for` if given; returns the new ones
    (duplicates are ignored). In a session's transaction or on a bare connection's."""
    items = list(items)
    if not items:
        return []
    statement = _STORE.of(db)
    attempts = 0 if claim_for is None else 1
    now = utcnow()
    # All in one statement (one round trip for a poll's batch); duplicates return no row.
    returned = connection_of(db).execute(
        statement,
        [
            {
                "channel_": channel,
                "update_id_": item.update_id,
                "chat_key_": item.chat_key,
                "payload_": item.payload,
                "worker_": claim_for,
                "attempts_": attempts,
                "now_": now,
                "claimed_": claim_for is not None,
            }
            for item in items
        ],
    )
    ids = {int(update_id): int(row_id) for row_id, update_id in returned}
    stored: list[Claimed] = []
    for item in items:
        row_id = ids.pop(item.update_id, None)
        if row_id is not None:  # None: delivered before, it is (being) processed already
            stored.append(Claimed(row_id, item.update_id, item.chat_key, item.payload, attempts))
    return stored


@dataclass(frozen=True, slots=True)
class Head:
    """The oldest unprocessed update of a chat, with its claim as read."""

    id: int
    update_id: int
    chat_key: str
    payload: str | None
    attempts: int
    holder: Holder


def head(session: Session, *, channel: str, chat_key: str) -> Head | None:
    """The oldest unprocessed update of a chat."""
    t = _TABLE
    row = (
        session.connection()
        .execute(
            select(
                t.c.id,
                t.c.update_id,
                t.c.chat_key,
                t.c.payload,
                t.c.attempts,
                t.c.claimed_by,
                t.c.claimed_at,
                claims.is_stale(t, claims.dialect_of(session)),
            )
            .where(
                t.c.channel == channel,
                t.c.chat_key == chat_key,
                t.c.status == InboxStatus.NEW,
            )
            .order_by(t.c.update_id)
            .limit(1)
        )
        .first()
    )
    if row is None:
        return None
    row_id, update_id, key, payload, attempts, by, at, stale = row
    return Head(row_id, update_id, key, payload, attempts, Holder(by, at, bool(stale)))


def claim(
    session: Session,
    *,
    row: Head,
    worker_id: str,
    alive: Collection[str],
    in_hand: Collection[int] = (),
) -> bool:
    """Claim `row` for `worker_id` unless someone works on it: a live worker that renews its
    claim, or this worker itself (`in_hand`: the rows this process holds)."""
    if not claims.may_take(
        row.holder, row_id=row.id, worker_id=worker_id, alive=alive, in_hand=in_hand
    ):
        return False
    return claims.take(
        session,
        _TABLE,
        row_id=row.id,
        seen=row.holder,
        worker_id=worker_id,
        where=[_TABLE.c.status == InboxStatus.NEW],
        values={"attempts": _TABLE.c.attempts + 1},
    )


def finish(session: Session, *, row_id: int, worker_id: str) -> bool:
    """Mark done, in the transaction of the update's effects. False when another worker took
    the update over, or an older update of the chat is still unprocessed (then this
    transaction must roll back)."""
    result = session.connection().execute(
        _FINISH, {"row_id_": row_id, "worker_": worker_id, "now_": utcnow()}
    )
    return int(result.rowcount) == 1


def release(session: Session, *, row_ids: Iterable[int], worker_id: str) -> None:
    """Give claimed updates back, to be taken in order by whoever comes next."""
    claims.release(session, _TABLE, ids=list(row_ids), worker_id=worker_id)


def renew(session: Session, *, row_ids: Collection[int], worker_id: str) -> None:
    """The updates this worker holds are still being worked on."""
    claims.renew(session, _TABLE, ids=row_ids, worker_id=worker_id)


def pending_chats(session: Session, *, channel: str, limit: int = 1000) -> list[str]:
    """Chats with unprocessed updates (for the sweep after a restart or another's crash)."""
    t = _TABLE
    rows = session.connection().execute(
        select(t.c.chat_key, func.min(t.c.id))
        .where(t.c.channel == channel, t.c.status == InboxStatus.NEW)
        .group_by(t.c.chat_key)
        .order_by(func.min(t.c.id))
        .limit(limit)
    )
    return [chat for chat, _ in rows]


def purge_done(session: Session, *, older_than: timedelta) -> int:
    """Forget processed updates (Telegram re-delivers for at most 24 hours)."""
    result = session.connection().execute(
        delete(InboxUpdate).where(
            col(InboxUpdate.status) == InboxStatus.DONE,
            col(InboxUpdate.received_at) < utcnow() - older_than,
        )
    )
    return int(result.rowcount)


# Hot-path statements, built once (SQLAlchemy then finds their compiled form in its cache).
def _store_statement(dialect: str) -> Any:
    """Insert one update unless it is known (Telegram re-delivers), returning its id."""
    return (
        insert_for(dialect)(InboxUpdate)
        .values(
            channel=bindparam("channel_"),
            update_id=bindparam("update_id_"),
            chat_key=bindparam("chat_key_"),
            payload=bindparam("payload_"),
            status=InboxStatus.NEW,
            claimed_by=bindparam("worker_"),
            claimed_at=case(
                (bindparam("claimed_", type_=Boolean), claims.clock(dialect)), else_=null()
            ),
            attempts=bindparam("attempts_"),
            received_at=bindparam("now_"),
        )
        .on_conflict_do_nothing(index_elements=["channel", "update_id"])
        .returning(col(InboxUpdate.id), col(InboxUpdate.update_id))
    )


_STORE = PerDialect(_store_statement)


_OLDER = aliased(InboxUpdate)
_FINISH = (
    update(InboxUpdate)
    .where(
        col(InboxUpdate.id) == bindparam("row_id_"),
        col(InboxUpdate.status) == InboxStatus.NEW,
        col(InboxUpdate.claimed_by) == bindparam("worker_"),
        ~exists().where(
            col(_OLDER.status) == InboxStatus.NEW,
            col(_OLDER.chat_key) == col(InboxUpdate.chat_key),
            col(_OLDER.channel) == col(InboxUpdate.channel),
            col(_OLDER.update_id) < col(InboxUpdate.update_id),
        ),
    )
    .values(status=InboxStatus.DONE, processed_at=bindparam("now_"), payload=None)
)
