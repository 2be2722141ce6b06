from __future__ import annotations

import pytest

from bot.flows.conditions import ConditionError, compile_condition


@pytest.mark.parametrize(
    ("source", "slots", "expected"),
    [
        ('slots.contact == "phone"', {"contact": "phone"}, True),
        ('slots.contact != "phone"', {"contact": "phone"}, False),
        ("slots.consent == true", {"consent": True}, True),
        ("not slots.consent", {}, True),
        ("slots.age >= 18 and slots.age < 67", {"age": 30}, True),
        ("slots.age > 3", {}, False),  # missing is null; null > 3 is simply false
        ('slots.kind in ["nuluren", "min_max"]', {"kind": "min_max"}, True),
        ('slots.kind not in ["nuluren", "min_max"]', {"kind": "vast"}, True),
        ("(slots.a == 1 or slots.b == 2) and not slots.c", {"b": 2}, True),
        ('context.language == "en"', {}, True),
    ],
)
def test_evaluation(source, slots, expected):
    assert compile_condition(source).evaluate(slots, {"language": "en"}) is expected


@pytest.mark.parametrize(
    "source",
    [
        "slots.a = 1",
        "__import__('os')",
        "slots.a ==",
        "x.y == 1",
        "context.secret == 1",
        "slots.a == (1",
        "",
        "slots.a.b == 1",
    ],
)
def test_invalid_conditions_are_rejected(source):
    with pytest.raises(ConditionError):
        compile_condition(source)


def test_slot_names():
    assert compile_condition("slots.a == 1 or not slots.b").slot_names() == {"a", "b"}
