"""Telegram channel state: processed updates, pressed keyboards and the outgoing outbox.

Why in the database: an update re-delivered after a crash must not be answered twice, and a
reply that could not be sent yet (429, 5xx, network down, restart) must not be lost. The update
mark and its replies are written in one transaction, so either both exist or neither does.

Times are aware UTC (SQLModel's UTCDateTime stores them as UTC on SQLite and PostgreSQL alike).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Text, delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select


def utcnow() -> datetime:
    return datetime.now(UTC)


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # permanently refused by Telegram (blocked bot, bad request)


class TelegramProcessedUpdate(SQLModel, table=True):
    __tablename__ = "telegram_processed_update"

    update_id: int = Field(sa_type=BigInteger, primary_key=True)
    processed_at: datetime = Field(default_factory=utcnow, index=True)


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
    # What this message is about (e.g. "case:12"), to map a coach's reply back to a case.
    ref: str | None = Field(default=None, max_length=64, index=True)
    status: str = Field(default=OutboxStatus.PENDING, max_length=16, index=True)
    attempts: int = 0
    not_before: datetime | None = None
    claimed_until: datetime | None = None
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


# -- updates -----------------------------------------------------------------------------------


def is_update_processed(*, session: Session, update_id: int) -> bool:
    return session.get(TelegramProcessedUpdate, update_id) is not None


def is_keyboard_pressed(*, session: Session, chat_id: int, message_id: int) -> bool:
    return session.get(TelegramKeyboardPress, (chat_id, message_id)) is not None


def record_update(
    *,
    session: Session,
    update_id: int,
    outgoing: Sequence[Outgoing],
    pressed: tuple[int, int] | None = None,
) -> list[int] | None:
    """Mark `update_id` processed and queue its replies in one transaction.

    Returns the new outbox ids, or None when the update (or the keyboard) was already handled
    by someone else, in which case nothing is written.
    """
    session.add(TelegramProcessedUpdate(update_id=update_id))
    if pressed is not None:
        session.add(TelegramKeyboardPress(chat_id=pressed[0], message_id=pressed[1]))
    rows = [_row(item) for item in outgoing]
    session.add_all(rows)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return None
    return [row.id for row in rows if row.id is not None]


def purge_processed_updates(*, session: Session, older_than: timedelta) -> int:
    """Forget update marks older than `older_than` (Telegram re-delivers only for ~24 h)."""
    cutoff = utcnow() - older_than
    result = session.exec(
        delete(TelegramProcessedUpdate).where(col(TelegramProcessedUpdate.processed_at) < cutoff)
    )
    session.commit()
    return int(result.rowcount)


# -- callback payloads -------------------------------------------------------------------------


def store_callback_payload(*, session: Session, payload: str) -> str:
    """Store a long payload and return its short key (stable: same payload, same key)."""
    key = hashlib.sha256(payload.encode()).hexdigest()[:24]
    if session.get(TelegramCallbackPayload, key) is None:
        session.add(TelegramCallbackPayload(key=key, payload=payload))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
    return key


def load_callback_payload(*, session: Session, key: str) -> str | None:
    row = session.get(TelegramCallbackPayload, key)
    return row.payload if row else None


# -- outbox ------------------------------------------------------------------------------------


def _row(item: Outgoing) -> TelegramOutbox:
    return TelegramOutbox(
        chat_id=item.chat_id,
        method=item.method,
        payload=json.dumps(item.params, ensure_ascii=False),
        ref=item.ref,
    )


def enqueue(*, session: Session, outgoing: Iterable[Outgoing]) -> list[int]:
    rows = [_row(item) for item in outgoing]
    session.add_all(rows)
    session.commit()
    return [row.id for row in rows if row.id is not None]


def chats_with_pending(*, session: Session) -> list[int]:
    rows = session.exec(
        select(TelegramOutbox.chat_id)
        .where(TelegramOutbox.status == OutboxStatus.PENDING)
        .distinct()
    ).all()
    return list(rows)


def retry_now(*, session: Session) -> int:
    """Forget the backoff of every pending call (at start-up: retry at once, in order)."""
    result = session.exec(
        update(TelegramOutbox)
        .where(
            col(TelegramOutbox.status) == OutboxStatus.PENDING,
            col(TelegramOutbox.not_before).is_not(None),
        )
        .values(not_before=None)
    )
    session.commit()
    return int(result.rowcount)


def claim_next(*, session: Session, chat_id: int, lease: timedelta) -> TelegramOutbox | None:
    """Claim the oldest pending call of a chat, or None if there is none or it is leased.

    Only the head of the chat's queue is ever claimed, so order holds even with several
    workers; the lease makes a crashed worker's row available again.
    """
    now = utcnow()
    head = session.exec(
        select(TelegramOutbox)
        .where(TelegramOutbox.chat_id == chat_id, TelegramOutbox.status == OutboxStatus.PENDING)
        .order_by(col(TelegramOutbox.id))
        .limit(1)
    ).first()
    if head is None or (head.claimed_until is not None and head.claimed_until > now):
        return None
    result = session.exec(
        update(TelegramOutbox)
        .where(
            col(TelegramOutbox.id) == head.id,
            col(TelegramOutbox.status) == OutboxStatus.PENDING,
            col(TelegramOutbox.claimed_until).is_(None)
            | (col(TelegramOutbox.claimed_until) <= now),
        )
        .values(claimed_until=now + lease)
    )
    session.commit()
    if result.rowcount != 1:
        return None
    session.refresh(head)
    return head


def mark_sent(*, session: Session, outbox_id: int, message_id: int | None) -> None:
    session.exec(
        update(TelegramOutbox)
        .where(col(TelegramOutbox.id) == outbox_id)
        .values(
            status=OutboxStatus.SENT,
            sent_at=utcnow(),
            message_id=message_id,
            claimed_until=None,
            attempts=TelegramOutbox.attempts + 1,
        )
    )
    session.commit()


def mark_retry(*, session: Session, outbox_id: int, not_before: datetime, error: str) -> None:
    session.exec(
        update(TelegramOutbox)
        .where(col(TelegramOutbox.id) == outbox_id)
        .values(
            not_before=not_before,
            claimed_until=None,
            error=error[:200],
            attempts=TelegramOutbox.attempts + 1,
        )
    )
    session.commit()


def mark_failed(*, session: Session, outbox_id: int, error: str) -> None:
    session.exec(
        update(TelegramOutbox)
        .where(col(TelegramOutbox.id) == outbox_id)
        .values(
            status=OutboxStatus.FAILED,
            claimed_until=None,
            error=error[:200],
            attempts=TelegramOutbox.attempts + 1,
        )
    )
    session.commit()


def ref_of_message(*, session: Session, chat_id: int, message_id: int) -> str | None:
    """The `ref` of a message the bot sent (e.g. "case:12"), for replies to it."""
    return session.exec(
        select(TelegramOutbox.ref).where(
            TelegramOutbox.chat_id == chat_id,
            TelegramOutbox.message_id == message_id,
            TelegramOutbox.status == OutboxStatus.SENT,
        )
    ).first()


def message_ids_for_ref(*, session: Session, ref: str) -> list[tuple[int, int]]:
    """(chat_id, message_id) of every sent message with this ref, oldest first."""
    rows = session.exec(
        select(TelegramOutbox.chat_id, TelegramOutbox.message_id)
        .where(TelegramOutbox.ref == ref, TelegramOutbox.status == OutboxStatus.SENT)
        .order_by(col(TelegramOutbox.id))
    ).all()
    return [(chat, message) for chat, message in rows if message is not None]


def outbox_counts(*, session: Session) -> dict[str, int]:
    rows = session.exec(
        select(TelegramOutbox.status, func.count()).group_by(TelegramOutbox.status)
    ).all()
    return {status: count for status, count in rows}
