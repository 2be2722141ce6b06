"""Notices as words: the texts, card lines and button labels, from the catalogue.

Channel-agnostic (plain text); the Telegram adapter adds HTML and keyboards on top.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.desk.cards import CardLine, CaseCard
from bot.desk.notices import Action, Notice, To, Verb
from bot.engine.render import render
from bot.flows.catalogue import Key
from bot.flows.flowset import FlowSet
from bot.flows.models import Language, SlotType

COACH_LANGUAGE: Language = "nl"  # coaches and the coordinator read Dutch


def language_of(notice: Notice) -> Language:
    if notice.to is To.PARTICIPANT and notice.participant is not None:
        return "en" if notice.participant.language == "en" else "nl"
    return COACH_LANGUAGE


def say(
    flows: FlowSet, key: Key, language: Language, params: Mapping[str, str] | None = None
) -> str:
    """A catalogue text; a parameter "@name" is itself the catalogue text `name`."""
    values = {
        name: (_lookup(flows, value[1:], language) if value.startswith("@") else value)
        for name, value in (params or {}).items()
    }
    return render(flows, key, language, {}, values)


def _lookup(flows: FlowSet, name: str, language: Language) -> str:
    key = Key.named(name)
    return render(flows, key, language, {}) if key is not None else ""


def status_text(flows: FlowSet, status: str, language: Language) -> str:
    """A case status as people read it (desk_status_<status>), else the status as stored."""
    key = Key.named(f"desk_status_{status}")
    return say(flows, key, language) if key is not None else status


def headline(flows: FlowSet, notice: Notice) -> str:
    return say(flows, notice.key, language_of(notice), notice.params)


def card_lines(
    flows: FlowSet, card: CaseCard, language: Language, *, status: bool = False
) -> list[tuple[str, str]]:
    """(label, value) pairs: name, region, then the intake in the flow's order. The region is
    said once: not again as its own intake line, and not at all on top when the town line
    already names it ("Woonplaats: Utrecht (regio Midden-Utrecht)")."""
    details = [line for line in card.details() if not _repeats_region(flows, card, line)]
    lines = [(say(flows, Key.DESK_LABEL_NAME, language), card.first_name)]
    if not any(_names_region(flows, card, line) for line in details):
        lines.append((say(flows, Key.DESK_LABEL_REGION, language), card.region))
    if status:
        shown = status_text(flows, card.status, language)
        lines.append((say(flows, Key.DESK_LABEL_STATUS, language), shown))
    lines += [(line.label, line.value) for line in details]
    if card.language != "nl" and (key := Key.named(f"desk_language_{card.language}")):
        # "Taal: Engels": the coach phones in the language the person chatted in (person
        # trial, 6 Dec); Dutch, the usual, is not said
        lines.append((say(flows, Key.DESK_LABEL_LANGUAGE, language), say(flows, key, language)))
    return lines


def _slot_type(flows: FlowSet, line: CardLine) -> SlotType | None:
    slot = flows.slots.get(line.slot)
    return slot.type if slot is not None else None


def _repeats_region(flows: FlowSet, card: CaseCard, line: CardLine) -> bool:
    """An intake line that is the case's region again ("Arbeidsmarktregio: Midden-Utrecht")."""
    return _slot_type(flows, line) is SlotType.REGION and line.raw in (
        card.region_code,
        card.region_name,
    )


def _names_region(flows: FlowSet, card: CaseCard, line: CardLine) -> bool:
    """The town line that already says the case's region."""
    return (
        card.region_name is not None
        and _slot_type(flows, line) is SlotType.GEMEENTE
        and card.region_name in line.value
    )


def footer(flows: FlowSet, notice: Notice) -> str | None:
    """What follows the card: how to act on it."""
    language = language_of(notice)
    if notice.key == Key.DESK_CASE_NEW:
        return say(flows, Key.DESK_CASE_NEW_FOOTER, language, notice.params)
    if notice.to is To.COORDINATOR and notice.key == Key.DESK_FOR_COORDINATOR:
        return say(
            flows,
            Key.DESK_COORDINATOR_CHOOSE if notice.actions else Key.DESK_COORDINATOR_NOBODY,
            language,
        )
    return None


def button_label(flows: FlowSet, action: Action, language: Language = COACH_LANGUAGE) -> str:
    if action.verb is Verb.ACCEPT:
        return say(flows, Key.DESK_BUTTON_ACCEPT, language)
    if action.verb is Verb.DECLINE:
        return say(flows, Key.DESK_BUTTON_DECLINE, language)
    name = action.coach.name if action.coach else "?"
    return say(
        flows, Key.DESK_BUTTON_ASSIGN, language, {"coach": name, "open": str(action.open_cases)}
    )


def plain(flows: FlowSet, notice: Notice) -> str:
    """The whole notice as plain text (the terminal chat, where a coach cannot click)."""
    language = language_of(notice)
    parts = [headline(flows, notice)]
    if notice.quote:
        parts.append(notice.quote)
    if notice.card is not None:
        parts.append(
            "\n".join(
                f"{label}: {value}" for label, value in card_lines(flows, notice.card, language)
            )
        )
    if (tail := footer(flows, notice)) is not None:
        parts.append(tail)
    if notice.actions:
        parts.append(" · ".join(f"[{button_label(flows, a, language)}]" for a in notice.actions))
    return "\n".join(parts)
