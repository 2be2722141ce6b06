"""What the desk tells people: channel-agnostic messages with their recipient and buttons."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from bot.desk.cards import CaseCard
from bot.flows.catalogue import Key


class To(StrEnum):
    PARTICIPANT = "participant"
    COACH = "coach"
    COORDINATOR = "coordinator"


class Verb(StrEnum):
    ACCEPT = "acc"
    DECLINE = "dec"
    ASSIGN = "asg"  # the coordinator gives the case to a coach


@dataclass(frozen=True, slots=True)
class CoachRef:
    id: int
    telegram_id: int
    name: str
    union: str

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.split() else self.name


@dataclass(frozen=True, slots=True)
class ParticipantRef:
    id: int
    channel: str
    external_id: str
    language: str


@dataclass(frozen=True, slots=True)
class Action:
    """A button: `verb` on `case_id` (for ASSIGN: to `coach`)."""

    verb: Verb
    case_id: int
    coach: CoachRef | None = None
    open_cases: int = 0


@dataclass(frozen=True, slots=True)
class Notice:
    to: To
    key: Key  # catalogue text (flows/texts.yml)
    # Placeholder values; "@name" stands for the catalogue text `name` in the reader's language.
    params: Mapping[str, str] = field(default_factory=dict)
    coach: CoachRef | None = None  # the recipient when to == COACH
    participant: ParticipantRef | None = None  # the recipient when to == PARTICIPANT
    case_id: int | None = None  # replies to this message belong to this case
    card: CaseCard | None = None  # the case, shown under the text
    quote: str | None = None  # what someone typed, passed on as is
    actions: tuple[Action, ...] = ()
