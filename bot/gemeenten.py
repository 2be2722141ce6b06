"""Municipality (gemeente) → labour-market region (arbeidsmarktregio).

Data: bot/reference/gemeenten_arbeidsmarktregio.csv (Bron: CBS, CC BY 4.0) plus
bot/reference/plaatsen.csv, our own short list of towns people name that are not municipalities
(Zaandam → Zaanstad). People type short forms ("Den Haag", "Bergen"), old names ("Weesp") and
typos ("Amsterdm"); all of them resolve here, with suggestions when we are not sure.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rapidfuzz import fuzz, process

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
MUNICIPALITY_CSV = REFERENCE_DIR / "gemeenten_arbeidsmarktregio.csv"
TOWN_ALIAS_CSV = REFERENCE_DIR / "plaatsen.csv"
CURRENT_YEAR_IN_TABLE = 2026

# CBS adds a province suffix to names that occur more than once in history; people don't type it.
_CBS_SUFFIX = re.compile(r"\s*\((?:NH|L|O|ZH|Z|Gld|NB|U|Fr|Gr|Dr|Ov|Fl)\.?\)\s*$", re.IGNORECASE)
_SUFFIX_LABELS = {
    "nh": "Noord-Holland",
    "l": "Limburg",
    "o": "Overijssel",
    "zh": "Zuid-Holland",
    "z": "Zeeland",
}
# Names people commonly use instead of the official one.
_COMMON_NAMES = {"'s-Gravenhage": "Den Haag"}
_EXTRA_ALIASES = {
    "den haag": "'s-Gravenhage",
    "the hague": "'s-Gravenhage",
    "s gravenhage": "'s-Gravenhage",
    "den bosch": "'s-Hertogenbosch",
    "s hertogenbosch": "'s-Hertogenbosch",
}
# Older accepted spellings of region names (see the CBS data README).
_REGION_ALIASES = {
    "stedendriehoek en noordwest veluwe": "AM06",
    "food valley": "AM38",
    "gooi en vechtstreek": "AM12",
    "zaanstreek waterland": "AM17",
    "zwolle": "AM36",
}
_POSTCODE = re.compile(r"^\s*([1-9][0-9]{3})\s?([A-Za-z]{2})\s*$")
# Postcode letter pairs that are never issued.
_UNUSED_POSTCODE_LETTERS = {"SA", "SD", "SS"}


@dataclass(frozen=True, slots=True)
class Region:
    code: str  # CBS code, e.g. "AM18"
    name: str  # e.g. "Groot Amsterdam"


@dataclass(frozen=True, slots=True)
class Municipality:
    name: str  # display name, e.g. "Den Haag" or "Bergen (Noord-Holland)"
    region: Region | None  # None for a few pre-2014 names CBS gives no region for
    official_name: str = ""  # CBS spelling, e.g. "'s-Gravenhage"
    current: bool = True  # False for merged/renamed municipalities


@dataclass(frozen=True, slots=True)
class GemeenteMatch:
    municipality: Municipality | None
    suggestions: tuple[str, ...] = ()


def normalise(text: str) -> str:
    """Lower-case, strip accents and punctuation: "'s-Hertogenbosch" → "s hertogenbosch"."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    plain = re.sub(r"[^a-z0-9]+", " ", plain).strip()
    return re.sub(r"^(gemeente|gem|regio|in|te)\s+", "", plain)


def short_name(official: str) -> str:
    """CBS name without its province suffix: "Bergen (NH.)" → "Bergen"."""
    return _CBS_SUFFIX.sub("", official).strip()


def _display_name(official: str) -> str:
    if official in _COMMON_NAMES:
        return _COMMON_NAMES[official]
    match = re.search(r"\(([A-Za-z]+)\.?\)\s*$", official)
    if match and match.group(1).lower() in _SUFFIX_LABELS:
        return f"{short_name(official)} ({_SUFFIX_LABELS[match.group(1).lower()]})"
    return official


@dataclass(frozen=True, slots=True)
class _Table:
    by_key: dict[str, tuple[Municipality, ...]]
    regions: tuple[Region, ...]
    region_by_key: dict[str, Region]


