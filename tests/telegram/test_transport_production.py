"""The kept-alive Bot API transport (bot/channels/telegram/transport.py) as production meets it:
https with verified certificates, a proxy in between, a long poll whose connection the server
drops, and answers from a load balancer instead of Telegram (HTML error pages, answers that
close the connection, large chunked bodies, headers in any case) — each as PTB's own httpx
request handles it."""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from telegram import Bot
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest

from bot.channels.telegram import rawapi
from bot.channels.telegram import transport as transport_module
from bot.channels.telegram.intake import Intake
from bot.channels.telegram.poller import Poller
from bot.channels.telegram.transport import KeptAliveRequest, bot_request
from bot.config import DEFAULT_TELEGRAM_BASE_URL
from storage.inbox import Claimed

TOKEN = "123:abc"
ME = {"id": 1, "is_bot": True, "first_name": "Loopbaanbot", "username": "careerbot"}
PROXY_VARIABLES = [
    f"{name}_proxy" if lower else f"{name.upper()}_PROXY"
    for name in ("http", "https", "all", "no")
    for lower in (True, False)
]


def ok(result: Any, *, headers: str = "Content-Type: application/json\r\n") -> bytes:
    body = json.dumps({"ok": True, "result": result}).encode()
    return f"HTTP/1.1 200 OK\r\n{headers}Content-Length: {len(body)}\r\n\r\n".encode() + body


@dataclass
class Seen:
    connection: int  # 0, 1, … in the order they were opened
    line: str  # the request line
    params: dict[str, str]


# An answer for a request: bytes to write, or None to close the connection unanswered.
Script = Callable[[Seen], "Answer"]


@dataclass
class Answer:
    data: bytes | None
    close: bool = False  # close the connection after writing (without saying so)
    delay: float = 0.0
    hold: bool = False  # never answer (a long poll that waits)


@dataclass
class RawServer:
    """A bare HTTP/1.1 server that answers as a script says: what a proxy or a load balancer
    in front of the Bot API may send, which the fake Bot API (tornado) never does."""

    script: Script
    tls: ssl.SSLContext | None = None
    seen: list[Seen] = field(default_factory=list)
    sni: list[str | None] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None
    _connections: int = 0
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self, host: str = "127.0.0.1") -> RawServer:
        if self.tls is not None:
            self.tls.sni_callback = lambda sock, name, ctx: self.sni.append(name)
        self._server = await asyncio.start_server(self._serve, host, 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        self._stopping.set()  # held answers end: their connections close
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        number = self._connections
        self._connections += 1
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                lines = head.split("\r\n")
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                body = (await reader.readexactly(length)).decode() if length else ""
                params = dict(p.split("=", 1) for p in body.split("&") if "=" in p)
                seen = Seen(number, lines[0], params)
                self.seen.append(seen)
                answer = self.script(seen)
                if answer.hold:
                    await self._stopping.wait()
                    break
                if answer.delay:
                    await asyncio.sleep(answer.delay)
                if answer.data is None:
                    break
                writer.write(answer.data)
                await writer.drain()
                if answer.close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def servers() -> AsyncIterator[list[RawServer]]:
    started: list[RawServer] = []
    yield started
    for server in started:
        await server.stop()


async def _start(started: list[RawServer], script: Script, **kwargs: Any) -> RawServer:
    server = await RawServer(script, **kwargs).start()
    started.append(server)
    return server


async def _bot(request: BaseRequest, base_url: str) -> Bot:
    bot = Bot(TOKEN, base_url=base_url, request=request, get_updates_request=request)
    await request.initialize()
    return bot


# --- https -------------------------------------------------------------------------------


@dataclass
class Certificate:
    cert: Path
    key: Path


@pytest.fixture(scope="module")
def localhost_cert(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for "localhost" (and only that name)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return Certificate(cert, key)


def _server_tls(certificate: Certificate) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate.cert, certificate.key)
    return context


def _me(seen: Seen) -> Answer:
    return Answer(ok(ME))


async def test_https_with_a_trusted_certificate_answers_and_names_the_host(
    servers: list[RawServer], localhost_cert: Certificate
) -> None:
    server = await _start(servers, _me, tls=_server_tls(localhost_cert))
    trusted = ssl.create_default_context(cafile=str(localhost_cert.cert))
    request = KeptAliveRequest(ssl_context=trusted)
    bot = await _bot(request, f"https://localhost:{server.port}/bot")
    try:
        me = await rawapi.call(bot, "getMe", {})
        await rawapi.call(bot, "getMe", {})
    finally:
        await request.shutdown()
    assert me["username"] == "careerbot"
    assert server.sni == ["localhost"]  # one TLS connection, kept, for the right host name


@pytest.mark.parametrize(
    ("host", "trust"),
    [("localhost", False), ("127.0.0.1", True)],
    ids=["unknown-issuer", "wrong-host-name"],
)
async def test_https_refuses_a_certificate_it_cannot_verify(
    servers: list[RawServer], localhost_cert: Certificate, host: str, trust: bool
) -> None:
    server = await _start(servers, _me, tls=_server_tls(localhost_cert))
    # Verification is on without being asked for (the system's CAs do not know this issuer);
    # with the issuer trusted, a certificate for another name is still refused.
    context = ssl.create_default_context(cafile=str(localhost_cert.cert)) if trust else None
    request = KeptAliveRequest(ssl_context=context)
    bot = await _bot(request, f"https://{host}:{server.port}/bot")
    try:
        with pytest.raises(NetworkError) as refused:
            await rawapi.call(bot, "getMe", {})
    finally:
        await request.shutdown()
    assert not isinstance(refused.value, TimedOut)
    assert "SSLCertVerificationError" in refused.value.message
    assert server.seen == []  # no request went out on it


async def test_https_connections_the_server_closes_between_calls_are_replaced_unnoticed(
    servers: list[RawServer], localhost_cert: Certificate
) -> None:
    # Telegram closes idle connections without a word: the next call finds its connection
    # gone (seen at once, or when its request fails before any answer) and takes a new one.
    def closes(seen: Seen) -> Answer:
        if sum(s.connection == seen.connection for s in server.seen) == 1:
            return Answer(ok(ME))
        return Answer(None)  # closed as the next request came in: it is not answered

    server = await _start(servers, closes, tls=_server_tls(localhost_cert))
    trusted = ssl.create_default_context(cafile=str(localhost_cert.cert))
    request = KeptAliveRequest(ssl_context=trusted)
    bot = await _bot(request, f"https://localhost:{server.port}/bot")
    try:
        answers = [await rawapi.call(bot, "getMe", {}) for _ in range(6)]
    finally:
        await request.shutdown()
    assert answers == [ME] * 6
    assert [s.connection for s in server.seen] == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5]


