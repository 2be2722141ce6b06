"""Notices as words: the texts, card lines and button labels, from the catalogue.

Channel-agnostic (plain text); the Telegram adapter adds HTML and keyboards on top.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.desk.cards import CaseCard
from bot.desk.notices import Action, Notice, To, Verb
from bot.engine.render import render
from bot.flows.flowset import FlowSet
from bot.flows.models import Language

COACH_LANGUAGE: Language = "nl"  # coaches and the coordinator read Dutch


def language_of(notice: Notice) -> Language:
    if notice.to is To.PARTICIPANT and notice.participant is not None:
        return "en" if notice.participant.language == "en" else "nl"
    return COACH_LANGUAGE


def say(
    flows: FlowSet, key: str, language: Language, params: Mapping[str, str] | None = None
) -> str:
    """A catalogue text; a parameter "@name" is itself the catalogue text `name`."""
    values = {
        name: (_lookup(flows, value[1:], language) if value.startswith("@") else value)
        for name, value in (params or {}).items()
    }
    return render(flows, key, language, {}, values)


def _lookup(flows: FlowSet, key: str, language: Language) -> str:
    return render(flows, key, language, {}) if key in flows.texts else ""


def headline(flows: FlowSet, notice: Notice) -> str:
    return say(flows, notice.key, language_of(notice), notice.params)


def card_lines(
    flows: FlowSet, card: CaseCard, language: Language, *, status: bool = False
) -> list[tuple[str, str]]:
    """(label, value) pairs: name, region, then the intake in the flow's order."""
    lines = [
        (say(flows, "desk_label_name", language), card.first_name),
        (say(flows, "desk_label_region", language), card.region),
    ]
    if status:
        key = f"desk_status_{card.status}"
        shown = say(flows, key, language) if key in flows.texts else card.status
        lines.append((say(flows, "desk_label_status", language), shown))
    lines += [(line.label, line.value) for line in card.details()]
    return lines


def footer(flows: FlowSet, notice: Notice) -> str | None:
    """What follows the card: how to act on it."""
    language = language_of(notice)
    if notice.key == "desk_case_new":
        return say(flows, "desk_case_new_footer", language, notice.params)
    if notice.to is To.COORDINATOR and notice.key == "desk_for_coordinator":
        return say(
            flows,
            "desk_coordinator_choose" if notice.actions else "desk_coordinator_nobody",
            language,
        )
    return None


def button_label(flows: FlowSet, action: Action, language: Language = COACH_LANGUAGE) -> str:
    if action.verb is Verb.ACCEPT:
        return say(flows, "desk_button_accept", language)
    if action.verb is Verb.DECLINE:
        return say(flows, "desk_button_decline", language)
    name = action.coach.name if action.coach else "?"
    return say(
        flows, "desk_button_assign", language, {"coach": name, "open": str(action.open_cases)}
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
