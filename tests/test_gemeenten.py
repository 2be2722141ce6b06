"""Municipality → labour-market region, as participants type them."""

from __future__ import annotations

import pytest

from bot.gemeenten import (
    all_regions,
    is_valid_postcode,
    lookup_names,
    normalise_postcode,
    resolve_gemeente,
    resolve_region,
)


@pytest.mark.parametrize(
    ("typed", "name", "region"),
    [
        ("Amsterdam", "Amsterdam", "AM18"),
        ("den haag", "Den Haag", "AM21"),
        ("'s-Gravenhage", "Den Haag", "AM21"),
        ("Den Bosch", "'s-Hertogenbosch", "AM27"),
        ("zaandam", "Zaanstad", "AM17"),  # a town, not a municipality
        ("Hengelo", "Hengelo (Overijssel)", "AM05"),  # CBS writes "Hengelo (O.)"
        ("Weesp", "Amsterdam", "AM18"),  # merged into Amsterdam in 2022
        ("sudwest fryslan", "Súdwest-Fryslân", "AM02"),
        ("gemeente Utrecht", "Utrecht", "AM13"),
    ],
)
def test_names_people_type_resolve_to_a_region(typed: str, name: str, region: str) -> None:
    match = resolve_gemeente(typed)
    assert match.municipality is not None
    assert match.municipality.name == name
    assert match.municipality.region is not None
    assert match.municipality.region.code == region


def test_ambiguous_short_form_asks_which_one() -> None:
    match = resolve_gemeente("Bergen")
    assert match.municipality is None
    assert match.suggestions == ("Bergen (Limburg)", "Bergen (Noord-Holland)")


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [("amsterdm", "Amsterdam"), ("Utreg", "Utrecht"), ("rotterdm", "Rotterdam")],
)
def test_typos_get_suggestions(typed: str, suggested: str) -> None:
    match = resolve_gemeente(typed)
    assert match.municipality is None
    assert suggested in match.suggestions


def test_nonsense_gets_no_match_and_no_suggestion() -> None:
    assert resolve_gemeente("qwxz").municipality is None
    assert resolve_gemeente("").suggestions == ()


def test_35_regions_by_code_and_name() -> None:
    regions = all_regions()
    assert len(regions) == 35
    assert resolve_region("AM18") == resolve_region("Groot Amsterdam") == resolve_region("am 18")
    assert (
        resolve_region("Food Valley") is not None and resolve_region("Food Valley").code == "AM38"
    )  # type: ignore[union-attr]
    assert resolve_region("Atlantis") is None


def test_lookup_has_short_forms_and_no_cbs_suffixes() -> None:
    names = lookup_names()
    assert {"Den Haag", "Bergen", "Zaandam", "Amsterdam", "Hengelo"} <= set(names)
    assert not [n for n in names if n.endswith(".)")]


@pytest.mark.parametrize(
    ("typed", "ok"),
    [("1012ab", True), ("1012 AB", True), ("0123 AB", False), ("1234 SS", False), ("12345", False)],
)
def test_postcodes(typed: str, ok: bool) -> None:
    assert is_valid_postcode(typed) is ok
    if ok:
        assert normalise_postcode(typed) == f"{typed[:4]} {typed[-2:].upper()}"


@pytest.mark.parametrize(
    ("typed", "municipality"),
    [
        # villages GeoNames' place list lacks, placed by GeoNames' postal data: their postcode
        # numbers lie among another municipality's (Berkel-Enschot 5056: Goirle 5053)
        ("Berkel-Enschot", "Tilburg"),
        ("berkel enschot", "Tilburg"),
        ("Kloosterzande", "Hulst"),
        ("Lemelerveld", "Dalfsen"),
        ("Swalmen", "Roermond"),
        ("Aalsmeerderbrug", "Haarlemmermeer"),  # once guessed Aalsmeer by its neighbours
    ],
)
def test_village_resolves_to_its_municipality_not_its_postcode_neighbour(
    typed: str, municipality: str
) -> None:
    match = resolve_gemeente(typed)
    assert match.municipality is not None
    assert match.municipality.name == municipality
    assert not match.confirm


def test_a_second_village_of_the_same_name_is_asked_not_dropped() -> None:
    # Zevenhuizen lies in Apeldoorn, Zuidplas and Westerkwartier: which one?
    match = resolve_gemeente("Zevenhuizen")
    assert match.municipality is None
    assert {"Zevenhuizen (Zuidplas)", "Zevenhuizen (Apeldoorn)"} <= set(match.suggestions)