# --- proxies -----------------------------------------------------------------------------


@pytest.fixture
def no_proxy_set(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({}, KeptAliveRequest),
        ({"HTTPS_PROXY": "http://proxy.example:3128"}, HTTPXRequest),
        ({"https_proxy": "http://proxy.example:3128"}, HTTPXRequest),
        ({"ALL_PROXY": "http://proxy.example:3128"}, HTTPXRequest),
        ({"HTTP_PROXY": "http://proxy.example:3128"}, KeptAliveRequest),  # not for https
        (
            {"HTTPS_PROXY": "http://p.example:3128", "NO_PROXY": "api.telegram.org"},
            KeptAliveRequest,
        ),
        ({"HTTPS_PROXY": "http://p.example:3128", "NO_PROXY": ".telegram.org"}, KeptAliveRequest),
    ],
)
def test_a_proxy_for_the_bot_api_host_gets_ptbs_httpx_request(
    no_proxy_set: pytest.MonkeyPatch, variables: dict[str, str], expected: type
) -> None:
    for name, value in variables.items():
        no_proxy_set.setenv(name, value)
    request = bot_request(DEFAULT_TELEGRAM_BASE_URL, keep=4, read_timeout=10)
    assert type(request) is expected


def test_ptbs_proxy_option_gets_ptbs_httpx_request(no_proxy_set: pytest.MonkeyPatch) -> None:
    request = bot_request(
        DEFAULT_TELEGRAM_BASE_URL, keep=4, read_timeout=10, proxy="http://proxy.example:3128"
    )
    assert isinstance(request, HTTPXRequest)


async def test_with_http_proxy_set_the_bot_api_calls_go_through_the_proxy(
    servers: list[RawServer], no_proxy_set: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    proxy = await _start(servers, _me)
    no_proxy_set.setattr(transport_module, "_told_proxy", False)
    no_proxy_set.setenv("HTTP_PROXY", f"http://user:geheim@127.0.0.1:{proxy.port}")
    base_url = "http://api.telegram.invalid/bot"  # reachable only through the proxy
    caplog.set_level(logging.INFO, "bot.channels.telegram.transport")
    request = bot_request(base_url, keep=2, read_timeout=5)
    bot = await _bot(request, base_url)
    try:
        me = await rawapi.call(bot, "getMe", {})
    finally:
        await request.shutdown()
    assert me["username"] == "careerbot"
    assert proxy.seen[0].line == f"POST {base_url}{TOKEN}/getMe HTTP/1.1"
    assert "HTTP_PROXY" in caplog.text  # said once, without the proxy's password
    assert "geheim" not in caplog.text


# --- long polling ------------------------------------------------------------------------


def _update(update_id: int) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 0,
            "chat": {"id": 7, "type": "private"},
            "from": {"id": 7, "is_bot": False, "first_name": "P"},
            "text": "hallo",
        },
    }


