"""Participants: one row per person per channel."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.models import Participant, utcnow


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
        update(Participant)
        .where(col(Participant.id) == participant_id)
        .values(language=language, consent_at=consent_at, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
