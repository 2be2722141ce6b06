"""Town, village or municipality (gemeente) → municipality → labour-market region.

Data: bot/reference/gemeenten_arbeidsmarktregio.csv (Bron: CBS, CC BY 4.0);
bot/reference/woonplaatsen.csv, every Dutch place of 500+ inhabitants with its municipality
(built by scripts/build_places.py from GeoNames, CC BY 4.0); and bot/reference/plaatsen.csv,
our own list of districts and short forms people name (Bijlmer, Scheveningen, Capelle).
People type short forms ("Den Haag", "Bergen"), villages ("Naaldwijk"), old names ("Weesp")
and typos ("Amsterdm"); all of them resolve here, with places of a similar spelling as
suggestions when we are not sure, and `confirm` when the municipality of a village is a guess.
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

from bot.engine.words import word_set

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
MUNICIPALITY_CSV = REFERENCE_DIR / "gemeenten_arbeidsmarktregio.csv"
TOWN_ALIAS_CSV = REFERENCE_DIR / "plaatsen.csv"
PLACES_CSV = REFERENCE_DIR / "woonplaatsen.csv"
# Places GeoNames lacks, placed by their postcode areas (ODbL; see reference/README.md).
POSTCODE_PLACES_CSV = REFERENCE_DIR / "woonplaatsen_postcode.csv"
PLACES_CSVS = (PLACES_CSV, POSTCODE_PLACES_CSV)
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
    """`municipality` found (with `place`, the town or village named, when it is not the
    municipality itself), or suggestions. `confirm`: the municipality of this village is a
    guess (near a border): ask back, and offer `alternatives` when it is not."""

    municipality: Municipality | None
    suggestions: tuple[str, ...] = ()
    place: str | None = None
    confirm: bool = False
    alternatives: tuple[Municipality, ...] = ()


@dataclass(frozen=True, slots=True)
class Place:
    name: str
    municipality: Municipality
    population: int
    certain: bool
    alternatives: tuple[Municipality, ...] = ()


def normalise(text: str) -> str:
    """Lower-case, strip accents and punctuation: "'s-Hertogenbosch" → "s hertogenbosch"."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    plain = re.sub(r"[^a-z0-9]+", " ", plain).strip().replace("ij", "y")  # Naaldwyk = Naaldwijk
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
    places: dict[str, tuple[Place, ...]]  # largest first
    official: dict[str, Municipality]  # by normalised official and display name


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
    for municipality in list(official_index.values()):
        official_index.setdefault(normalise(municipality.name), municipality)
    places: dict[str, list[Place]] = defaultdict(list)
    if TOWN_ALIAS_CSV.exists():
        with TOWN_ALIAS_CSV.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                municipality = official_index[normalise(row["gemeente"])]
                places[normalise(row["plaats"])].append(
                    Place(row["plaats"], municipality, 10**6, certain=True)
                )
    own = set(places)  # names from plaatsen.csv
    for source in PLACES_CSVS:
        if not source.exists():
            continue
        with source.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                key = normalise(row["plaats"])
                if key in own:
                    continue  # our own list has the last word (a second place of the same
                    # name in another municipality is kept: Zevenhuizen, Zuidwolde)
                places[key].append(
                    Place(
                        row["plaats"],
                        official_index[normalise(row["gemeente"])],
                        int(row["inwoners"] or 0),
                        certain=row["zeker"] == "1",
                        alternatives=tuple(
                            official_index[normalise(name)]
                            for name in row["ook"].split("|")
                            if name
                        ),
                    )
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
    return _Table(
        by_key=by_key,
        regions=ordered,
        region_by_key=region_by_key,
        places={
            key: tuple(sorted(found, key=lambda p: -p.population)) for key, found in places.items()
        },
        official=official_index,
    )


_CHOSEN = re.compile(r"^(?P<place>.+?)\s*\((?:gemeente\s+|municipality of\s+)?(?P<gm>[^()]+)\)$")
_SPREAD = 10  # suggestions within this many points of the closest spelling
# A village ten times as big as every other place of that name is the one people mean.
_DOMINANT = 10


def resolve_gemeente(text: str) -> GemeenteMatch:
    """Find the municipality a person means; suggest up to three names when unsure."""
    key = normalise(text)
    if not key:
        return GemeenteMatch(None)
    table = _table()
    if chosen := _CHOSEN.match(text.strip()):
        # "Hoeven (Halderberge)": a button of a place with the municipality it belongs to
        picked = table.official.get(normalise(chosen.group("gm")))
        if picked is not None:
            place = chosen.group("place").strip()
            return GemeenteMatch(picked, place=None if _same(place, picked) else place)
    found = table.by_key.get(key)
    places = table.places.get(key, ())
    if found and len(found) == 1 and (found[0].current or not places):
        return GemeenteMatch(found[0])
    if found and len(found) > 1 and any(m.current for m in found):
        return GemeenteMatch(None, tuple(sorted(m.name for m in found)))  # "Bergen"
    if places:
        return _place_match(places)
    return GemeenteMatch(None, similar_names(key))


def _place_match(places: tuple[Place, ...]) -> GemeenteMatch:
    best = places[0]
    rivals = [p for p in places[1:] if p.municipality != best.municipality]
    if rivals and best.population < _DOMINANT * max(p.population for p in rivals):
        return GemeenteMatch(None, tuple(_label(p) for p in places[:3]))
    place = None if _same(best.name, best.municipality) else best.name
    return GemeenteMatch(
        best.municipality,
        place=place,
        confirm=not best.certain,
        alternatives=best.alternatives,
    )


def _same(place: str, municipality: Municipality) -> bool:
    key = normalise(place)
    return key in {normalise(municipality.name), normalise(short_name(municipality.official_name))}


def _label(place: Place) -> str:
    """A button for one of several places of the same name: "Hoeven (Halderberge)"."""
    return f"{place.name} ({place.municipality.name})"


def similar_names(key: str, limit: int = 3) -> tuple[str, ...]:
    """Towns, villages and municipalities spelt like `key` ("Naaldwyk" → Naaldwijk)."""
    table = _table()
    keys = list(table.by_key) + [k for k in table.places if k not in table.by_key]
    matches = process.extract(key, keys, scorer=fuzz.ratio, limit=8, score_cutoff=65)
    best = matches[0][1] if matches else 0
    suggestions: list[str] = []
    for candidate_key, score, _index in matches:
        if score < best - _SPREAD:
            break  # "Amsterdm": Amsterdam, not also Amstenrade
        names = [m.name for m in table.by_key.get(candidate_key, ()) if m.current]
        if not names:
            found = table.places.get(candidate_key, ())
            names = [found[0].name] if len({p.municipality for p in found}) == 1 else []
            names = names or [_label(p) for p in found[:2]]
        for name in names:
            if name not in suggestions:
                suggestions.append(name)
    return tuple(suggestions[:limit])


_WORD = re.compile(r"[\w'’-]+")
_MAX_WORDS = 4  # "Hof van Twente", "Land van Cuijk", "Bergen op Zoom"


# Villages whose name is also an everyday word: only read when introduced as a place.
_WORD_LIKE = word_set(
    "best echt born well lent nes mill heide berg veen oost west noord zuid ee wijk haren "
    "bergen ons nu op goor kortenhoef hall hoorn sint lage zand dieren haaren laren elst eck "
    "made baak beek stad buren boven ophemert dorst epe lunteren dam werk thuis huis kerk bos "
    "dijk meer zee holland goed kamp horst hoek lier mark nieuw oud oude winkel haven markt "
    "brug sluis polder veld ven water weg"
)
# Villages named like the smallest words ("Een" in Drenthe): never read from a sentence.
_FUNCTION_WORDS = word_set(
    "een de het en aan om te van voor met is al er maar dan dus ook nog wel niet geen hier "
    "daar waar wat hoe op nu ons in uit bij"
)


@dataclass(frozen=True, slots=True)
class Mention:
    """A municipality, town or village named in a sentence, where it was said."""

    match: GemeenteMatch
    start: int
    end: int
    municipality_name: bool  # the name is a municipality's own (not only a village's)
    word_like: bool  # the name is also an everyday word ("Echt", "Best")


@lru_cache(maxsize=1)
def _first_words() -> frozenset[str]:
    """The first word of every name (a sentence is only searched from those)."""
    table = _table()
    return frozenset(key.split()[0] for key in (*table.by_key, *table.places) if key)


def find_gemeenten(text: str) -> list[Mention]:
    """Municipalities, towns and villages named in a sentence (exact names only, longest
    first), with start and end. "ik heb een nulurencontract in Zaandam" → Zaanstad."""
    words = [(m.start(), m.end(), normalise(m.group())) for m in _WORD.finditer(text)]
    table = _table()
    firsts = _first_words()
    found: list[Mention] = []
    i = 0
    while i < len(words):
        # a hyphenated name is one word here but two in the table: "berkel-enschot"
        if (words[i][2].split() or [""])[0] not in firsts:
            i += 1
            continue
        for size in range(min(_MAX_WORDS, len(words) - i), 0, -1):
            key = " ".join(w[2] for w in words[i : i + size] if w[2])
            if key in _FUNCTION_WORDS:
                continue
            municipalities = table.by_key.get(key)
            if not municipalities and key not in table.places:
                continue
            match = resolve_gemeente(key)
            if match.municipality is None:
                continue
            found.append(
                Mention(
                    match,
                    words[i][0],
                    words[i + size - 1][1],
                    municipality_name=bool(municipalities),
                    word_like=key in _WORD_LIKE,
                )
            )
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
