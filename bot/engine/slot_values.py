"""Turn what a participant typed (or pressed) into a typed slot value, or say why not."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from rapidfuzz import fuzz, process

from bot.flows.models import SlotDef, SlotType
from bot.gemeenten import is_valid_postcode, normalise_postcode, resolve_gemeente
from bot.nlu.client import NluResult

JsonScalar = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class Parsed:
    """`ok` with `value` (and maybe `extra` slots), or not ok with `suggestions` to offer.

    `attempted`: not valid, but recognisably meant as an answer ("a@@b.nl" for an e-mail,
    "12345" for a phone number, "Amsterdm"), so it must not be read as a change of topic.
    """

    ok: bool
    value: JsonScalar = None
    extra: dict[str, JsonScalar] = field(default_factory=dict)
    suggestions: tuple[str, ...] = ()
    attempted: bool = False


INVALID = Parsed(ok=False)
ATTEMPT = Parsed(ok=False, attempted=True)
# Fuzzy matching over ~470 names is the costliest part of a turn; answers repeat a lot.
_resolve_gemeente = lru_cache(maxsize=4096)(resolve_gemeente)

YES_WORDS = frozenset(
    [
        "ja",
        "jawel",
        "jazeker",
        "jup",
        "jep",
        "yes",
        "yep",
        "yeah",
        "yup",
        "y",
        "j",
        "ok",
        "oke",
        "oké",
        "okay",
        "prima",
        "goed",
        "klopt",
        "akkoord",
        "sure",
        "correct",
        "zeker",
        "graag",
        "natuurlijk",
        "tuurlijk",
        "idd",
        "inderdaad",
    ]
)
NO_WORDS = frozenset(["nee", "neen", "nope", "no", "n", "nah", "niet", "liever", "nooit", "neeh"])
_NAME_INTRO = re.compile(
    r"^(?:hoi|hallo|hi|hey|hello)?[,! ]*(?:ik ben|ik heet|mijn naam is|mn naam is|my name is|"
    r"i am|i'm|im|naam:|name:|dit is|this is)?\s*",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$")
_GEMEENTE_INTRO = re.compile(
    r"^(?:ik woon in|ik woon|ik kom uit|woon in|i live in|i live|in|gemeente|de gemeente|"
    r"municipality|from)\s+",
    re.IGNORECASE,
)


def parse_value(
    slot: SlotDef, *, text: str | None, payload_value: str | None, nlu: NluResult | None
) -> Parsed:
    """Parse without side effects. `payload_value` comes from a pressed `v:` button."""
    raw = payload_value if payload_value is not None else (text or "")
    raw = raw.strip()
    entity = nlu.entity(slot.entity) if nlu is not None and slot.entity else None
    match slot.type:
        case SlotType.CHOICE:
            return _choice(slot, raw, entity)
        case SlotType.YES_NO:
            return _yes_no(raw, nlu)
        case SlotType.TEXT:
            return _text(slot, raw)
        case SlotType.NUMBER:
            return _number(slot, raw) or _digits_attempt(raw, 1)
        case SlotType.DATE:
            return _date(raw) or _digits_attempt(raw, 1)
        case SlotType.PHONE:
            return _phone(raw) or _digits_attempt(raw, 5)
        case SlotType.EMAIL:
            return _email(raw) or (ATTEMPT if "@" in raw else INVALID)
        case SlotType.GEMEENTE:
            return _gemeente(slot, raw, entity)
        case SlotType.POSTCODE:
            if is_valid_postcode(raw):
                return Parsed(True, normalise_postcode(raw))
            return _digits_attempt(raw, 3)
        case SlotType.REGION:
            return INVALID  # filled from a gemeente slot, never typed
    return INVALID


def _digits_attempt(raw: str, minimum: int) -> Parsed:
    return ATTEMPT if sum(ch.isdigit() for ch in raw) >= minimum else INVALID


def is_strongly_typed(slot: SlotDef) -> bool:
    """Slots whose valid input cannot be a question, so the NLU need not be asked."""
    return slot.type not in (SlotType.TEXT,)


def _fold(text: str) -> str:
    return re.sub(r"[^\w@+ ]", " ", text.lower()).strip()


def _choice(slot: SlotDef, raw: str, entity: str | None) -> Parsed:
    folded = _fold(raw)
    if not folded and entity is None:
        return INVALID
    candidates: dict[str, str] = {}
    for option in slot.options:
        for word in (option.value, option.label.nl, option.label.en or "", *option.keywords):
            if word:
                candidates[_fold(word)] = option.value
    if folded in candidates:
        return Parsed(True, candidates[folded])
    if entity is not None:
        by_value = {o.value: o.value for o in slot.options}
        if (value := by_value.get(_fold(entity).replace(" ", "_"))) is not None:
            return Parsed(True, value)
    words = set(folded.split())
    hits = {
        value
        for key, value in candidates.items()
        if key and (key in words or (" " in key and key in folded))
    }
    if len(hits) == 1:
        return Parsed(True, hits.pop())
    best = process.extractOne(folded, list(candidates), scorer=fuzz.ratio, score_cutoff=85)
    if best is not None:
        return Parsed(True, candidates[best[0]])
    return INVALID


def _yes_no(raw: str, nlu: NluResult | None) -> Parsed:
    words = _fold(raw).split()
    if words and (words[0] in YES_WORDS or raw.lower() in {"v:yes", "yes"}):
        return Parsed(True, True)
    if words and words[0] in NO_WORDS:
        return Parsed(True, False)
    if nlu is not None and nlu.available and nlu.confidence >= 0.6:
        if nlu.intent == "affirm":
            return Parsed(True, True)
        if nlu.intent == "deny":
            return Parsed(True, False)
    return INVALID


def _text(slot: SlotDef, raw: str) -> Parsed:
    value = " ".join(raw.split())
    if slot.format == "name":
        value = _NAME_INTRO.sub("", value).strip(" .,!")
        if not value or any(ch.isdigit() for ch in value) or len(value.split()) > 4:
            return INVALID
        value = " ".join(part[:1].upper() + part[1:] for part in value.split())
    if not slot.min_length <= len(value) <= slot.max_length:
        return INVALID
    return Parsed(True, value)


def _number(slot: SlotDef, raw: str) -> Parsed | None:
    cleaned = raw.replace("€", "").replace(" ", "")
    if re.fullmatch(r"-?\d{1,3}(?:\.\d{3})+(?:,\d+)?", cleaned):
        cleaned = cleaned.replace(".", "")  # Dutch thousands: 1.500 or 1.500,50
    cleaned = cleaned.replace(",", ".")
    if not re.fullmatch(r"-?\d+(?:\.\d+)?", cleaned):
        return None
    number = float(cleaned)
    if (slot.min is not None and number < slot.min) or (slot.max is not None and number > slot.max):
        return None
    return Parsed(True, int(number) if number.is_integer() else number)


def _date(raw: str) -> Parsed | None:
    match = re.fullmatch(r"(\d{1,2})[-/. ](\d{1,2})[-/. ](\d{4})", raw.strip()) or None
    try:
        if match:
            day, month, year = (int(g) for g in match.groups())
            return Parsed(True, date(year, month, day).isoformat())
        iso = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", raw.strip())
        if iso:
            return Parsed(True, date(*(int(g) for g in iso.groups())).isoformat())
    except ValueError:
        return None
    return None


def normalise_phone(raw: str) -> str | None:
    """Dutch numbers (06-12345678, 020 123 4567, +31 6 ...) and international E.164 → +CC..."""
    compact = re.sub(r"[\s\-().]", "", raw)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if re.fullmatch(r"0[1-9]\d{8}", compact):
        return "+31" + compact[1:]
    if re.fullmatch(r"\+31[1-9]\d{8}", compact):
        return compact
    if compact.startswith("+31"):
        return None  # a Dutch number with the wrong length
    if re.fullmatch(r"\+[1-9]\d{7,14}", compact):
        return compact
    return None


def _phone(raw: str) -> Parsed | None:
    phone = normalise_phone(raw)
    return Parsed(True, phone) if phone else None


def _email(raw: str) -> Parsed | None:
    value = raw.strip().strip("<>").strip()
    if not _EMAIL.fullmatch(value) or ".." in value:
        return None
    local, _, domain = value.partition("@")
    return Parsed(True, f"{local}@{domain.lower()}")


def _gemeente(slot: SlotDef, raw: str, entity: str | None) -> Parsed:
    suggestions: tuple[str, ...] = ()
    for candidate in (raw, _GEMEENTE_INTRO.sub("", raw.strip(" .!?")), entity):
        if not candidate:
            continue
        match = _resolve_gemeente(candidate)
        if match.municipality is not None:
            extra: dict[str, JsonScalar] = {}
            if slot.region_slot and match.municipality.region is not None:
                extra[slot.region_slot] = match.municipality.region.code
            return Parsed(True, match.municipality.name, extra)
        suggestions = suggestions or match.suggestions
    return Parsed(False, suggestions=suggestions, attempted=bool(suggestions))
