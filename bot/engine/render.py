"""Fill `{placeholders}` in flow texts with slot values and configured values.

A plain regex substitution rather than `str.format`, so a text can never reach attributes of
the values it shows, and a missing value renders as a dash instead of crashing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from bot.engine.state import JsonScalar
from bot.flows.catalogue import PLACEHOLDER, Key, fill
from bot.flows.flowset import FlowSet
from bot.flows.models import Language, SlotDef, SlotType, Text, TextRef
from bot.gemeenten import resolve_region


def display_value(
    flows: FlowSet,
    slot: SlotDef,
    value: JsonScalar,
    language: Language,
    known: Mapping[str, JsonScalar] | None = None,
) -> str:
    """How a slot value reads for a person (option labels, region names, ja/nee). With the
    other `known` values a municipality shows its town and region: "Naaldwijk (gemeente
    Westland, regio Haaglanden)"."""
    if value is None or value == "":
        return flows.text(Key.EMPTY_VALUE).get(language)
    if slot.type is SlotType.GEMEENTE and known is not None:
        return _place(flows, slot, str(value), language, known)
    if slot.type is SlotType.CHOICE:
        option = next((o for o in slot.options if o.value == value), None)
        return option.label.get(language) if option else str(value)
    if slot.type is SlotType.YES_NO:
        return flows.text(Key.YES if value else Key.NO).get(language)
    if slot.type is SlotType.REGION and isinstance(value, str):
        region = resolve_region(value)
        return region.name if region else value
    return str(value)


def _place(
    flows: FlowSet,
    slot: SlotDef,
    municipality: str,
    language: Language,
    known: Mapping[str, JsonScalar],
) -> str:
    code = known.get(slot.region_slot) if slot.region_slot else None
    region = resolve_region(code) if isinstance(code, str) else None
    place = known.get(slot.place_slot) if slot.place_slot else None
    values = {
        "place": str(place or ""),
        "municipality": municipality,
        "region": region.name if region else "",
    }
    if place and region:
        key = Key.PLACE_DISPLAY
    elif place:
        key = Key.PLACE_DISPLAY_NO_REGION
    elif region:
        key = Key.MUNICIPALITY_DISPLAY
    else:
        return municipality
    return fill(flows.text(key).get(language), values)


def both_languages(flows: FlowSet, ref: Key) -> str:
    """Dutch, then English: for messages sent before a person's language is known."""
    text = flows.text(ref)
    return text.nl if not text.en or text.en == text.nl else f"{text.nl}\n\n{text.en}"


def render(
    flows: FlowSet,
    ref: Key | TextRef,
    language: Language,
    slots: Mapping[str, JsonScalar],
    extra: Mapping[str, str] | None = None,
) -> str:
    template = flows.text(ref).get(language)

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if extra and name in extra:
            return extra[name]
        if name in flows.slots:
            return display_value(flows, flows.slots[name], slots.get(name), language, slots)
        if name in flows.values:
            value = flows.values[name]
            return value.get(language) if isinstance(value, Text) else value
        return match.group(0)

    return PLACEHOLDER.sub(substitute, template)
