"""Participants: one row per person per channel."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.models import Participant, utcnow
from storage.statements import PerDialect, insert_for

DEFAULT_LANGUAGE = "nl"  # as the model's default: Dutch first


def get_participant(session: Session, *, channel: str, external_id: str) -> Participant | None:
    statement = select(Participant).where(
        Participant.channel == channel, Participant.external_id == external_id
    )
    return session.exec(statement).first()


def get_or_create_participant(session: Session, *, channel: str, external_id: str) -> Participant:
    found = get_participant(session, channel=channel, external_id=external_id)
    if found is not None:
        return found
    participant = Participant(channel=channel, external_id=external_id)
    try:
        with session.begin_nested():
            session.add(participant)
    except IntegrityError:
        # A concurrent first message from the same person created it first.
        found = get_participant(session, channel=channel, external_id=external_id)
        if found is None:
            raise
        return found
    return participant


def update_participant(
    session: Session, *, participant_id: int, language: str, consent_at: datetime | None
) -> None:
    session.connection().execute(
        _UPDATE,
        {"pid": participant_id, "language": language, "consent_at": consent_at, "now": utcnow()},
    )


# Built once: a turn that sets the language or the consent runs it (building an UPDATE and its
# cache key cost more than running it).
_UPDATE = (
    update(Participant)
    .where(col(Participant.id) == bindparam("pid"))
    .values(
        language=bindparam("language"),
        consent_at=bindparam("consent_at"),
        updated_at=bindparam("now"),
    )
)


def create_participant(session: Session, *, channel: str, external_id: str) -> int | None:
    """A new participant's id, in one statement (a turn's first contact: no ORM object, no
    savepoint); None when they exist already (a concurrent first message created them)."""
    statement = _CREATE.of(session)
    now = utcnow()
    created = session.connection().execute(
        statement, {"channel_": channel, "external_id_": external_id, "now": now}
    )
    pid = created.scalar()
    return None if pid is None else int(pid)


def _create_statement(dialect: str) -> Any:
    return (
        insert_for(dialect)(Participant)
        .values(
            channel=bindparam("channel_"),
            external_id=bindparam("external_id_"),
            language=DEFAULT_LANGUAGE,
            consent_at=None,
            created_at=bindparam("now"),
            updated_at=bindparam("now"),
        )
        .on_conflict_do_nothing(index_elements=["channel", "external_id"])
        .returning(col(Participant.id))
    )


_CREATE = PerDialect(_create_statement)
