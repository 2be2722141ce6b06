"""Tables of the conversation engine. Other features add their tables in their own modules.

Timestamps are aware UTC datetimes (SQLModel stores them as UTC on SQLite and PostgreSQL).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

# The largest INTEGER id (PostgreSQL's int4; SQLite would take more): a number someone types or a
# button carries is only looked up when it fits, so the database's limit is the input's limit.
MAX_ID = 2**31 - 1


def utcnow() -> datetime:
    return datetime.now(UTC)


class Participant(SQLModel, table=True):
    __tablename__ = "participants"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_participant_channel"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=20)
    external_id: str = Field(max_length=64)
    language: str = Field(default="nl", max_length=2)
    consent_at: datetime | None = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    # Set when the person's data was erased (their right, or the retention period): the row
    # stays as an anonymous stub so that case statistics keep counting.
    erased_at: datetime | None = Field(default=None)


class Conversation(SQLModel, table=True):
    """The engine state of one participant; `version` guards against concurrent turns."""

    __tablename__ = "conversations"

    participant_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("participants.id", ondelete="CASCADE"), primary_key=True
        )
    )
    version: int = Field(default=1)
    state: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, index=True)
    # The unfinished-intake reminder was sent (reset by the participant's next message).
    reminded_at: datetime | None = Field(default=None)


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class MessageLog(SQLModel, table=True):
    """Audit trail of a conversation. `text` is only kept with consent, and never logged."""

    __tablename__ = "message_log"

    id: int | None = Field(default=None, primary_key=True)
    participant_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("participants.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    direction: str = Field(max_length=3)
    intent: str | None = Field(default=None, max_length=64)
    confidence: float | None = None
    flow: str | None = Field(default=None, max_length=40)
    text: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, index=True)


class Role(StrEnum):
    COACH = "coach"
    COORDINATOR = "coordinator"


class Union(StrEnum):
    FNV = "FNV"
    CNV = "CNV"


class Coach(SQLModel, table=True):
    __tablename__ = "coaches"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    telegram_id: int = Field(sa_type=BigInteger, unique=True)
    union: str = Field(max_length=3)
    capacity: int = Field(default=10)
    active: bool = Field(default=True)
    # "coach" takes cases; "coordinator" oversees the regions below on the web desk and takes
    # no cases of their own.
    role: str = Field(default="coach", max_length=16)
    # Telegram refused to deliver to this coach (never pressed Start, or blocked the bot): no
    # new cases until they write to the bot again.
    unreachable_since: datetime | None = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow)


class CoachRegion(SQLModel, table=True):
    __tablename__ = "coach_regions"

    coach_id: int = Field(
        sa_column=Column(Integer, ForeignKey("coaches.id", ondelete="CASCADE"), primary_key=True)
    )
    region_code: str = Field(primary_key=True, max_length=4)


class CaseStatus(StrEnum):
    NEW = "new"  # with the coordinator, no coach yet
    ASSIGNED = "assigned"  # a coach was chosen and notified
    ACCEPTED = "accepted"
    CLOSED = "closed"


OPEN_STATUSES = (CaseStatus.NEW, CaseStatus.ASSIGNED, CaseStatus.ACCEPTED)


class CaseEventKind(StrEnum):
    """Every step a case can take (the `kind` of a case event)."""

    CREATED = "created"
    ASSIGNED = "assigned"  # to a coach (by the bot, a decline, a reassignment or the coordinator)
    TO_COORDINATOR = "to_coordinator"  # no coach could take it
    ACCEPTED = "accepted"
    DECLINED = "declined"
    HANDED_BACK = "handed_back"  # the coach gave the participant back to the bot
    RELAY_RESUMED = "relay_resumed"
    CLOSED = "closed"
    REQUESTED_AGAIN = "requested_again"  # the participant asked for a coach again
    COACH_UNREACHABLE = "coach_unreachable"  # Telegram refused the coach's message
    COACH_DEACTIVATED = "coach_deactivated"
    COACH_CHANGED = "coach_changed"  # an admin changed the coach's regions or role
    PARTICIPANT_LEFT = "participant_left"  # /stop during the live chat
    COACH_REMINDED = "coach_reminded"  # not accepted within a working day
    ESCALATED = "escalated"  # not accepted within two: to the next coach or the coordinator
    FOLLOW_UP_SENT = "follow_up_sent"
    FOLLOW_UP_GIVEN = "follow_up_given"
    ERASED = "erased"  # the participant's data was erased; the case is kept anonymously


class Case(SQLModel, table=True):
    __tablename__ = "cases"
    # One open case per participant, enforced by the database (two workers cannot both open one).
    __table_args__ = (
        Index(
            "uq_cases_open_participant",
            "participant_id",
            unique=True,
            sqlite_where=text("status IN ('new', 'assigned', 'accepted')"),
            postgresql_where=text("status IN ('new', 'assigned', 'accepted')"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    participant_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("participants.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    coach_id: int | None = Field(default=None, foreign_key="coaches.id", index=True)
    region_code: str | None = Field(default=None, max_length=4)
    topic: str | None = Field(default=None, max_length=40)
    language: str = Field(default="nl", max_length=2)
    status: str = Field(default=CaseStatus.NEW, max_length=16, index=True)
    # [{"slot": ..., "label": ..., "value": ...}, ...] in the order the coach reads them
    summary: list[dict[str, str]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    closed_at: datetime | None = Field(default=None)
    # For the scheduled jobs: when the current coach got it, whether they were reminded,
    # when it was accepted and whether the four-week follow-up went out.
    assigned_at: datetime | None = Field(default=None, index=True)
    coach_reminded_at: datetime | None = Field(default=None)
    accepted_at: datetime | None = Field(default=None, index=True)
    follow_up_sent_at: datetime | None = Field(default=None)


class CaseRelay(SQLModel, table=True):
    """While `active`, the participant's messages go to the coach and the bot stays quiet."""

    __tablename__ = "case_relay"

    case_id: int = Field(
        sa_column=Column(Integer, ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    )
    participant_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("participants.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    coach_id: int = Field(foreign_key="coaches.id")
    active: bool = Field(default=True, index=True)
    updated_at: datetime = Field(default_factory=utcnow)


class InboxStatus(StrEnum):
    NEW = "new"
    DONE = "done"


class InboxUpdate(SQLModel, table=True):
    """Every incoming update, stored before the channel confirms it (polling offset, webhook
    200). It is processed once: its `done` mark commits with everything it caused."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("channel", "update_id", name="uq_inbox_channel_update"),
        Index("ix_inbox_status_chat_update", "status", "chat_key", "update_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=20)
    update_id: int = Field(sa_type=BigInteger)
    chat_key: str = Field(max_length=64)  # updates of one chat are processed in order
    payload: str | None = Field(default=None, sa_type=Text)  # cleared once processed
    status: str = Field(default=InboxStatus.NEW, max_length=8)
    claimed_by: str | None = Field(default=None, max_length=40)
    claimed_at: datetime | None = None  # the claim's last renewal, by the database's clock
    attempts: int = 0
    received_at: datetime = Field(default_factory=utcnow, index=True)
    processed_at: datetime | None = None


class Worker(SQLModel, table=True):
    """A running bot process. Work it claimed is taken over once its heartbeat stops."""

    __tablename__ = "workers"

    id: str = Field(primary_key=True, max_length=40)
    started_at: datetime = Field(default_factory=utcnow)
    heartbeat_at: datetime = Field(default_factory=utcnow, index=True)


class FollowUp(SQLModel, table=True):
    """How it went, four weeks after a coach accepted: a rating 1-5 and an optional remark."""

    __tablename__ = "follow_ups"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("cases.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    rating: int
    remark: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow)


class CoachDigest(SQLModel, table=True):
    """The morning digest a coach got on a day (its key is the claim: once per coach a day)."""

    __tablename__ = "coach_digests"

    coach_id: int = Field(
        sa_column=Column(Integer, ForeignKey("coaches.id", ondelete="CASCADE"), primary_key=True)
    )
    day: date = Field(primary_key=True)
    sent_at: datetime = Field(default_factory=utcnow)


class CaseEvent(SQLModel, table=True):
    """Every step of a case, with its time (for statistics and SLAs)."""

    __tablename__ = "case_events"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("cases.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    kind: str = Field(max_length=32)
    coach_id: int | None = Field(default=None, foreign_key="coaches.id")
    detail: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)


class NluReviewItem(SQLModel, table=True):
    """A message the NLU model was unsure about, for an admin to label (issue 17).

    Only for participants who consented, with names, phone numbers, e-mail addresses and
    postcodes replaced by placeholders; deleted after 90 days, on /verwijder and with the
    participant's data. `label` is the intent an admin gave it (None: not yet labelled).
    """

    __tablename__ = "nlu_review"

    id: int | None = Field(default=None, primary_key=True)
    participant_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("participants.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    text: str = Field(sa_type=Text)  # personal data already replaced by placeholders
    reason: str = Field(max_length=16)  # fallback | margin | corrected
    intent: str = Field(max_length=64)  # the model's guess (best intent it ranked)
    confidence: float
    second_intent: str | None = Field(default=None, max_length=64)
    second_confidence: float | None = None
    label: str | None = Field(default=None, max_length=64)
    labelled_at: datetime | None = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow, index=True)
