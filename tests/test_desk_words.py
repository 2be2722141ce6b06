"""What a coach reads about a case: a pressed button as its label (never "[v:tijdelijk]" or
"knop: yes"), and the region said once on the card."""

from __future__ import annotations

import pytest

from bot.config import PROJECT_ROOT
from bot.desk.cards import CaseCard
from bot.desk.pressed import logged_payload, pressed_label
from bot.desk.render import card_lines
from bot.flows.flowset import FlowSet
from bot.flows.loader import load_flows


@pytest.fixture(scope="module")
def flows() -> FlowSet:
    found = load_flows(PROJECT_ROOT / "flows").flowset
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("logged", "flow", "nl", "en"),
    [
        ("[v:yes]", "consent_check", "Ja", "Yes"),
        ("[v:no]", "intake", "Nee", "No"),
        ("[v:tijdelijk]", "intake", "Tijdelijk", "Temporary"),
        ("[v:morning]", None, "Ochtend", "Morning"),
        ("[f:job_loss]", None, "Ik verlies (mogelijk) mijn werk", "I am losing my job"),
        ("[lang:en]", None, "English", "English"),
        ("[cmd:skip]", "intake", None, None),
        ("[d:yes]", "intake", "Ja", "Yes"),
    ],
)
def test_a_pressed_button_reads_as_its_label(
    flows: FlowSet, logged: str, flow: str | None, nl: str | None, en: str | None
) -> None:
    payload = logged_payload(logged)
    assert payload is not None
    shown_nl = pressed_label(flows, payload, flow=flow, language="nl")
    shown_en = pressed_label(flows, payload, flow=flow, language="en")
    for shown in (shown_nl, shown_en):
        assert payload not in shown and ":" not in shown and shown
    if nl is not None:
        assert (shown_nl, shown_en) == (nl, en)


def test_typed_text_is_no_button() -> None:
    assert logged_payload("ik ben mijn baan kwijt") is None
    assert logged_payload("[") is None


def test_the_region_is_said_once_on_the_card(flows: FlowSet) -> None:
    summary = [
        {"slot": "first_name", "label": "Voornaam", "value": "Sam", "role": "first_name"},
        {"slot": "gemeente", "label": "Woonplaats", "value": "Utrecht (regio Midden-Utrecht)"},
        {"slot": "region", "label": "Arbeidsmarktregio", "value": "Midden-Utrecht", "raw": "AM13"},
        {"slot": "work", "label": "Werk / sector", "value": "logistiek in Midden-Utrecht"},
    ]
    card = CaseCard.from_summary(case_id=1, region_code="AM13", status="assigned", summary=summary)
    lines = card_lines(flows, card, "nl")
    assert lines == [
        ("Naam", "Sam"),
        ("Woonplaats", "Utrecht (regio Midden-Utrecht)"),
        ("Werk / sector", "logistiek in Midden-Utrecht"),
    ]
    # Without a town, the region has its own line (with its code), once.
    no_town = CaseCard.from_summary(
        case_id=2, region_code="AM13", status="assigned", summary=[summary[0], summary[2]]
    )
    assert card_lines(flows, no_town, "nl") == [("Naam", "Sam"), ("Regio", "Midden-Utrecht (AM13)")]
