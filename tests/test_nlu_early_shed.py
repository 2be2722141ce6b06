"""Early shed (bot/nlu/admission.py): a turn that finds every Rasa slot taken and cannot get one
in time for a parse falls back to keywords at once, instead of waiting out its budget first —
against a real local HTTP server that parses slowly."""

from __future__ import annotations

import asyncio
import time

from bot.nlu.admission import Admission, turn_started
from bot.nlu.client import NluClient
from tests.test_nlu_admission import shed_count, slow_rasa

__all__ = ["slow_rasa"]  # the fixture, used by name below

PARSE = 0.4  # seconds Rasa takes per parse here
BUDGET = 2.0


async def timed(admission: Admission, text: str) -> tuple[bool, float]:
    started = time.monotonic()
    with turn_started(started):
        result = await admission.parse(text)
    return result.available, time.monotonic() - started


async def test_a_turn_that_cannot_get_a_slot_in_time_is_shed_at_once(slow_rasa):
    slow_rasa["delay"] = PARSE
    async with NluClient(slow_rasa["url"], timeout=BUDGET) as client:
        admission = Admission(client, budget=BUDGET, max_in_flight=1)
        assert (await timed(admission, "warm"))[0]  # it learns how long a parse takes
        before = shed_count()
        outcomes = await asyncio.gather(*(timed(admission, f"bericht {i}") for i in range(8)))

    parsed = [took for ok, took in outcomes if ok]
    shed = [took for ok, took in outcomes if not ok]
    # One slot, 0.4 s a parse, 2 s budget: the first turns are parsed one after another ...
    assert len(parsed) >= 3
    assert all(took <= BUDGET for took in parsed)
    # ... and the ones whose turn at Rasa would come too late know it at once: none of them
    # waited out its 2 s (or even one parse) before going on with keywords.
    quick = [took for took in shed if took < PARSE / 2]
    assert len(quick) >= 3
    assert len(shed) - len(quick) <= 1  # at most one, on the edge, found out while waiting
    assert all(took <= BUDGET for took in shed)
    assert shed_count() == before + len(shed)
    assert slow_rasa["most"] == 1 and slow_rasa["calls"] == 1 + len(parsed)  # none abandoned


async def test_when_slots_free_up_in_time_the_turn_waits_and_is_parsed(slow_rasa):
    slow_rasa["delay"] = 0.1
    async with NluClient(slow_rasa["url"], timeout=BUDGET) as client:
        admission = Admission(client, budget=BUDGET, max_in_flight=2)
        assert (await timed(admission, "warm"))[0]
        outcomes = await asyncio.gather(*(timed(admission, f"bericht {i}") for i in range(6)))
    assert all(ok for ok, _ in outcomes)  # 3 rounds of 0.1 s fit easily in 2 s: nobody shed
