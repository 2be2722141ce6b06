"""Texts for coaches (Dutch, HTML) and for participants about their coach (nl/en).

Everything that comes from a participant or a coach is escaped here; the fixed parts may use
HTML tags.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.channels.telegram.text import escape
from bot.engine.render import render
from bot.flows.catalogue import Key
from bot.flows.flowset import FlowSet
from bot.flows.models import Language
from bot.gemeenten import resolve_region

_STATUS_NL = {
    "new": "bij de coördinator",
    "assigned": "wacht op jouw akkoord",
    "accepted": "lopend",
    "closed": "afgesloten",
}


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

    @classmethod
    def from_summary(
        cls,
        *,
        case_id: int,
        region_code: str | None,
        status: str,
        summary: Iterable[Mapping[str, str]],
        region_name: str | None = None,
    ) -> CaseCard:
        if region_name is None and region_code:
            region = resolve_region(region_code)
            region_name = region.name if region else None
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
        return cls(case_id, region_code, region_name, status, lines)

    def by_role(self, role: str) -> CardLine | None:
        return next((line for line in self.summary if line.role == role and line.value), None)

    @property
    def first_name(self) -> str:
        line = self.by_role("first_name")
        return line.value if line else "(onbekend)"

    @property
    def contact_method(self) -> str | None:
        """The option value (phone, email, telegram), never the label a person reads."""
        line = self.by_role("contact_method")
        return line.raw if line else None

    @property
    def region(self) -> str:
        if self.region_name and self.region_code:
            return f"{self.region_name} ({self.region_code})"
        return self.region_name or self.region_code or "onbekend"


def _ordered(card: CaseCard) -> list[CardLine]:
    """The summary in the order the flow lists it, without the name (shown first)."""
    return [line for line in card.summary if line.value and line.role != "first_name"]


def case_html(card: CaseCard, *, heading: str) -> str:
    lines = [
        f"<b>{escape(heading)} #{card.case_id}</b>",
        f"<b>Naam:</b> {escape(card.first_name)}",
        f"<b>Regio:</b> {escape(card.region)}",
    ]
    lines += [f"<b>{escape(line.label)}:</b> {escape(line.value)}" for line in _ordered(card)]
    return "\n".join(lines)


def new_case_for_coach(card: CaseCard) -> str:
    return (
        case_html(card, heading="Nieuwe aanvraag")
        + "\n\nNeem je deze aanvraag aan? Na 'Aannemen' kun je de deelnemer hier schrijven:"
        " antwoord op dit bericht, of gebruik /bericht "
        f"{card.case_id} &lt;tekst&gt;."
    )


def new_case_for_coordinator(card: CaseCard, reason: str) -> str:
    return case_html(card, heading="Aanvraag zonder coach") + f"\n\n<i>{escape(reason)}</i>"


def status_nl(status: str) -> str:
    return _STATUS_NL.get(status, status)


def case_line(card: CaseCard) -> str:
    status = status_nl(card.status)
    return f"#{card.case_id} · {escape(card.first_name)} · {escape(card.region)} · {status}"


def case_list(cards: Sequence[CaseCard]) -> str:
    if not cards:
        return "Je hebt geen open zaken."
    return "<b>Je open zaken</b>\n" + "\n".join(case_line(card) for card in cards)


def first_name_of(full_name: str) -> str:
    return full_name.split()[0] if full_name.split() else full_name


# -- to participants (texts from the catalogue, flows/texts.yml) ------------------------------


def _lang(language: str) -> Language:
    return "en" if language == "en" else "nl"


def accepted_for_participant(
    flows: FlowSet, language: str, coach_first_name: str, union: str, contact_method: str | None
) -> str:
    lang = _lang(language)
    via_key = f"via_{contact_method}" if contact_method else ""
    via = render(flows, via_key, lang, {}) if via_key in flows.texts else ""
    text = render(
        flows, Key.COACH_ACCEPTED, lang, {}, {"coach": coach_first_name, "union": union, "via": via}
    )
    return escape(text)


def from_coach(flows: FlowSet, language: str, coach_first_name: str, union: str, text: str) -> str:
    header = render(
        flows, Key.FROM_COACH, _lang(language), {}, {"coach": coach_first_name, "union": union}
    )
    return f"<b>{escape(header)}</b>\n{escape(text)}"


def handed_back(flows: FlowSet, language: str, coach_first_name: str) -> str:
    return escape(render(flows, Key.HANDED_BACK, _lang(language), {}, {"coach": coach_first_name}))


def closed_for_participant(flows: FlowSet, language: str, coach_first_name: str) -> str:
    return escape(render(flows, Key.CASE_CLOSED, _lang(language), {}, {"coach": coach_first_name}))


def from_participant(card: CaseCard, text: str) -> str:
    return f"<b>{escape(card.first_name)} (zaak #{card.case_id}):</b>\n{escape(text)}"