@lru_cache(maxsize=1)
def _table() -> _Table:
    candidates: dict[str, list[Municipality]] = defaultdict(list)
    regions: dict[str, Region] = {}
    official_index: dict[str, Municipality] = {}
    with MUNICIPALITY_CSV.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            region = None
            if row["region_code"]:
                region = regions.setdefault(
                    row["region_code"], Region(row["region_code"], row["region"])
                )
            municipality = Municipality(
                name=_display_name(row["name"]),
                region=region,
                official_name=row["name"],
                current=int(row["year"]) >= CURRENT_YEAR_IN_TABLE,
            )
            official_index[normalise(row["name"])] = municipality
            for key in {normalise(row["name"]), normalise(short_name(row["name"]))}:
                candidates[key].append(municipality)
    for alias, official in _EXTRA_ALIASES.items():
        candidates[alias].append(official_index[normalise(official)])
    if TOWN_ALIAS_CSV.exists():
        with TOWN_ALIAS_CSV.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                candidates[normalise(row["plaats"])].append(
                    official_index[normalise(row["gemeente"])]
                )
    by_key: dict[str, tuple[Municipality, ...]] = {}
    for key, found in candidates.items():
        # A renamed municipality ("Hengelo" → "Hengelo (O.)") is the same place: prefer current.
        current = [m for m in found if m.current] or found
        unique = {m.official_name: m for m in current}
        by_key[key] = tuple(unique.values())
    region_by_key: dict[str, Region] = {}
    for region in regions.values():
        region_by_key[normalise(region.code)] = region
        region_by_key[normalise(region.name)] = region
    for alias, code in _REGION_ALIASES.items():
        region_by_key[normalise(alias)] = regions[code]
    ordered = tuple(sorted(regions.values(), key=lambda r: int(r.code[2:])))
    return _Table(by_key=by_key, regions=ordered, region_by_key=region_by_key)


def resolve_gemeente(text: str) -> GemeenteMatch:
    """Find the municipality a person means; suggest up to three names when unsure."""
    key = normalise(text)
    if not key:
        return GemeenteMatch(None)
    table = _table()
    found = table.by_key.get(key)
    if found and len(found) == 1:
        return GemeenteMatch(found[0])
    if found:  # ambiguous short form such as "Bergen"
        return GemeenteMatch(None, tuple(sorted(m.name for m in found)))
    matches = process.extract(key, table.by_key.keys(), scorer=fuzz.ratio, limit=8, score_cutoff=65)
    suggestions: list[str] = []
    for candidate_key, _score, _index in matches:
        for municipality in table.by_key[candidate_key]:
            if municipality.current and municipality.name not in suggestions:
                suggestions.append(municipality.name)
    return GemeenteMatch(None, tuple(suggestions[:3]))


_WORD = re.compile(r"[\w'’-]+")
_MAX_WORDS = 4  # "Hof van Twente", "Land van Cuijk", "Bergen op Zoom"


def find_gemeenten(text: str) -> list[tuple[Municipality, int, int]]:
    """Municipalities named in a sentence (exact names only, longest first), with start and end.

    "ik heb een nulurencontract in Zaandam" → Zaanstad at the position of "Zaandam".
    """
    words = [(m.start(), m.end(), normalise(m.group())) for m in _WORD.finditer(text)]
    table = _table()
    found: list[tuple[Municipality, int, int]] = []
    i = 0
    while i < len(words):
        for size in range(min(_MAX_WORDS, len(words) - i), 0, -1):
            key = " ".join(w[2] for w in words[i : i + size] if w[2])
            match = table.by_key.get(key)
            if match and len(match) == 1:
                found.append((match[0], words[i][0], words[i + size - 1][1]))
                i += size
                break
        else:
            i += 1
    return found


def resolve_region(text: str) -> Region | None:
    """A region by CBS code ("AM18", "am 18") or name ("Groot Amsterdam", old spellings)."""
    key = normalise(text).replace("am ", "am")
    return _table().region_by_key.get(key)


def all_regions() -> tuple[Region, ...]:
    return _table().regions


def lookup_names() -> list[str]:
    """Every name a person might type for a municipality (for the NLU lookup table)."""
    table = _table()
    names: set[str] = set()
    for found in table.by_key.values():
        for municipality in found:
            names.add(short_name(municipality.official_name))
            names.add(re.sub(r"\s*\([^)]*\)$", "", municipality.name))
    names.update(alias.title() for alias in ("den haag", "den bosch", "the hague"))
    if TOWN_ALIAS_CSV.exists():
        with TOWN_ALIAS_CSV.open(encoding="utf-8", newline="") as handle:
            names.update(row["plaats"] for row in csv.DictReader(handle))
    return sorted(names, key=str.lower)


def is_valid_postcode(text: str) -> bool:
    match = _POSTCODE.match(text)
    return bool(match) and match.group(2).upper() not in _UNUSED_POSTCODE_LETTERS  # type: ignore[union-attr]


def normalise_postcode(text: str) -> str:
    """ "1012ab" → "1012 AB". Call only after is_valid_postcode."""
    match = _POSTCODE.match(text)
    if not match:
        raise ValueError("not a Dutch postcode")
    return f"{match.group(1)} {match.group(2).upper()}"
