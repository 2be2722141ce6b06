"""Telegram channel state: pressed keyboards, long button payloads and the outbox.

The outbox holds every Bot API call the bot must make, written in the transaction of the update
(or the coach action, or the scheduled job) that caused it, so that nothing is sent that was
not stored, and nothing stored is lost. Rows of one chat are sent in `id` order: only the head
of a chat's queue can be claimed. A claim belongs to a worker; it is void once that worker's
heartbeat stops or it is no longer renewed (see storage/claims.py), so a killed process or a
lost row stalls a chat only seconds.

Two statuses besides the usual ones:

- ``held``: a participant's "I passed your details to Anna" waits until Anna's case card has
  been delivered (`release_held`); if Telegram refuses the card, it is dropped (`drop_held`) and
  the participant is told who really has the case.
- ``superseded``: a flood. When a chat already has FLOOD_BACKLOG unsent messages and a newer turn
  of that chat queues its replies, the unsent replies of the older turns are dropped (their text
  blanked): the person gets the answer to where the conversation is now, not one per message.
  Only conversation replies (kind ``reply``) are dropped, never a coach's message, a notice about
  a case or a data export.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Table,
    Text,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    null,
    or_,
    update,
)
from sqlalchemy import select as sa_select
from sqlalchemy.orm import configure_mappers, instrumentation
from sqlmodel import Field, Session, SQLModel, col, select

from storage import claims
from storage.claims import Holder
from storage.models import utcnow
from storage.statements import Db, PerDialect, connection_of, insert_for

# A chat with this many unsent messages is flooded: older turns' replies give way to newer ones.
FLOOD_BACKLOG = 8
REPLY_KIND = "reply"  # a conversation reply to a participant: may be superseded in a flood
# The update whose turn is running (set by the inbox dispatcher): its outbox rows name it
# (`turn`), so a reply is attributed to its turn exactly, not by timing.
CURRENT_TURN: ContextVar[int | None] = ContextVar("current_turn", default=None)


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a worker, the call may be under way
    SENT = "sent"
    FAILED = "failed"  # refused for good by Telegram (blocked bot, bad request)
    HELD = "held"  # waits for the delivery of the coach card of its case (`ref`)
    SUPERSEDED = "superseded"  # a flood: a newer turn of the chat answered instead


UNSENT = (OutboxStatus.PENDING, OutboxStatus.SENDING)


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
    claimed_at: datetime | None = None  # the claim's last renewal, by the database's clock
    attempts: int = 0
    not_before: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
    message_id: int | None = Field(default=None, sa_type=BigInteger)
    error: str | None = Field(default=None, max_length=200)  # error class, never message text
    turn: int | None = Field(default=None, sa_type=BigInteger)  # update_id of the turn, if any

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
    # Sent only once the coach card of its case (`ref`) is delivered; dropped if it is refused.
    held: bool = False


# -- keyboards and long payloads ---------------------------------------------------------------


def is_keyboard_pressed(session: Session, *, chat_id: int, message_id: int) -> bool:
    found = (
        session.connection()
        .execute(_PRESSED, {"chat_id": chat_id, "message_id": message_id})
        .first()
    )
    return found is not None


def mark_keyboard_pressed(session: Session, *, chat_id: int, message_id: int) -> None:
    press_keyboard(session, chat_id=chat_id, message_id=message_id)


def press_keyboard(session: Session, *, chat_id: int, message_id: int) -> bool:
    """Mark a keyboard answered, in one statement: True for its first press, False when it was
    answered before (a keyboard can be answered once). Two presses racing: one wins."""
    statement = _PRESS.of(session)
    # RETURNING, not rowcount: psycopg reports no rowcount for an INSERT … ON CONFLICT.
    inserted = session.connection().execute(
        statement, {"chat_id": chat_id, "message_id": message_id, "now": utcnow()}
    )
    return inserted.first() is not None


def store_callback_payload(session: Session, *, payload: str) -> str:
    """Store a long payload (in the caller's transaction); returns its short, stable key."""
    key = hashlib.sha256(payload.encode()).hexdigest()[:24]
    statement = _STORE_PAYLOAD.of(session)
    session.connection().execute(statement, {"key": key, "payload": payload, "now": utcnow()})
    return key


def load_callback_payload(session: Session, *, key: str) -> str | None:
    row = session.connection().execute(_LOAD_PAYLOAD, {"key": key}).first()
    return None if row is None else str(row[0])


# -- outbox ------------------------------------------------------------------------------------


def _values(item: Outgoing, claimed_by: str | None, now: datetime) -> dict[str, Any]:
    """The INSERT parameters of one call: born claimed by `claimed_by` (None: pending), or held."""
    return {
        "chat_id": item.chat_id,
        "method": item.method,
        "payload": json.dumps(item.params, ensure_ascii=False),
        "ref": item.ref,
        "kind": item.kind,
        "status": OutboxStatus.HELD
        if item.held
        else (OutboxStatus.PENDING if claimed_by is None else OutboxStatus.SENDING),
        "claimed_by": None if item.held else claimed_by,
        "attempts": 0,
        "created_at": now,
        "turn": CURRENT_TURN.get(),
    }


def _as_read(**values: Any) -> TelegramOutbox:
    """A TelegramOutbox holding `values`, made as SQLAlchemy makes a row it reads from the
    database (its state filled in directly): no pydantic, no attribute events — about 4 µs
    instead of 120 µs for `TelegramOutbox(...)`, once per message on the hot path. Only for
    rows that are read, never added to a session."""
    if not _MAPPER.configured:
        configure_mappers()
    row: TelegramOutbox = _MANAGER.new_instance()
    row.__dict__.update(_UNSET, **values)
    return row


def enqueue(session: Session, *, outgoing: Iterable[Outgoing]) -> list[int]:
    """Queue calls in the caller's transaction; their ids."""
    now = utcnow()
    params = [_values(item, None, now) for item in outgoing]
    if not params:
        return []
    return [int(i) for i in session.connection().execute(_INSERT_ROWS, params).scalars()]


_TABLE = cast(Table, TelegramOutbox.__table__)  # type: ignore[attr-defined]
_MANAGER = instrumentation.manager_of_class(TelegramOutbox)
_MAPPER = _MANAGER.mapper
# What a row read from the database holds besides what `_as_read` is given.
_UNSET: dict[str, Any] = {
    "claimed_by": None,
    "claimed_at": None,
    "attempts": 0,
    "not_before": None,
    "created_at": None,
    "sent_at": None,
    "message_id": None,
    "error": None,
    "ref": None,
    "kind": None,
    "turn": None,
}


@dataclass(frozen=True, slots=True)
class Enqueued:
    claimed: list[TelegramOutbox]  # born claimed by the worker: to send now, in this order
    waiting: list[int]  # chats whose new rows queue behind unsent ones (claimed the slow way)


def enqueue_claimed(session: Session, *, outgoing: Iterable[Outgoing], worker_id: str) -> Enqueued:
    """Queue calls in the caller's transaction, claimed by `worker_id` where nothing of the
    chat is unsent yet, so that the worker sends them without claiming them one by one.

    Rows of a chat with unsent rows stay pending behind them: the order per chat holds. A
    flooded chat's older unsent replies are superseded by the new ones (see the module doc).
    """
    items = list(outgoing)
    if not items:
        return Enqueued([], [])
    if claims.dialect_of(session) == "postgresql":
        return _enqueue_claimed_at_once(session, items, worker_id)
    # SQLite: a count, then the rows (its writers take turns, and a round trip is a function
    # call in this process: nothing to gain from the one statement below).
    connection = session.connection()
    chats = list(dict.fromkeys(item.chat_id for item in items))
    backlog: dict[int, int] = {
        int(chat): int(n) for chat, n in connection.execute(_BACKLOG, {"chats": chats})
    }
    flooded = [
        chat
        for chat, n in backlog.items()
        if n >= FLOOD_BACKLOG and any(i.chat_id == chat and i.kind == REPLY_KIND for i in items)
    ]
    if flooded:
        connection.execute(_SUPERSEDE_CHATS, {"chats": flooded})
    now = utcnow()
    params = [_values(item, None if item.chat_id in backlog else worker_id, now) for item in items]
    ids = connection.execute(_INSERT_CLAIMED.of(session), params).scalars()
    claimed = [
        _as_read(id=row_id, **values)
        for values, row_id in zip(params, ids, strict=True)
        if values["claimed_by"] is not None
    ]
    return Enqueued(claimed, sorted(backlog))


def _enqueue_claimed_at_once(session: Session, items: list[Outgoing], worker_id: str) -> Enqueued:
    """`enqueue_claimed` in one statement (one round trip) on PostgreSQL: each row finds out
    itself, in the statement's snapshot, whether its chat has unsent rows (then it stays pending
    behind them) or not (then it is born claimed). Rows of one statement do not see each other:
    a turn's replies to one chat are all claimed or all pending. Only a chat that turns out to
    have a backlog costs more statements: the flood check (`_supersede_flooded`)."""
    now = utcnow()
    turn = CURRENT_TURN.get()
    params = [
        {
            "chat": item.chat_id,
            "chat_id": item.chat_id,
            "method": item.method,
            "payload": json.dumps(item.params, ensure_ascii=False),
            "ref": item.ref,
            "kind": item.kind,
            "held": item.held,
            "worker": worker_id,
            "attempts": 0,
            "created_at": now,
            "turn": turn,
        }
        for item in items
    ]
    returned = session.connection().execute(_ENQUEUE_AT_ONCE, params).all()
    claimed: list[TelegramOutbox] = []
    first_new: dict[int, int] = {}  # chat → its first new row, for the backlog behind it
    for item, values, (row_id, status) in zip(items, params, returned, strict=True):
        if status == OutboxStatus.SENDING:
            claimed.append(
                _as_read(
                    id=row_id,
                    chat_id=item.chat_id,
                    method=item.method,
                    payload=str(values["payload"]),
                    ref=item.ref,
                    kind=item.kind,
                    status=OutboxStatus.SENDING,
                    claimed_by=worker_id,
                    created_at=now,
                    turn=turn,
                )
            )
        elif status == OutboxStatus.PENDING:
            first_new.setdefault(item.chat_id, int(row_id))
    replied = {item.chat_id for item in items if item.kind == REPLY_KIND}
    for chat, first in first_new.items():
        if chat in replied:
            _supersede_flooded(session, chat, first)
    return Enqueued(claimed, sorted(first_new))


def _supersede_flooded(session: Session, chat_id: int, before_id: int) -> None:
    """A chat with FLOOD_BACKLOG unsent rows before the new ones: its older unsent replies give
    way to the new ones (see the module doc)."""
    connection = session.connection()
    older = {"chat": chat_id, "before": before_id}
    if connection.execute(_BACKLOG_BEFORE, older).scalar_one() >= FLOOD_BACKLOG:
        connection.execute(_SUPERSEDE_BEFORE, older)


def chats_with_pending(session: Session) -> list[int]:
    rows = session.exec(
        select(TelegramOutbox.chat_id).where(col(TelegramOutbox.status).in_(UNSENT)).distinct()
    ).all()
    return list(rows)


@dataclass(frozen=True, slots=True)
class Claim:
    row: TelegramOutbox | None
    # When nothing could be claimed because the head waits (429, backoff): when to look again.
    retry_at: datetime | None = None


_ROW_COLUMNS = ("id", "chat_id", "method", "payload", "ref", "kind", "status", "attempts")


def claim_head(
    session: Session,
    *,
    chat_id: int,
    worker_id: str,
    alive: set[str],
    in_hand: Iterable[int] = (),
) -> Claim:
    """Claim the oldest unsent call of a chat for `worker_id` (commit to make it count).

    Nothing is claimed while a live worker sends the head and renews its claim: order per chat
    holds across processes. A head left "sending" by a dead worker (or unrenewed, or ours but
    held by nothing in this process) may or may not have reached Telegram (the Bot API has no
    idempotency key); it is sent again rather than lost.
    """
    t = _TABLE
    found = session.connection().execute(_HEAD.of(session), {"chat_id": chat_id}).first()
    if found is None:
        return Claim(None)
    values = dict(zip(_ROW_COLUMNS, found[: len(_ROW_COLUMNS)], strict=True))
    claimed_by, claimed_at, stale, not_before = found[len(_ROW_COLUMNS) :]
    holder = Holder(claimed_by, claimed_at, bool(stale))
    if values["status"] == OutboxStatus.SENDING and not claims.may_take(
        holder, row_id=values["id"], worker_id=worker_id, alive=alive, in_hand=set(in_hand)
    ):
        return Claim(None)
    if not_before is not None and not_before > utcnow():
        return Claim(None, retry_at=not_before)
    if not claims.take(
        session,
        t,
        row_id=values["id"],
        seen=holder,
        worker_id=worker_id,
        where=[t.c.status == values["status"]],
        values={"status": OutboxStatus.SENDING},
    ):
        return Claim(None)
    values.update(status=OutboxStatus.SENDING, claimed_by=worker_id)
    return Claim(_as_read(**values))


def renew(session: Session, *, outbox_ids: Iterable[int], worker_id: str) -> None:
    """The rows this worker holds are still being sent."""
    claims.renew(session, _TABLE, ids=list(outbox_ids), worker_id=worker_id)


def _settle(session: Session, outbox_id: int, worker_id: str, **values: Any) -> bool:
    result = session.connection().execute(
        update(TelegramOutbox)
        .where(col(TelegramOutbox.id) == outbox_id, col(TelegramOutbox.claimed_by) == worker_id)
        .values(attempts=TelegramOutbox.attempts + 1, claimed_at=None, **values)
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


def mark_sent_many(db: Db, *, sent: list[tuple[int, int | None]], worker_id: str) -> None:
    """Record several deliveries at once (outbox id, Telegram's message_id): one statement,
    executed for all rows (psycopg sends them as one batch). Rows another worker took over
    meanwhile are left alone, as in `mark_sent`. In a session's transaction or on a bare
    connection's."""
    if not sent:
        return
    now = utcnow()
    connection_of(db).execute(
        _MARK_SENT,
        [{"oid": oid, "mid": mid, "worker": worker_id, "now": now} for oid, mid in sent],
    )


def settle_many(
    session: Session,
    *,
    sent: list[tuple[int, int | None]],
    gone: list[int],
    worker_id: str,
) -> None:
    """One settle for a batch of deliveries: `sent` recorded as in `mark_sent_many`, `gone`
    (sent rows that only held personal data to deliver it) deleted as in `delete_sent` — so a
    pressed keyboard's edit needs no transaction of its own."""
    mark_sent_many(session, sent=sent, worker_id=worker_id)
    if gone:
        session.connection().execute(
            _DELETE_SENT, [{"oid": oid, "worker": worker_id} for oid in gone]
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
    claims.release(
        session,
        _TABLE,
        ids=list(outbox_ids),
        worker_id=worker_id,
        where=[_TABLE.c.status == OutboxStatus.SENDING],
        values={"status": OutboxStatus.PENDING},
    )


def release_held(session: Session, *, ref: str) -> list[int]:
    """The coach card of `ref` was delivered: what waited for it may go; the chats to wake."""
    t = _TABLE
    rows = session.connection().execute(
        update(t)
        .where(t.c.ref == ref, t.c.status == OutboxStatus.HELD)
        .values(status=OutboxStatus.PENDING)
        .returning(t.c.chat_id)
    )
    return sorted({int(chat) for (chat,) in rows})


def drop_held(session: Session, *, ref: str) -> bool:
    """Telegram refused the coach card of `ref`: what waited for it is untrue now. True if
    anything was dropped (then its reader was not told about that coach)."""
    result = session.connection().execute(
        delete(_TABLE).where(_TABLE.c.ref == ref, _TABLE.c.status == OutboxStatus.HELD)
    )
    return int(result.rowcount) > 0


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


def backlog(session: Session) -> int:
    """Bot API calls stored and not sent yet, all workers (for /metrics)."""
    count = session.exec(
        select(func.count())
        .select_from(TelegramOutbox)
        .where(col(TelegramOutbox.status).in_(UNSENT))
    ).one()
    return int(count)


# Compiled once (SQLAlchemy caches the statement by this object).
_PRESSES = cast(Table, TelegramKeyboardPress.__table__)  # type: ignore[attr-defined]
_PAYLOADS = cast(Table, TelegramCallbackPayload.__table__)  # type: ignore[attr-defined]
_PRESSED = sa_select(_PRESSES.c.chat_id).where(
    _PRESSES.c.chat_id == bindparam("chat_id"), _PRESSES.c.message_id == bindparam("message_id")
)
_LOAD_PAYLOAD = sa_select(_PAYLOADS.c.payload).where(_PAYLOADS.c.key == bindparam("key"))


def _press_statement(dialect: str) -> Any:
    return (
        insert_for(dialect)(_PRESSES)
        .values(
            chat_id=bindparam("chat_id"),
            message_id=bindparam("message_id"),
            pressed_at=bindparam("now"),
        )
        .on_conflict_do_nothing(index_elements=["chat_id", "message_id"])
        .returning(_PRESSES.c.chat_id)
    )


def _payload_statement(dialect: str) -> Any:
    return (
        insert_for(dialect)(_PAYLOADS)
        .values(key=bindparam("key"), payload=bindparam("payload"), created_at=bindparam("now"))
        .on_conflict_do_nothing(index_elements=["key"])
    )


_PRESS = PerDialect(_press_statement)
_STORE_PAYLOAD = PerDialect(_payload_statement)


# enqueue_claimed on PostgreSQL: whether the row's chat has unsent rows, asked by the row.
_BUSY = exists().where(
    _TABLE.c.chat_id == bindparam("chat"),
    or_(_TABLE.c.status == OutboxStatus.PENDING, _TABLE.c.status == OutboxStatus.SENDING),
)
_HELD_ROW = bindparam("held", type_=Boolean)
_ENQUEUE_AT_ONCE = (
    insert(_TABLE)
    .values(
        status=case(
            (_HELD_ROW, OutboxStatus.HELD),
            (_BUSY, OutboxStatus.PENDING),
            else_=OutboxStatus.SENDING,
        ),
        claimed_by=case((_HELD_ROW, null()), (_BUSY, null()), else_=bindparam("worker")),
        claimed_at=claims.clock("postgresql"),
    )
    .returning(_TABLE.c.id, _TABLE.c.status, sort_by_parameter_order=True)
)

_DELETE_SENT = delete(_TABLE).where(
    _TABLE.c.id == bindparam("oid"), _TABLE.c.claimed_by == bindparam("worker")
)
_MARK_SENT = (
    update(TelegramOutbox)
    .where(
        col(TelegramOutbox.id) == bindparam("oid"),
        col(TelegramOutbox.claimed_by) == bindparam("worker"),
    )
    .values(
        status=OutboxStatus.SENT,
        sent_at=bindparam("now"),
        message_id=bindparam("mid"),
        attempts=TelegramOutbox.attempts + 1,
        claimed_at=None,
        claimed_by=None,
    )
)

# enqueue and enqueue_claimed on SQLite: built once, `chats` a list bound at execution.
_T = _TABLE
_BACKLOG = (
    sa_select(_T.c.chat_id, func.count())
    .where(_T.c.chat_id.in_(bindparam("chats", expanding=True)), _T.c.status.in_(UNSENT))
    .group_by(_T.c.chat_id)
)
_SUPERSEDE_CHATS = (
    update(_T)
    .where(
        _T.c.chat_id.in_(bindparam("chats", expanding=True)),
        _T.c.status == OutboxStatus.PENDING,
        _T.c.kind == REPLY_KIND,
    )
    .values(status=OutboxStatus.SUPERSEDED, payload="{}")
)
_INSERT_ROWS = insert(_T).returning(_T.c.id, sort_by_parameter_order=True)
_INSERT_CLAIMED = PerDialect(
    lambda dialect: (
        insert(_T)
        .values(claimed_at=claims.clock(dialect))
        .returning(_T.c.id, sort_by_parameter_order=True)
    )
)
_OLDER = (_T.c.chat_id == bindparam("chat"), _T.c.id < bindparam("before"))
_BACKLOG_BEFORE = sa_select(func.count()).where(*_OLDER, _T.c.status.in_(UNSENT))
_SUPERSEDE_BEFORE = (
    update(_T)
    .where(*_OLDER, _T.c.status == OutboxStatus.PENDING, _T.c.kind == REPLY_KIND)
    .values(status=OutboxStatus.SUPERSEDED, payload="{}")
)
# claim_head: the chat's oldest unsent row and whether its claim is stale.
_HEAD = PerDialect(
    lambda dialect: (
        sa_select(
            *(_T.c[name] for name in _ROW_COLUMNS),
            _T.c.claimed_by,
            _T.c.claimed_at,
            claims.is_stale(_T, dialect),
            _T.c.not_before,
        )
        .where(_T.c.chat_id == bindparam("chat_id"), _T.c.status.in_(UNSENT))
        .order_by(_T.c.id)
        .limit(1)
    )
)