async def test_long_polls_survive_connections_the_server_drops_mid_poll_and_between_polls(
    servers: list[RawServer], telegram_db: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    def telegram(seen: Seen) -> Answer:
        offset = int(seen.params.get("offset", 1))
        polls_here = [s for s in server.seen if s.connection == seen.connection]
        if seen.connection == 0 and len(polls_here) == 2:
            return Answer(None, delay=0.3)  # dropped mid-poll, the request unanswered
        if offset > 3:
            return Answer(None, hold=True)  # nothing new: the poll waits
        # The answer arrives after the request's own timeouts (0.4 s in all): the poll's
        # timeout and margin apply, not those.
        answer = Answer(ok([_update(offset)]), delay=0.6)
        # The connection idles out after the answer (without "Connection: close"): the next
        # poll finds it closed.
        answer.close = seen.connection == 1
        return answer

    server = await _start(servers, telegram)
    base_url = f"http://127.0.0.1:{server.port}/bot"
    offered: list[Claimed] = []
    intake = Intake(telegram_db, worker_id="w1", offer=offered.extend)
    request = KeptAliveRequest(keep=2, read_timeout=0.2, write_timeout=0.1, connect_timeout=0.1)
    bot = await _bot(request, base_url)
    poller = Poller(bot, intake, timeout=5, allowed_updates=["message"])
    caplog.set_level(logging.WARNING)
    await poller.start()
    try:
        for _ in range(200):
            if len(offered) == 3 and len(server.seen) >= 5:
                break
            await asyncio.sleep(0.05)
        assert poller._task is not None and not poller._task.done()
    finally:
        await poller.stop()
        await request.shutdown()
    assert [c.update_id for c in offered] == [1, 2, 3]  # none lost, none twice
    assert [s.params.get("offset") for s in server.seen] == [None, "2", "2", "3", "4"]
    assert "getUpdates failed" not in caplog.text  # recovered below the poller


# --- what a proxy or load balancer may answer ----------------------------------------------


@pytest.fixture(params=["kept-alive", "httpx"])
def transport(request: pytest.FixtureRequest) -> BaseRequest:
    if request.param == "httpx":
        return HTTPXRequest(read_timeout=2, connect_timeout=2)
    return KeptAliveRequest(read_timeout=2, connect_timeout=2)


async def test_a_load_balancers_html_error_page_is_a_network_error_and_the_next_call_works(
    servers: list[RawServer], transport: BaseRequest
) -> None:
    page = b"<html><body><h1>502 Bad Gateway</h1></body></html>\r\n"

    def balancer(seen: Seen) -> Answer:
        if len(server.seen) == 1:  # an old-style answer: no length, ends with the connection
            head = b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nConnection: close\r\n"
            return Answer(head + b"\r\n" + page, close=True)
        return Answer(ok(ME))

    server = await _start(servers, balancer)
    bot = await _bot(transport, f"http://127.0.0.1:{server.port}/bot")
    try:
        with pytest.raises(NetworkError) as failed:
            await rawapi.call(bot, "getMe", {})
        me = await rawapi.call(bot, "getMe", {})
    finally:
        await transport.shutdown()
    assert "Bad Gateway (502)" in failed.value.message
    assert me["username"] == "careerbot"


async def test_answers_that_close_the_connection_large_chunked_and_in_any_header_case(
    servers: list[RawServer], transport: BaseRequest
) -> None:
    updates = [_update(i) | {"pad": "x" * 2000} for i in range(1, 1001)]  # ~2 MiB

    def answers(seen: Seen) -> Answer:
        if "getUpdates" in seen.line:
            body = json.dumps({"ok": True, "result": updates}).encode()
            chunks = b"".join(
                b"%x\r\n%s\r\n" % (len(body[i : i + 50_000]), body[i : i + 50_000])
                for i in range(0, len(body), 50_000)
            )
            head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nTRANSFER-ENCODING: Chunked\r\n\r\n"
            return Answer(head + chunks + b"0\r\n\r\n")
        return Answer(ok(ME, headers="CONNECTION: Close\r\n"), close=True)

    server = await _start(servers, answers)
    bot = await _bot(transport, f"http://127.0.0.1:{server.port}/bot")
    try:
        first = await rawapi.call(bot, "getMe", {})
        second = await rawapi.call(bot, "getMe", {})  # the first connection is gone
        got = await rawapi.call(bot, "getUpdates", {"timeout": 0})
        again = await rawapi.call(bot, "getUpdates", {"timeout": 0})  # kept after a chunked one
    finally:
        await transport.shutdown()
    assert first == second == ME
    assert got == again == updates
    assert [s.connection for s in server.seen] == [0, 1, 2, 2]
