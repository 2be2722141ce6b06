"""The overload policy (bot/nlu/admission.py) against a real local HTTP server that answers
slowly: a turn's NLU budget counts from the turn's start (not the message's arrival), an answer
that would come later than `ON_TIME` after arrival is given with keywords, Rasa is asked by a
bounded number of turns at once, and what cannot be parsed in time is shed to keywords, never an
error or a long wait."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import tornado.web

from bot.nlu.admission import Admission, turn_started
from bot.nlu.client import NluClient
from bot.ops import metrics
from bot.ops.listener import Listener

GOOD = {
    "intent": {"name": "job_loss", "confidence": 0.9},
    "entities": [],
    "intent_ranking": [{"name": "job_loss", "confidence": 0.9}],
}


class _Parse(tornado.web.RequestHandler):
    def initialize(self, state: dict[str, Any]) -> None:
        self.state = state

    async def post(self) -> None:
        self.state["calls"] += 1
        self.state["now"] += 1
        self.state["most"] = max(self.state["most"], self.state["now"])
        try:
            await asyncio.sleep(self.state["delay"])
        finally:
            self.state["now"] -= 1
        self.finish(json.dumps(GOOD))


@pytest.fixture
async def slow_rasa() -> AsyncIterator[dict[str, Any]]:
    state: dict[str, Any] = {"delay": 0.0, "calls": 0, "now": 0, "most": 0}
    app = tornado.web.Application([(r"/model/parse", _Parse, {"state": state})])
    server = Listener(app)
    state["url"] = f"http://127.0.0.1:{server.start(listen='127.0.0.1', port=0)}"
    yield state
    await server.stop()


def shed_count() -> float:
    return metrics.NLU_TURNS.labels(outcome="shed")._value.get()


async def test_a_turn_whose_message_waited_past_its_budget_is_still_parsed(slow_rasa):
    # It waited 2.5 s for room: more than the 2 s budget, less than ON_TIME (3 s). Counted from
    # arrival it would be shed without asking; counted from the turn's start, Rasa parses it.
    slow_rasa["delay"] = 0.05
    async with NluClient(slow_rasa["url"], timeout=2.0) as client:
        admission = Admission(client, budget=2.0)
        with turn_started(time.monotonic() - 2.5):
            result = await admission.parse("mijn contract stopt")
    assert result.available
    assert slow_rasa["calls"] == 1


async def test_a_parse_never_makes_an_answer_later_than_on_time_after_arrival(slow_rasa):
    slow_rasa["delay"] = 1.0
    async with NluClient(slow_rasa["url"], timeout=2.0) as client:
        admission = Admission(client, budget=2.0, on_time=3.0)
        started = time.monotonic()
        with turn_started(started - 2.3):  # it waited 2.3 s for room: 0.7 s left, not 2 s
            result = await admission.parse("mijn contract stopt")
        waited = time.monotonic() - started
    assert not result.available  # keywords and buttons instead
    assert waited < 0.9  # what was left until 3 s after arrival, not the whole budget


async def test_a_message_that_waited_past_on_time_is_shed_without_asking_rasa(slow_rasa):
    async with NluClient(slow_rasa["url"]) as client:
        admission = Admission(client, budget=2.0, on_time=3.0)
        before = shed_count()
        with turn_started(time.monotonic() - 3.5):
            result = await admission.parse("hoi")
    assert not result.available
    assert slow_rasa["calls"] == 0
    assert shed_count() == before + 1


async def test_rasa_is_asked_by_a_bounded_number_of_turns_and_the_rest_shed_in_time(slow_rasa):
    slow_rasa["delay"] = 0.3
    async with NluClient(slow_rasa["url"], timeout=1.0, retries=0) as client:
        admission = Admission(client, budget=1.0, max_in_flight=2)
        started = time.monotonic()

        async def one_turn() -> bool:
            with turn_started(time.monotonic()):
                return (await admission.parse("ik zoek werk")).available

        results = await asyncio.gather(*(one_turn() for _ in range(12)))
        took = time.monotonic() - started
    assert slow_rasa["most"] <= 2  # never more at Rasa at once
    assert 2 <= sum(results) <= 8  # the first ones parsed ...
    assert not all(results)  # ... the rest shed to keywords
    # Hardly anything sent that was then abandoned (a rest shorter than a parse is not sent).
    assert slow_rasa["calls"] <= sum(results) + 1
    assert took < 1.4  # every turn within its budget (plus scheduling)


async def test_budgets_shortened_by_queueing_do_not_open_the_breaker(slow_rasa):
    slow_rasa["delay"] = 0.2
    async with NluClient(slow_rasa["url"], timeout=2.0, breaker_failures=2) as client:
        admission = Admission(client, budget=2.0)
        for _ in range(4):  # each starts with 0.1 s left of ON_TIME: too little for this Rasa
            with turn_started(time.monotonic() - 2.9):
                assert not (await admission.parse("hoi")).available
        with turn_started(time.monotonic()):
            assert (await admission.parse("hoi")).available  # Rasa is still asked


def test_notices_are_rationed_when_many_wait_at_once():
    from bot.nlu.admission import NoticeBudget

    budget = NoticeBudget(rate=5, burst=10)
    granted = sum(budget.take() for _ in range(100))
    assert granted == 10  # a burst, then at most the rate
    time.sleep(0.45)
    assert 1 <= sum(budget.take() for _ in range(100)) <= 3
