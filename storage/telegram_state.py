"""Telegram channel state: pressed keyboards, long button payloads and the outbox.

The outbox holds every Bot API call the bot must make, written in the transaction of the update
(or the coach action, or the scheduled job) that caused it, so that nothing is sent that was
not stored, and nothing stored is lost. Rows of one chat are sent in `id` order: only the head
of a chat's queue can be claimed. A claim belongs to a worker; it is void once that worker's
heartbeat stops (see storage/workers.py), so a killed process stalls a chat only seconds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Text, delete, func, update
from sqlmodel import Field, Session, SQLModel, col, select

from storage.models import utcnow


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a worker, the call may be under way
    SENT = "sent"
    FAILED = "failed"  # refused for good by Telegram (blocked bot, bad request)


class TelegramKeyboardPress(SQLModel, table=True):
    """An inline keyboard that was already answered: a second press is ignored."""

    __tablename__ = "telegram_keyboard_press"

    chat_id: int = Field(sa_type=BigInteger, primary_key=True)
    message_id: int = Field(sa_type=BigInteger, primary_key=True)
    pressed_at: datetime = Field(default_factory=utcnow)


class TelegramCallbackPayload(SQLModel, table=True):
    """Button payloads too long for Telegram's 64-byte callback data, stored by digest."""

    __tablename__ = "telegram_callback_payload"

    key: str = Field(primary_key=True, max_length=24)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class TelegramOutbox(SQLModel, table=True):
    """One Bot API call to make, in `id` order per chat."""

    __tablename__ = "telegram_outbox"
    __table_args__ = (Index("ix_telegram_outbox_chat_status_id", "chat_id", "status", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_type=BigInteger)
    method: str = Field(max_length=40)
    payload: str = Field(sa_column=Column(Text, nullable=False))  # JSON parameters
    # What this message is about ("case:12"), to map a coach's reply back to a case.
    ref: str | None = Field(default=None, max_length=64, index=True)
    # What it is for ("case_card"): a case card Telegram refuses moves the case on.
    kind: str | None = Field(default=None, max_length=32)
    status: str = Field(default=OutboxStatus.PENDING, max_length=16, index=True)
    claimed_by: str | None = Field(default=None, max_length=40)
    attempts: int = 0
    not_before: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
    message_id: int | None = Field(default=None, sa_type=BigInteger)
    error: str | None = Field(default=None, max_length=200)  # error class, never message text

    def params(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.payload)
        return value


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A Bot API call to queue: `method` with JSON-serialisable `params` for `chat_id`."""

    chat_id: int
    method: str
    params: dict[str, Any]
    ref: str | None = None
    kind: str | None = None


# -- keyboards and long payloads ---------------------------------------------------------------


def is_keyboard_pressed(session: Session, *, chat_id: int, message_id: int) -> bool:
    return session.get(TelegramKeyboardPress, (chat_id, message_id)) is not None


def mark_keyboard_pressed(session: Session, *, chat_id: int, message_id: int) -> None:
    session.add(TelegramKeyboardPress(chat_id=chat_id, message_id=message_id))


def store_callback_payload(session: Session, *, payload: str) -> str:
    """Store a long payload (in the caller's transaction); returns its short, stable key."""
    key = hashlib.sha256(payload.encode()).hexdigest()[:24]
    if session.get(TelegramCallbackPayload, key) is None:
        session.add(TelegramCallbackPayload(key=key, payload=payload))
        session.flush()
    return key


def load_callback_payload(session: Session, *, key: str) -> str | None:
    row = session.get(TelegramCallbackPayload, key)
    return row.payload if row else None


# -- outbox ------------------------------------------------------------------------------------


def _row(item: Outgoing, claimed_by: str | None = None) -> TelegramOutbox:
    return TelegramOutbox(
        chat_id=item.chat_id,
        method=item.method,
        payload=json.dumps(item.params, ensure_ascii=False),
        ref=item.ref,
        kind=item.kind,
        status=OutboxStatus.PENDING if claimed_by is None else OutboxStatus.SENDING,
        claimed_by=claimed_by,
    )


def enqueue(session: Session, *, outgoing: Iterable[Outgoing]) -> list[int]:
    """Queue calls in the caller's transaction; their ids once flushed."""
    rows = [_row(item) for item in outgoing]
    if not rows:
        return []
    session.add_all(rows)
    session.flush()
    return [row.id for row in rows if row.id is not None]


@dataclass(frozen=True, slots=True)
class Enqueued:
    claimed: list[TelegramOutbox]  # born claimed by the worker: to send now, in this order
    waiting: list[int]  # chats whose new rows queue behind unsent ones (claimed the slow way)


def enqueue_claimed(session: Session, *, outgoing: Iterable[Outgoing], worker_id: str) -> Enqueued:
    """Queue calls in the caller's transaction, claimed by `worker_id` where nothing of the
    chat is unsent yet, so that the worker sends them without claiming them one by one.

    Rows of a chat with unsent rows stay pending behind them: the order per chat holds.
    """
    items = list(outgoing)
    if not items:
        return Enqueued([], [])
    chats = list(dict.fromkeys(item.chat_id for item in items))
    busy = set(
        session.exec(
            select(TelegramOutbox.chat_id)
            .where(
                col(TelegramOutbox.chat_id).in_(chats),
                col(TelegramOutbox.status).in_((OutboxStatus.PENDING, OutboxStatus.SENDING)),
            )
            .distinct()
        ).all()
    )
    rows = [_row(item, None if item.chat_id in busy else worker_id) for item in items]
    session.add_all(rows)
    session.flush()
    return Enqueued([row for row in rows if row.claimed_by is not None], sorted(busy))


def chats_with_pending(session: Session) -> list[int]:
    rows = session.exec(
        select(TelegramOutbox.chat_id)
        .where(col(TelegramOutbox.status).in_((OutboxStatus.PENDING, OutboxStatus.SENDING)))
        .distinct()
    ).all()
    return list(rows)


@dataclass(frozen=True, slots=True)
class Claim:
    row: TelegramOutbox | None
    # When nothing could be claimed because the head waits (429, backoff): when to look again.
    retry_at: datetime | None = None


def claim_head(session: Session, *, chat_id: int, worker_id: str, alive: set[str]) -> Claim:
    """Claim the oldest unsent call of a chat for `worker_id` (commit to make it count).

    Nothing is claimed while a live worker sends the head: order per chat holds across
    processes. A head left "sending" by a dead worker may or may not have reached Telegram
    (the Bot API has no idempotency key); it is sent again rather than lost.
    """
    statement = (
        select(TelegramOutbox)
        .where(
            TelegramOutbox.chat_id == chat_id,
            col(TelegramOutbox.status).in_((OutboxStatus.PENDING, OutboxStatus.SENDING)),
        )
        .order_by(col(TelegramOutbox.id))
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    head = session.exec(statement).first()
    if head is None:
        return Claim(None)
    if head.status == OutboxStatus.SENDING and (
        head.claimed_by == worker_id or head.claimed_by in alive
    ):
        return Claim(None)
    now = utcnow()
    if head.not_before is not None and head.not_before > now:
        return Claim(None, retry_at=head.not_before)
    result = session.connection().execute(
        update(TelegramOutbox)
        .where(
            col(TelegramOutbox.id) == head.id,
            col(TelegramOutbox.status) == head.status,
            (col(TelegramOutbox.claimed_by).is_(None))
            if head.claimed_by is None
            else (col(TelegramOutbox.claimed_by) == head.claimed_by),
        )
        .values(status=OutboxStatus.SENDING, claimed_by=worker_id)
    )
    if result.rowcount != 1:
        return Claim(None)
    session.expunge(head)  # a plain copy now: what the UPDATE wrote, without reading it back
    head.status, head.claimed_by = OutboxStatus.SENDING, worker_id
    return Claim(head)


def _settle(session: Session, outbox_id: int, worker_id: str, **values: Any) -> bool:
    result = session.connection().execute(
        update(TelegramOutbox)
        .where(col(TelegramOutbox.id) == outbox_id, col(TelegramOutbox.claimed_by) == worker_id)
        .values(attempts=TelegramOutbox.attempts + 1, **values)
    )
    return int(result.rowcount) == 1


def mark_sent(session: Session, *, outbox_id: int, worker_id: str, message_id: int | None) -> bool:
    return _settle(
        session,
        outbox_id,
        worker_id,
        status=OutboxStatus.SENT,
        sent_at=utcnow(),
        message_id=message_id,
        claimed_by=None,
    )


def mark_retry(
    session: Session, *, outbox_id: int, worker_id: str, not_before: datetime, error: str
) -> bool:
    return _settle(
        session,
        outbox_id,
        worker_id,
        status=OutboxStatus.PENDING,
        not_before=not_before,
        claimed_by=None,
        error=error[:200],
    )


def mark_failed(session: Session, *, outbox_id: int, worker_id: str, error: str) -> bool:
    return _settle(
        session,
        outbox_id,
        worker_id,
        status=OutboxStatus.FAILED,
        claimed_by=None,
        error=error[:200],
    )


def delete_sent(session: Session, *, outbox_id: int, worker_id: str) -> None:
    """A sent row that only held personal data to deliver it: gone."""
    session.connection().execute(
        delete(TelegramOutbox).where(
            col(TelegramOutbox.id) == outbox_id, col(TelegramOutbox.claimed_by) == worker_id
        )
    )


def release(session: Session, *, outbox_ids: Iterable[int], worker_id: str) -> None:
    """Give claimed rows back unsent (the process stops, or the chat's head must wait)."""
    ids = list(outbox_ids)
    if not ids:
        return
    session.connection().execute(
        update(TelegramOutbox)
        .where(
            col(TelegramOutbox.id).in_(ids),
            col(TelegramOutbox.claimed_by) == worker_id,
            col(TelegramOutbox.status) == OutboxStatus.SENDING,
        )
        .values(status=OutboxStatus.PENDING, claimed_by=None)
    )


def ref_of_message(session: Session, *, chat_id: int, message_id: int) -> str | None:
    """The `ref` of a message the bot sent (e.g. "case:12"), for replies to it."""
    return session.exec(
        select(TelegramOutbox.ref).where(
            TelegramOutbox.chat_id == chat_id,
            TelegramOutbox.message_id == message_id,
            TelegramOutbox.status == OutboxStatus.SENT,
        )
    ).first()


def outbox_counts(session: Session) -> dict[str, int]:
    rows = session.exec(
        select(TelegramOutbox.status, func.count()).group_by(TelegramOutbox.status)
    ).all()
    return {status: count for status, count in rows}
