"""Values a participant mentions anywhere in a message, whatever was asked.

"ik heb een nulurencontract in Zaandam" fills the contract type and the town; "ik ben Fatima"
fills the name; "mijn nummer is eigenlijk 06 87654321" carries a phone number. Sources: the
NLU's entities (contract type, gemeente) and our own detectors (phone numbers with
`phonenumbers`, e-mail addresses, postcodes, names after "ik heet", towns after "ik woon in").
Each value comes with its position, so "niet in Amsterdam maar in Utrecht" can prefer the last.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import phonenumbers

from bot.engine.options import said_options
from bot.engine.slot_values import gemeente_extra, normalise_email, parse_name
from bot.engine.state import JsonScalar
from bot.engine.words import word_set
from bot.flows.flowset import FlowSet
from bot.flows.models import SlotDef, SlotType
from bot.gemeenten import (
    GemeenteMatch,
    find_gemeenten,
    is_valid_postcode,
    normalise_postcode,
    resolve_gemeente,
)
from bot.nlu.client import NluResult


@dataclass(frozen=True, slots=True)
class Found:
    slot: str
    value: JsonScalar
    start: int  # where in the message it was said
    end: int
    extra: dict[str, JsonScalar] = field(default_factory=dict)  # e.g. the region of a town


_EMAIL_TOKEN = re.compile(r"[^\s<>(),;:]+@[^\s<>(),;:]+")
_POSTCODE_TOKEN = re.compile(r"\b[1-9][0-9]{3}\s?[A-Za-z]{2}\b")
# A town is only read from a message that is about something else when it is introduced as
# one (many municipalities are also words: Best, Goes, Buren, Putten, Son, Ede).
_TOWN_CUE = re.compile(
    r"\b(?:in|uit|te|woon\w*|woonachtig|regio|gemeente|bij|near|from|live\w*|living|town|city)"
    r"\s+$",
    re.IGNORECASE,
)
# What comes right before a second town that replaces the first: "nee", "nou ja eigenlijk",
# "ik bedoel", "I mean", "actually".
_REPLACED = re.compile(
    r"\b(?:nee|neen|eigenlijk|bedoel|ik bedoel|wacht|sorry|oeps|of nee|nou ja|"
    r"no|actually|i mean|sorry|wait|or rather)[\s,.:;!-]*$",
    re.IGNORECASE,
)
_ONLY_REPLACED = re.compile(
    r"\s*(?:(?:nee|neen|sorry|oeps|oh|o|eigenlijk|ik bedoel|bedoel|wacht|no|actually|"
    r"i mean|wait)[\s,.!:;-]*)+",
    re.IGNORECASE,
)
# Where someone works is not where they live: "ik werk in Amsterdam", "ik werk als
# orderpicker in Tilburg", "I work at ... in Delft". (The town of an agency, "via een
# uitzendbureau in Zaandam", is taken as the home town: tests/test_understanding.py.)
_WORK_PLACE = re.compile(
    r"\b(?:werk|werken|werkzaam|work|working|worked)(?:\s+(?:als|as)\s+(?:an?\s+)?\S+)?"
    r"\s+(?:in|bij|at|voor|for)\s+$",
    re.IGNORECASE,
)
# "ik heet Sam", "mijn naam is Sam", "my name is Sam": certain. "ik ben Sam", "I'm Sam": only
# with a capital, since "ik ben ontslagen" is not a name.
_NAME_CERTAIN = re.compile(
    r"\b(?:ik heet|mijn naam is|mn naam is|m'n naam is|my name is|my name's|naam is|naam:|"
    r"name:|they call me|noem me)\s+(?P<name>[^\s,.!?;]+(?:\s+[^\s,.!?;]+)?)",
    re.IGNORECASE,
)
_NAME_CAPITAL = re.compile(
    r"\b(?:[Ii]k ben|[Ii]'m|[Ii]m|[Ii] am|[Hh]ier is|[Tt]his is|[Mm]et)\s+"
    r"(?P<name>[A-ZÀ-Ý][\w'-]+(?:\s+[A-ZÀ-Ý][\w'-]+)?)"
)
_NOT_NAMES = word_set(
    "ik je jij u de het een niet wel nog ook al erg heel zo nu bang boos blij moe werkloos "
    "ontslagen zzp zzper zzp'er uitzendkracht oproepkracht payroller flexwerker op aan bezig "
    "looking a an the not so very from in at on unemployed fired sorry nederlander"
)


def find_values(flows: FlowSet, text: str, nlu: NluResult | None) -> list[Found]:
    """Every slot value the message mentions, in order of appearance (several per slot possible)."""
    found: list[Found] = []
    for name, slot in flows.slots.items():
        if not slot.prefill:
            continue
        found.extend(_for_slot(name, slot, text, nlu))
    found.sort(key=lambda f: f.start)
    return found


def _for_slot(name: str, slot: SlotDef, text: str, nlu: NluResult | None) -> Iterator[Found]:
    if slot.entity and nlu is not None:
        for entity in nlu.entities:
            if entity.entity != slot.entity:
                continue
            value = _entity_value(slot, entity.value)
            start = entity.start or 0
            end = entity.end if entity.end is not None else start + len(entity.value)
            if value is None or (
                slot.type is SlotType.GEMEENTE and _WORK_PLACE.search(text[:start])
            ):
                continue
            yield Found(name, value[0], start, end, value[1])
    match slot.type:
        case SlotType.PHONE:
            yield from _phones(name, text)
        case SlotType.EMAIL:
            if "@" in text:
                for m in _EMAIL_TOKEN.finditer(text):
                    email = normalise_email(m.group())
                    if email is not None:
                        yield Found(name, email, m.start(), m.end())
        case SlotType.POSTCODE:
            for m in _POSTCODE_TOKEN.finditer(text):
                if is_valid_postcode(m.group()):
                    yield Found(name, normalise_postcode(m.group()), m.start(), m.end())
        case SlotType.GEMEENTE:
            named = False  # a town named before in this message
            for mention in find_gemeenten(text):
                before = text[: mention.start]
                # "ik woon in Goirle, nou ja eigenlijk Riel": the correction names a town too
                cue = bool(_TOWN_CUE.search(before) or (named and _REPLACED.search(before)))
                # "nee sorry Helvoirt": a village after nothing but correction words
                cue = cue or (not mention.word_like and bool(_ONLY_REPLACED.fullmatch(before)))
                capital = text[mention.start].isupper()
                if mention.word_like or not mention.municipality_name:
                    # "Echt niet", "Anna de Vries": a village said in passing needs a cue
                    # ("ik woon in Vries"); thousands of village names are also words or
                    # surnames.
                    capital = False
                if not (capital or cue) or _WORK_PLACE.search(before):
                    continue
                if mention.match.confirm:
                    continue  # a village near a border is asked back at the question itself
                named = True
                yield _found_gemeente(name, slot, mention.match, mention.start, mention.end)
        case SlotType.TEXT if slot.format == "name":
            yield from _names(name, text)
        case SlotType.CHOICE if slot.in_passing and not slot.entity:
            yield from _in_passing(name, slot, text)
        case _:
            return


# Words that say an option is had or done, not wished for: "ik heb (trouwens) hbo", "mbo 4
# gedaan", "I have a degree", "diploma havo".
_HAD = re.compile(
    r"\b(?:heb|had|hebben|gedaan|afgerond|gehaald|diploma|gestudeerd|gezeten|niveau|"
    r"have|has|finished|completed|studied|did)\b",
    re.IGNORECASE,
)


_WISH = re.compile(
    r"\b(?:wil|wilt|willen|zou|graag|hoop|want|wants|would|like to|hope|plan|planning)\b",
    re.IGNORECASE,
)


def _in_passing(name: str, slot: SlotDef, text: str) -> Iterator[Found]:
    """An option of a question still to come, said with a word that says it is that."""
    other = {option.value for option in slot.options if option.other}
    said = [m for m in said_options(slot, text) if m.value not in other]
    if len({m.value for m in said}) != 1:
        return
    folded = f" {_fold(text)} "
    named = any(f" {_fold(a)} is " in folded for a in slot.aliases if a) or any(
        re.search(rf"\b{re.escape(a)}\s*:", text, re.IGNORECASE) for a in slot.aliases if a
    )
    if not (_HAD.search(text) or named) or _WISH.search(text):
        return
    start = max(said[0].start - 1, 0)  # in the folded text: near enough for ordering
    yield Found(name, said[0].value, start, start + 1)


def _entity_value(slot: SlotDef, raw: str) -> tuple[JsonScalar, dict[str, JsonScalar]] | None:
    """An NLU entity value as a slot value (an option of a choice, a known municipality)."""
    if slot.type is SlotType.CHOICE:
        key = _fold(raw)
        for option in slot.options:
            words = (option.value, option.label.nl, option.label.en or "", *option.synonyms)
            if key in {_fold(w) for w in words if w}:
                return option.value, {}
        return None
    if slot.type is SlotType.GEMEENTE:
        match = resolve_gemeente(raw)
        if match.municipality is None or match.confirm:
            return None
        return match.municipality.name, gemeente_extra(slot, match)
    return None


def _found_gemeente(name: str, slot: SlotDef, match: GemeenteMatch, start: int, end: int) -> Found:
    assert match.municipality is not None
    return Found(name, match.municipality.name, start, end, gemeente_extra(slot, match))


def _phones(name: str, text: str) -> Iterator[Found]:
    if sum(ch.isdigit() for ch in text) < 8:
        return
    for m in phonenumbers.PhoneNumberMatcher(text, "NL", leniency=phonenumbers.Leniency.VALID):
        number = phonenumbers.format_number(m.number, phonenumbers.PhoneNumberFormat.E164)
        yield Found(name, number, m.start, m.end)


def _names(name: str, text: str) -> Iterator[Found]:
    for pattern in (_NAME_CERTAIN, _NAME_CAPITAL):
        for m in pattern.finditer(text):
            candidate = m.group("name")
            first = candidate.split()[0].lower().strip("'")
            if first in _NOT_NAMES:
                continue
            parsed = parse_name(candidate)
            if parsed is not None:
                yield Found(name, parsed, m.start("name"), m.end("name"))
                return


def _fold(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", text.lower()).split())
