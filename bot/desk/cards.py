"""A case as a coach reads it: the intake summary with its roles, region and status."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.gemeenten import resolve_region


@dataclass(frozen=True, slots=True)
class CardLine:
    slot: str
    label: str
    value: str  # as a person reads it
    raw: str  # as stored: option values such as "phone"
    role: str  # what the bot uses it for (settings.roles in the flows), or ""


@dataclass(frozen=True, slots=True)
class CaseCard:
    case_id: int
    region_code: str | None
    region_name: str | None
    status: str
    summary: tuple[CardLine, ...]
    language: str = "nl"  # the participant's chat language (a coach calls in it)

    @classmethod
    def from_summary(
        cls,
        *,
        case_id: int,
        region_code: str | None,
        status: str,
        summary: Iterable[Mapping[str, str]],
        language: str = "nl",
    ) -> CaseCard:
        region = resolve_region(region_code) if region_code else None
        lines = tuple(
            CardLine(
                str(line.get("slot", "")),
                str(line.get("label", "")),
                str(line.get("value", "")),
                str(line.get("raw", "") or line.get("value", "")),
                str(line.get("role", "")),
            )
            for line in summary
        )
        name = region.name if region else None
        return cls(case_id, region_code, name, status, lines, language or "nl")

    def by_role(self, role: str) -> CardLine | None:
        return next((line for line in self.summary if line.role == role and line.value), None)

    @property
    def first_name(self) -> str:
        line = self.by_role("first_name")
        return line.value if line else "?"

    @property
    def contact_method(self) -> str | None:
        """The option value (phone, email, telegram), never the label a person reads."""
        line = self.by_role("contact_method")
        return line.raw if line else None

    @property
    def region(self) -> str:
        if self.region_name and self.region_code:
            return f"{self.region_name} ({self.region_code})"
        return self.region_name or self.region_code or "–"

    def details(self) -> list[CardLine]:
        """The summary in the order the flow lists it, without the name (shown first)."""
        return [line for line in self.summary if line.value and line.role != "first_name"]
