"""The NLU client against a real local HTTP server that answers wrongly or slowly: a turn
never fails or waits long because of the NLU."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import tornado.web

from bot.nlu.client import NLU_UNAVAILABLE, NluClient
from bot.ops.listener import Listener


class _Handler(tornado.web.RequestHandler):
    def initialize(self, state: dict[str, Any]) -> None:
        self.state = state

    async def post(self) -> None:
        self.state["calls"] += 1
        if self.state["delay"]:
            await asyncio.sleep(self.state["delay"])
        self.set_status(self.state["status"])
        self.finish(self.state["body"])


@pytest.fixture
async def rasa_like() -> AsyncIterator[dict[str, Any]]:
    state: dict[str, Any] = {"body": "{}", "status": 200, "delay": 0.0, "calls": 0}
    app = tornado.web.Application([(r"/model/parse", _Handler, {"state": state})])
    server = Listener(app)
    state["url"] = f"http://127.0.0.1:{server.start(listen='127.0.0.1', port=0)}"
    yield state
    await server.stop()


GOOD = {
    "intent": {"name": "job_loss", "confidence": 0.9},
    "entities": [{"entity": "gemeente", "value": "Tiel", "start": 0, "end": 4}],
    "intent_ranking": [{"name": "job_loss", "confidence": 0.9}],
}
WRONG_SHAPES = [
    "[]",
    "null",
    '"text"',
    "42",
    "{}",
    '{"intent": null}',
    '{"intent": "job_loss"}',
    '{"intent": {"name": 5}}',
    '{"intent": {"name": "x", "confidence": "high"}}',
    '{"intent": {"name": "x", "confidence": 7}}',
    '{"intent": {"name": "x", "confidence": 0.5}, "entities": {"a": 1}}',
    '{"intent": {"name": "x", "confidence": 0.5}, "intent_ranking": 3}',
    "<html>Bad gateway</html>",
]


async def test_a_good_answer_is_read(rasa_like):
    rasa_like["body"] = json.dumps(GOOD)
    async with NluClient(rasa_like["url"]) as client:
        result = await client.parse("ik woon in Tiel")
    assert result.available and result.intent == "job_loss"
    assert result.entity("gemeente") == "Tiel"


@pytest.mark.parametrize("body", WRONG_SHAPES)
async def test_an_answer_of_another_shape_is_unavailable_never_an_exception(rasa_like, body):
    rasa_like["body"] = body
    async with NluClient(rasa_like["url"], retries=0) as client:
        result = await client.parse("hoi")
    assert not result.available and result.intent == NLU_UNAVAILABLE


async def test_a_slow_server_costs_a_turn_at_most_the_timeout_then_nothing(rasa_like):
    rasa_like["body"] = json.dumps(GOOD)
    rasa_like["delay"] = 5.0
    async with NluClient(rasa_like["url"], timeout=0.5, breaker_failures=2) as client:
        started = time.monotonic()
        first = await client.parse("hoi")
        assert time.monotonic() - started < 1.0 and not first.available
        await client.parse("hoi")  # second failure: the breaker opens
        calls = rasa_like["calls"]
        started = time.monotonic()
        for _ in range(5):
            assert not (await client.parse("hoi")).available
        assert time.monotonic() - started < 0.1  # not asked at all while open
        assert rasa_like["calls"] == calls


async def test_it_recovers_after_the_breaker_time(rasa_like):
    rasa_like["status"] = 500
    async with NluClient(
        rasa_like["url"], retries=0, breaker_failures=1, breaker_seconds=0.3
    ) as client:
        assert not (await client.parse("hoi")).available
        rasa_like["status"], rasa_like["body"] = 200, json.dumps(GOOD)
        assert not (await client.parse("hoi")).available  # still open
        await asyncio.sleep(0.4)
        assert (await client.parse("hoi")).available
