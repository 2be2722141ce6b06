from __future__ import annotations

import pytest

from bot.engine.slot_values import normalise_phone, parse_value
from bot.flows.models import ChoiceOption, SlotDef, SlotType, Text
from bot.nlu.client import Entity, NluResult


def slot(kind: SlotType, **kwargs) -> SlotDef:
    return SlotDef(type=kind, **kwargs)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("06-12345678", "+31612345678"),
        ("06 1234 5678", "+31612345678"),
        ("+31 6 12345678", "+31612345678"),
        ("0031612345678", "+31612345678"),
        ("020-1234567", "+31201234567"),
        ("(020) 123 45 67", "+31201234567"),
        ("+48 601 234 567", "+48601234567"),
        ("+44 20 7946 0958", "+442079460958"),
        ("12345", None),
        ("0612345", None),
        ("+31 6 1234", None),
        ("06123456789", None),
        ("bel me maar", None),
        ("", None),
    ],
)
def test_phone_numbers(raw, expected):
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize(
    ("raw", "ok", "value"),
    [
        ("naam@voorbeeld.nl", True, "naam@voorbeeld.nl"),
        ("Piet.Jansen+cv@Example.COM", True, "Piet.Jansen+cv@example.com"),
        ("<a@b.nl>", True, "a@b.nl"),
        ("naam@voorbeeld", False, None),
        ("naam@@voorbeeld.nl", False, None),
        ("naam@voorbeeld..nl", False, None),
        ("geen email", False, None),
    ],
)
def test_email(raw, ok, value):
    parsed = parse_value(slot(SlotType.EMAIL), text=raw, payload_value=None, nlu=None)
    assert parsed.ok is ok and parsed.value == value


def test_gemeente_with_region_short_forms_old_names_and_suggestions():
    gemeente = slot(SlotType.GEMEENTE, region_slot="region")
    parsed = parse_value(gemeente, text="den haag", payload_value=None, nlu=None)
    assert parsed.ok and parsed.value == "Den Haag" and parsed.extra == {"region": "AM21"}
    parsed = parse_value(gemeente, text="ik woon in Utrecht", payload_value=None, nlu=None)
    assert parsed.ok and parsed.value == "Utrecht"
    parsed = parse_value(gemeente, text="Weesp", payload_value=None, nlu=None)
    assert parsed.ok and parsed.extra == {"region": "AM18"}
    parsed = parse_value(gemeente, text="Amsterdm", payload_value=None, nlu=None)
    assert parsed.ok and parsed.doubtful and parsed.value == "Amsterdam"  # "Bedoel je ...?"
    parsed = parse_value(gemeente, text="Rotterdm of Amsterdm", payload_value=None, nlu=None)
    assert not parsed.ok
    nlu = NluResult("inform", 0.9, entities=(Entity("gemeente", "Groningen"),))
    parsed = parse_value(
        slot(SlotType.GEMEENTE, entity="gemeente"),
        text="woon sinds kort in groningen stad",
        payload_value=None,
        nlu=nlu,
    )
    assert parsed.ok and parsed.value == "Groningen"


def test_choice_by_label_keyword_entity_and_fuzzy():
    choice = slot(
        SlotType.CHOICE,
        entity="contract_type",
        options=[
            ChoiceOption(value="vast", label=Text(nl="Vast", en="Permanent")),
            ChoiceOption(value="min_max", label=Text(nl="Min-max"), keywords=["minmax"]),
            ChoiceOption(value="nuluren", label=Text(nl="Oproep"), keywords=["nulurencontract"]),
        ],
    )

    def value(text, nlu=None):
        parsed = parse_value(choice, text=text, payload_value=None, nlu=nlu)
        return parsed.value if parsed.ok else None

    assert value("permanent") == "vast"
    assert value("ik heb een nulurencontract") == "nuluren"
    assert value("Oprop") == "nuluren"  # typo
    assert value("geen idee") is None
    assert (
        value("iets", NluResult("inform", 0.9, entities=(Entity("contract_type", "min-max"),)))
        == "min_max"
    )
    assert parse_value(choice, text=None, payload_value="vast", nlu=None).value == "vast"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ja", True),
        ("Ja hoor", True),
        ("yes please", True),
        ("ok", True),
        ("nee", False),
        ("no", False),
    ],
)
def test_yes_no(raw, expected):
    parsed = parse_value(slot(SlotType.YES_NO), text=raw, payload_value=None, nlu=None)
    assert parsed.ok and parsed.value is expected


def test_yes_no_falls_back_to_nlu_affirm_and_deny():
    yes_no = slot(SlotType.YES_NO)
    assert not parse_value(yes_no, text="lijkt me wel wat", payload_value=None, nlu=None).ok
    affirm = NluResult("affirm", 0.9)
    assert (
        parse_value(yes_no, text="lijkt me wel wat", payload_value=None, nlu=affirm).value is True
    )


def test_name_number_date_postcode():
    name = slot(SlotType.TEXT, format="name", max_length=60)
    assert (
        parse_value(name, text="ik heet anna maria", payload_value=None, nlu=None).value
        == "Anna Maria"
    )
    assert not parse_value(name, text="06 12345678", payload_value=None, nlu=None).ok
    number = slot(SlotType.NUMBER, min=0, max=80)
    assert parse_value(number, text="32,5", payload_value=None, nlu=None).value == 32.5
    assert not parse_value(number, text="99", payload_value=None, nlu=None).ok
    money = slot(SlotType.NUMBER)
    assert parse_value(money, text="€ 1.500", payload_value=None, nlu=None).value == 1500
    assert parse_value(money, text="1.500,50", payload_value=None, nlu=None).value == 1500.5
    day = slot(SlotType.DATE)
    assert parse_value(day, text="1-2-2025", payload_value=None, nlu=None).value == "2025-02-01"
    assert not parse_value(day, text="31-02-2025", payload_value=None, nlu=None).ok
    postcode = slot(SlotType.POSTCODE)
    assert parse_value(postcode, text="1012ab", payload_value=None, nlu=None).value == "1012 AB"
    assert not parse_value(postcode, text="12345", payload_value=None, nlu=None).ok


# Free-text answers without their lead-in (person trial, 6 December) ---------------------------

WORK = SlotDef(
    type=SlotType.TEXT,
    label=Text(nl="Werk / sector", en="Work / sector"),
    aliases=["sector", "beroep", "werk", "job", "work"],
)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Werk: ik werk in de thuiszorg als verzorgende", "in de thuiszorg als verzorgende"),
        ("Antwoord: magazijnmedewerker", "magazijnmedewerker"),
        ("Mijn werk: schoonmaak in een ziekenhuis", "schoonmaak in een ziekenhuis"),
        ("sector: zorg", "zorg"),
        ("Nou, ik werk als heftruckchauffeur", "heftruckchauffeur"),
        ("Work: I work as a cleaner", "cleaner"),
        ("ik ben een lasser", "lasser"),
    ],
)
def test_a_free_text_answer_loses_its_lead_in(typed, stored):
    parsed = parse_value(WORK, text=typed, payload_value=None, nlu=None)
    assert parsed.ok and parsed.value == stored


@pytest.mark.parametrize("typed", ["ik werk", "ik ben het", "Werk: ik doe het", "Werk:"])
def test_a_lead_in_is_never_stripped_to_nothing(typed):
    parsed = parse_value(WORK, text=typed, payload_value=None, nlu=None)
    assert parsed.value == typed
