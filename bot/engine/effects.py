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
    value: str  # as a person reads it (option labels, region names)
    raw: str = ""  # as stored (option values such as "phone"): what code may rely on
    role: str | None = None  # "first_name", "contact_method", ... (settings.roles in the flows)


@dataclass(frozen=True, slots=True)
class HandoffRequested:
    flow: str
    topic: str | None
    region_code: str | None
    language: Language
    summary: tuple[SummaryLine, ...]
    first_name: str | None = None
    contact_method: str | None = None  # the option value: phone, email, telegram


@dataclass(frozen=True, slots=True)
class CaseUpdated:
    """New contact details for the open case (its coach is told briefly)."""

    lines: tuple[SummaryLine, ...]


@dataclass(frozen=True, slots=True)
class FollowUpGiven:
    rating: int  # 1-5
    remark: str | None


Effect = ConsentGiven | ConsentWithdrawn | HandoffRequested | CaseUpdated | FollowUpGiven
