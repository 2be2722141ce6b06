"""Side effects the engine asks for; the conversation service carries them out."""

from __future__ import annotations

from dataclasses import dataclass

from bot.flows.models import Language


@dataclass(frozen=True, slots=True)
class ConsentGiven:
    pass


@dataclass(frozen=True, slots=True)
class ConsentWithdrawn:
    pass


@dataclass(frozen=True, slots=True)
class SummaryLine:
    slot: str
    label: str  # in Dutch: coaches read Dutch
    value: str


@dataclass(frozen=True, slots=True)
class HandoffRequested:
    flow: str
    topic: str | None
    region_code: str | None
    language: Language
    summary: tuple[SummaryLine, ...]


Effect = ConsentGiven | ConsentWithdrawn | HandoffRequested
