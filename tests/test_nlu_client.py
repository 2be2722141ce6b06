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
from bot.nlu.rasa_env import free_port
from bot.ops.listener import Listener


class _Handler(tornado.web.RequestHandler):
    def initialize(self, state: dict[str, Any]) -> None:
        self.state = state

    async def post(self) -> None:
        self.state["calls"] += 1
        status, body = self.state["status"], self.state["body"]  # as when it was asked
        if self.state["delay"]:
            await asyncio.sleep(self.state["delay"])
        self.set_status(status)
        self.finish(body)


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


# --- the kept-alive connections (KeepAlive): a raw HTTP/1.1 server whose every byte we choose


class RawServer:
    """A real TCP server speaking HTTP/1.1 by hand, to answer in ways a framework will not:
    chunked with extensions and trailers, a body that ends with the connection, a kept-alive
    connection closed while a request is on its way, an answer cut off half-way."""

    def __init__(self) -> None:
        self.connections = 0
        self.requests: list[bytes] = []  # the request bodies, in arrival order
        self.answer: Any = _content_length(GOOD)  # (request number on its connection) -> bytes
        self.idle_close: float | None = None  # close a connection idle this long
        self._server: asyncio.Server | None = None
        self.url = ""

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        on_this = 0
        try:
            while True:
                try:
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.idle_close)
                except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                    return
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                self.requests.append(await reader.readexactly(length))
                answer = self.answer(on_this)
                on_this += 1
                if answer is None:
                    return  # closed without a word
                writer.write(answer)
                await writer.drain()
                if b"Connection: close" in answer.split(b"\r\n\r\n")[0]:
                    return
        finally:
            writer.close()


def _content_length(payload: Any, status: str = "200 OK") -> Any:
    body = json.dumps(payload).encode()
    answer = (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    return lambda _: answer


@pytest.fixture
async def raw() -> AsyncIterator[RawServer]:
    server = RawServer()
    await server.start()
    yield server
    await server.stop()


async def test_parses_share_one_kept_alive_connection(raw):
    async with NluClient(raw.url) as client:
        for _ in range(5):
            assert (await client.parse("ik woon in Tiel")).intent == "job_loss"
    assert raw.connections == 1 and len(raw.requests) == 5
    assert json.loads(raw.requests[0]) == {"text": "ik woon in Tiel"}


async def test_a_connection_the_server_closed_while_idle_is_not_used(raw):
    raw.idle_close = 0.05
    async with NluClient(raw.url, retries=0) as client:
        assert (await client.parse("hoi")).available
        await asyncio.sleep(0.2)  # the server hangs up meanwhile
        assert (await client.parse("hoi")).available
    assert raw.connections == 2 and len(raw.requests) == 2  # nothing sent into a closed one


async def test_a_kept_alive_connection_dropped_under_a_request_is_retried_once_anew(raw):
    """The race a keep-alive timeout leaves: the server closes the connection just as the
    next request goes out, without answering it. Sent again on a new connection, once."""
    good = _content_length(GOOD)(0)
    raw.answer = lambda nth: good if nth == 0 else None
    async with NluClient(raw.url, retries=0) as client:  # not the client's own retry
        assert (await client.parse("hoi")).available
        result = await client.parse("ik woon in Tiel")
    assert result.intent == "job_loss"
    assert raw.connections == 2 and len(raw.requests) == 3


async def test_a_new_connection_dropped_under_a_request_is_not_sent_again(raw):
    raw.answer = lambda _: None
    async with NluClient(raw.url, retries=0) as client:
        result = await client.parse("hoi")
    assert not result.available and result.intent == NLU_UNAVAILABLE
    assert len(raw.requests) == 1


async def test_a_chunked_answer_is_read(raw):
    body = json.dumps(GOOD).encode()
    chunks = b"".join(
        b"%x;ext=1\r\n%s\r\n" % (len(body[i : i + 7]), body[i : i + 7])
        for i in range(0, len(body), 7)
    )
    answer = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunks
        + b"0\r\nX-Trailer: yes\r\n\r\n"
    )
    raw.answer = lambda _: answer
    async with NluClient(raw.url) as client:
        for _ in range(3):  # the connection is left exactly at the next answer
            result = await client.parse("ik woon in Tiel")
            assert result.intent == "job_loss" and result.entity("gemeente") == "Tiel"
    assert raw.connections == 1


async def test_an_answer_that_ends_with_the_connection_is_read(raw):
    body = json.dumps(GOOD).encode()
    raw.answer = lambda _: b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + body
    async with NluClient(raw.url, retries=0) as client:
        assert (await client.parse("hoi")).intent == "job_loss"
        assert (await client.parse("hoi")).intent == "job_loss"
    assert raw.connections == 2


async def test_an_answer_cut_off_is_unavailable_and_the_next_parse_is_fine(raw):
    body = json.dumps(GOOD).encode()
    cut = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s" % (
        len(body),
        body[:20],  # then the server hangs up
    )
    whole = _content_length(GOOD)(0)
    raw.answer = lambda nth: cut if len(raw.requests) == 1 else whole
    async with NluClient(raw.url, retries=0) as client:
        assert not (await client.parse("hoi")).available
        assert (await client.parse("hoi")).intent == "job_loss"


@pytest.mark.parametrize(
    "answer",
    [
        b"SSH-2.0-OpenSSH\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -4\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n",
    ],
)
async def test_an_answer_that_is_not_http_is_unavailable(raw, answer):
    raw.answer = lambda _: answer
    async with NluClient(raw.url, retries=0) as client:
        result = await client.parse("hoi")
    assert not result.available and result.intent == NLU_UNAVAILABLE


async def test_a_late_answer_is_never_read_as_the_next_parse(rasa_like):
    """The first parse times out while its answer is still coming; the second must get its
    own answer, not the first one's (its connection is closed, not kept)."""
    rasa_like["body"] = json.dumps({**GOOD, "intent": {"name": "late", "confidence": 0.9}})
    rasa_like["delay"] = 0.6
    async with NluClient(rasa_like["url"], timeout=0.2, retries=0) as client:
        assert not (await client.parse("hoi")).available
        rasa_like["body"], rasa_like["delay"] = json.dumps(GOOD), 0.0
        await asyncio.sleep(0.6)  # the late answer has been written by now
        assert (await client.parse("ik woon in Tiel")).intent == "job_loss"


async def test_a_server_that_is_not_there_is_unavailable_at_once():
    async with NluClient(f"http://127.0.0.1:{free_port()}", retries=0) as client:
        started = time.monotonic()
        assert not (await client.parse("hoi")).available
        assert not await client.is_ready()
    assert time.monotonic() - started < 1.0


@pytest.mark.rasa
async def test_the_real_rasa_over_kept_alive_connections(rasa_url):
    """Rasa's own server (Sanic): parses in a row and at once, all on a few connections."""
    async with NluClient(rasa_url) as client:
        assert await client.is_ready()
        alone = await client.parse("ik heb een nulurencontract in Zaandam")
        together = await asyncio.gather(
            *(client.parse("ik heb een nulurencontract in Zaandam") for _ in range(8))
        )
        again = [await client.parse("ik ben mn baan kwijt") for _ in range(5)]
    assert alone.intent == "flex_contract" and alone.entity("gemeente") == "Zaandam"
    assert all(r.intent == alone.intent and r.entities == alone.entities for r in together)
    assert all(r.available and r.intent == "job_loss" for r in again)
