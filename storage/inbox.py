"""The inbox: every incoming update, stored before the channel confirms it.

Processing takes the oldest new update of a chat (so a chat's updates run in order, also with
several processes), claims it for one worker, and marks it done in the same transaction as
everything the update caused. A duplicate delivery (Telegram re-sends, two webhook workers)
finds the update already stored and is dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.models import InboxStatus, InboxUpdate, utcnow


@dataclass(frozen=True, slots=True)
class Incoming:
    update_id: int
    chat_key: str
    payload: str  # the update as JSON


def store(session: Session, *, channel: str, items: Iterable[Incoming]) -> list[str]:
    """Store new updates; returns the chat keys that got something new (duplicates ignored)."""
    chats: list[str] = []
    for item in items:
        try:
            with session.begin_nested():
                session.add(
                    InboxUpdate(
                        channel=channel,
                        update_id=item.update_id,
                        chat_key=item.chat_key,
                        payload=item.payload,
                    )
                )
        except IntegrityError:
            continue  # delivered before: it is (being) processed already
        if item.chat_key not in chats:
            chats.append(item.chat_key)
    return chats


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
    """Claim `row` for `worker_id` unless a live worker has it."""
    if row.claimed_by is not None and row.claimed_by != worker_id and row.claimed_by in alive:
        return False
    result = session.exec(
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
    the update over (then this transaction must roll back)."""
    result = session.exec(
        update(InboxUpdate)
        .where(
            col(InboxUpdate.id) == row_id,
            col(InboxUpdate.status) == InboxStatus.NEW,
            col(InboxUpdate.claimed_by) == worker_id,
        )
        .values(status=InboxStatus.DONE, processed_at=utcnow(), payload=None)
    )
    return int(result.rowcount) == 1


def release(session: Session, *, row_id: int, worker_id: str) -> None:
    session.exec(
        update(InboxUpdate)
        .where(col(InboxUpdate.id) == row_id, col(InboxUpdate.claimed_by) == worker_id)
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
    result = session.exec(
        delete(InboxUpdate).where(
            col(InboxUpdate.status) == InboxStatus.DONE,
            col(InboxUpdate.received_at) < utcnow() - older_than,
        )
    )
    return int(result.rowcount)
