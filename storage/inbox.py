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

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, exists, func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from storage.models import InboxStatus, InboxUpdate, utcnow


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


def store(
    session: Session, *, channel: str, items: Iterable[Incoming], claim_for: str | None = None
) -> list[Claimed]:
    """Store new updates, claimed by worker `claim_for` if given; returns the new ones
    (duplicates are ignored)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stored: list[Claimed] = []
    attempts = 0 if claim_for is None else 1
    for item in items:
        statement = (
            dialect.insert(InboxUpdate)
            .values(
                channel=channel,
                update_id=item.update_id,
                chat_key=item.chat_key,
                payload=item.payload,
                status=InboxStatus.NEW,
                claimed_by=claim_for,
                attempts=attempts,
                received_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["channel", "update_id"])
            .returning(InboxUpdate.id)
        )
        row_id = session.execute(statement).scalar()
        if row_id is not None:  # None: delivered before, it is (being) processed already
            stored.append(Claimed(row_id, item.update_id, item.chat_key, item.payload, attempts))
    return stored


def head(session: Session, *, channel: str, chat_key: str) -> InboxUpdate | None:
    """The oldest unprocessed update of a chat."""
    return session.exec(
        select(InboxUpdate)
        .where(
            InboxUpdate.channel == channel,
            InboxUpdate.chat_key == chat_key,
            InboxUpdate.status == InboxStatus.NEW,
        )
        .order_by(col(InboxUpdate.update_id))
        .limit(1)
    ).first()


def claim(session: Session, *, row: InboxUpdate, worker_id: str, alive: set[str]) -> bool:
    """Claim `row` for `worker_id` unless a live worker has it (`worker_id` included: then it
    is being processed here already)."""
    if row.claimed_by is not None and (row.claimed_by == worker_id or row.claimed_by in alive):
        return False
    result = session.connection().execute(
        update(InboxUpdate)
        .where(
            col(InboxUpdate.id) == row.id,
            col(InboxUpdate.status) == InboxStatus.NEW,
            (col(InboxUpdate.claimed_by).is_(None))
            if row.claimed_by is None
            else (col(InboxUpdate.claimed_by) == row.claimed_by),
        )
        .values(claimed_by=worker_id, attempts=InboxUpdate.attempts + 1)
    )
    return int(result.rowcount) == 1


def finish(session: Session, *, row_id: int, worker_id: str) -> bool:
    """Mark done, in the transaction of the update's effects. False when another worker took
    the update over, or an older update of the chat is still unprocessed (then this
    transaction must roll back)."""
    older = aliased(InboxUpdate)
    result = session.connection().execute(
        update(InboxUpdate)
        .where(
            col(InboxUpdate.id) == row_id,
            col(InboxUpdate.status) == InboxStatus.NEW,
            col(InboxUpdate.claimed_by) == worker_id,
            ~exists().where(
                col(older.status) == InboxStatus.NEW,
                col(older.chat_key) == col(InboxUpdate.chat_key),
                col(older.channel) == col(InboxUpdate.channel),
                col(older.update_id) < col(InboxUpdate.update_id),
            ),
        )
        .values(status=InboxStatus.DONE, processed_at=utcnow(), payload=None)
    )
    return int(result.rowcount) == 1


def release(session: Session, *, row_ids: Iterable[int], worker_id: str) -> None:
    """Give claimed updates back, to be taken in order by whoever comes next."""
    ids = list(row_ids)
    if not ids:
        return
    session.connection().execute(
        update(InboxUpdate)
        .where(col(InboxUpdate.id).in_(ids), col(InboxUpdate.claimed_by) == worker_id)
        .values(claimed_by=None)
    )


def pending_chats(session: Session, *, channel: str, limit: int = 1000) -> list[str]:
    """Chats with unprocessed updates (for the sweep after a restart or another's crash)."""
    rows = session.exec(
        select(InboxUpdate.chat_key, func.min(InboxUpdate.id))
        .where(InboxUpdate.channel == channel, InboxUpdate.status == InboxStatus.NEW)
        .group_by(col(InboxUpdate.chat_key))
        .order_by(func.min(InboxUpdate.id))
        .limit(limit)
    ).all()
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
