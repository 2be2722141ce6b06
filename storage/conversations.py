"""Conversation state per participant, with optimistic locking on `version`.

Two turns for the same person that race (two bot workers, a double-tapped button) cannot both
win: the second save finds a newer version and raises `StaleConversation`; the caller reloads
and runs the turn again on the fresh state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, bindparam, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from storage.models import Conversation, Participant, utcnow
from storage.participants import DEFAULT_LANGUAGE, create_participant
from storage.statements import PerDialect, insert_for


class StaleConversation(Exception):
    """Another turn saved this conversation first."""


@dataclass(frozen=True, slots=True)
class StoredConversation:
    state: dict[str, Any] | None  # None: a new conversation
    version: int  # 0 when nothing was stored yet


@dataclass(frozen=True, slots=True)
class TurnContext:
    """What a turn needs about a participant, read in one query."""

    participant_id: int
    language: str
    consent_at: datetime | None
    conversation: StoredConversation


# Built once: these run on every turn, and building a statement costs more than running it.
_LOAD_TURN = (
    sa_select(
        col(Participant.id),
        col(Participant.language),
        col(Participant.consent_at),
        col(Conversation.state),
        col(Conversation.version),
    )
    .outerjoin(Conversation, col(Conversation.participant_id) == col(Participant.id))
    .where(
        col(Participant.channel) == bindparam("channel"),
        col(Participant.external_id) == bindparam("external_id"),
    )
)
_SAVE_STATE = (
    update(Conversation)
    .where(
        col(Conversation.participant_id) == bindparam("pid"),
        col(Conversation.version) == bindparam("expected"),
    )
    .values(
        state=bindparam("state", type_=JSON),
        version=bindparam("new_version"),
        updated_at=bindparam("now"),
        reminded_at=None,  # the participant wrote: a new stall may be reminded again
    )
)


_KEPT = "careerbot.turn_context"  # session.info key: (transaction, (channel, id), context)


def keep_turn_context(
    session: Session, *, channel: str, external_id: str, row: tuple[Any, ...]
) -> TurnContext:
    """A participant's turn context read with something else (storage/senders.py), for the
    next `peek_turn_context`/`load_turn_context` of this participant in this same transaction:
    one statement instead of two. Good for one use."""
    context = _context(row)
    session.info[_KEPT] = (session.get_transaction(), (channel, external_id), context)
    return context


def _kept(session: Session, channel: str, external_id: str) -> TurnContext | None:
    kept = session.info.pop(_KEPT, None)
    if kept is None:
        return None
    transaction, key, context = kept
    if transaction is None or transaction is not session.get_transaction():
        return None  # read in an earlier transaction of this session: not to be trusted
    return context if key == (channel, external_id) else None


def _forget_kept(session: Session) -> None:
    session.info.pop(_KEPT, None)


def _context(row: tuple[Any, ...]) -> TurnContext:
    pid, language, consent_at, state, version = row
    stored = (
        StoredConversation(dict(state), version)
        if state is not None
        else StoredConversation(None, 0)
    )
    return TurnContext(pid, language, consent_at, stored)


def _first_save_statement(dialect: str) -> Any:
    return (
        insert_for(dialect)(Conversation)
        .values(
            participant_id=bindparam("pid"),
            state=bindparam("state", type_=JSON),
            version=1,
            updated_at=bindparam("now"),
            reminded_at=None,
        )
        .on_conflict_do_nothing(index_elements=["participant_id"])
        .returning(col(Conversation.participant_id))
    )


_FIRST_SAVE = PerDialect(_first_save_statement)


def load_turn_context(session: Session, *, channel: str, external_id: str) -> TurnContext:
    """The participant (created on first contact) with their stored conversation."""
    found = peek_turn_context(session, channel=channel, external_id=external_id)
    if found is not None:
        return found
    # First contact: created in one statement (no ORM object, no savepoint).
    pid = create_participant(session, channel=channel, external_id=external_id)
    if pid is not None:
        return TurnContext(pid, DEFAULT_LANGUAGE, None, StoredConversation(None, 0))
    # Someone created them meanwhile (a concurrent first message): read what is there.
    found = peek_turn_context(session, channel=channel, external_id=external_id)
    if found is None:
        raise StaleConversation  # created and gone again: run the turn afresh
    return found


def peek_turn_context(session: Session, *, channel: str, external_id: str) -> TurnContext | None:
    """Like `load_turn_context`, but only reads: None for someone never seen (the read before
    the turn's transaction must not create anybody: an admin is no participant)."""
    kept = _kept(session, channel, external_id)
    if kept is not None:
        return kept
    # Core on the session's connection: no ORM objects are needed on this hot path.
    row = (
        session.connection()
        .execute(_LOAD_TURN, {"channel": channel, "external_id": external_id})
        .first()
    )
    return None if row is None else _context(tuple(row))


def load_conversation(session: Session, *, participant_id: int) -> StoredConversation:
    row = session.exec(
        select(Conversation).where(Conversation.participant_id == participant_id)
    ).first()
    if row is None:
        return StoredConversation(None, 0)
    return StoredConversation(dict(row.state), row.version)


def save_conversation(
    session: Session, *, participant_id: int, state: dict[str, Any], expected_version: int
) -> int:
    """Store the new state if nobody else did since `expected_version`; returns the new version."""
    _forget_kept(session)
    if expected_version == 0:
        # One statement; a row already there means another turn saved first.
        statement = _FIRST_SAVE.of(session)
        now = utcnow()
        created = session.connection().execute(
            statement, {"pid": participant_id, "state": state, "now": now}
        )
        if created.first() is None:
            raise StaleConversation
        return 1
    result = session.connection().execute(
        _SAVE_STATE,
        {
            "pid": participant_id,
            "expected": expected_version,
            "state": state,
            "new_version": expected_version + 1,
            "now": utcnow(),
        },
    )
    if result.rowcount != 1:
        raise StaleConversation
    return expected_version + 1
