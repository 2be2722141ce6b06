"""Async client for the Rasa NLU HTTP server (`POST /model/parse`).

It never raises on network trouble: after a timeout and a few retries it returns a result with
`available=False` and intent `nlu_unavailable`, so the engine can fall back to buttons and
keywords instead of showing a participant an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import ssl
import time
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

NLU_UNAVAILABLE = "nlu_unavailable"
NLU_FALLBACK = "nlu_fallback"


@dataclass(frozen=True, slots=True)
class Entity:
    entity: str
    value: str
    start: int | None = None
    end: int | None = None


@dataclass(frozen=True, slots=True)
class IntentScore:
    name: str
    confidence: float


@dataclass(frozen=True, slots=True)
class NluResult:
    intent: str
    confidence: float
    entities: tuple[Entity, ...] = ()
    ranking: tuple[IntentScore, ...] = ()  # best first, without nlu_fallback
    available: bool = True
    # The sentence vector (L2-normalised, 384 numbers) when the server sends one, and the
    # model that made it: answers at a question are compared with the options by meaning.
    text_vector: tuple[float, ...] | None = None
    text_vector_model: str | None = None

    def entity(self, name: str) -> str | None:
        """The value of the first entity of that type, if any."""
        return next((e.value for e in self.entities if e.entity == name), None)

    @classmethod
    def unavailable(cls) -> NluResult:
        return cls(intent=NLU_UNAVAILABLE, confidence=0.0, available=False)

    @classmethod
    def from_rasa(cls, payload: Any) -> NluResult:
        """Read Rasa's /model/parse answer. Anything of another shape (a proxy's error page, a
        different server) counts as "unavailable", never as an exception."""
        try:
            return cls._from_rasa(payload)
        except (AttributeError, TypeError, ValueError, KeyError):
            return cls.unavailable()

    @classmethod
    def _from_rasa(cls, payload: Any) -> NluResult:
        if not isinstance(payload, dict) or not isinstance(payload.get("intent"), dict):
            raise ValueError("not a parse result")
        intent = payload["intent"]
        name = intent.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError("no intent name")
        for field in ("entities", "intent_ranking"):
            if not isinstance(payload.get(field) or [], list):
                raise ValueError(f"{field} is not a list")
        entities = tuple(
            Entity(
                entity=str(e["entity"]),
                value=str(e["value"]),
                start=e.get("start") if isinstance(e.get("start"), int) else None,
                end=e.get("end") if isinstance(e.get("end"), int) else None,
            )
            for e in payload.get("entities") or []
            if isinstance(e, dict) and "entity" in e and "value" in e
        )
        ranking = tuple(
            IntentScore(name=str(r["name"]), confidence=_probability(r.get("confidence")))
            for r in payload.get("intent_ranking") or []
            if isinstance(r, dict) and r.get("name") and r.get("name") != NLU_FALLBACK
        )
        vector, model = _vector(payload)
        return cls(
            intent=name,
            confidence=_probability(intent.get("confidence")),
            entities=entities,
            ranking=ranking,
            text_vector=vector,
            text_vector_model=model,
        )


def _vector(payload: dict[str, Any]) -> tuple[tuple[float, ...] | None, str | None]:
    """The optional sentence vector; a malformed one is ignored (the words still count)."""
    raw, model = payload.get("text_vector"), payload.get("text_vector_model")
    if not isinstance(raw, list) or not raw or not isinstance(model, str):
        return None, None
    try:
        vector = tuple(float(x) for x in raw)
    except (TypeError, ValueError):
        return None, None
    if not all(math.isfinite(x) for x in vector):
        return None, None
    return vector, model


def _probability(value: Any) -> float:
    number = float(value or 0.0)
    if not 0.0 <= number <= 1.0:  # NaN fails both comparisons
        raise ValueError("confidence out of range")
    return number


class NluParser(Protocol):
    async def parse(self, text: str) -> NluResult: ...


class HttpError(Exception):
    """The server could not be reached or answered something that is not HTTP/1.1 (the
    message holds no request data: only what went wrong)."""


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes


_Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]
_MAX_BODY = 16 * 1024 * 1024  # a parse answer is a few KiB; anything this big is no answer


class KeepAlive:
    """A few HTTP/1.1 connections to one server, kept open between requests.

    Why not httpx: for one small JSON request to a server on the same network, httpx's
    layers (request and response models, httpcore's pool and state machine, h11) cost about
    five times the CPU of the request itself; the bot asks Rasa once per turn. This speaks
    only what Rasa's server needs: a request with a Content-Length body, an answer with a
    Content-Length or chunked body (or one that ends with the connection).

    A connection the server closed while it was idle is noticed when it is taken (then
    dropped), or when the request on it fails before any byte of an answer arrived: then the
    server cannot have answered it, and it is sent once more on a new connection. A request
    that is cancelled or fails half-way closes its connection: a late answer must never be
    read as the next request's.
    """

    def __init__(
        self,
        base_url: str,
        *,
        keep: int = 32,
        idle_seconds: float = 60.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        url = urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError("base_url must be http(s)://host[:port][/prefix]")
        self._host = url.hostname
        self._tls = url.scheme == "https"
        # https: certificates verified against the system's CAs (or the given context's), the
        # host name checked; one context for all connections (`ssl=True` builds one per
        # connection and loads the CA store each time).
        self._ssl = (ssl_context or ssl.create_default_context()) if self._tls else None
        self._port = url.port or (443 if self._tls else 80)
        self._prefix = url.path.rstrip("/")
        default = self._port == (443 if self._tls else 80)
        host = f"[{self._host}]" if ":" in self._host else self._host
        self._authority = host if default else f"{host}:{self._port}"
        self._keep = keep
        # Servers close idle connections after a while (Sanic, Rasa's server: 120 s); one
        # idle longer than this is not tried at all.
        self._idle_seconds = idle_seconds
        self._idle: list[tuple[float, _Conn]] = []  # newest last

    async def request(
        self, method: str, path: str, body: bytes = b"", content_type: str = "application/json"
    ) -> Response:
        head = (
            f"{method} {self._prefix}{path} HTTP/1.1\r\nHost: {self._authority}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode("ascii")
        message = head + body
        conn = self._take()
        if conn is not None:
            try:
                return await self._exchange(conn, message)
            except _Unanswered:
                pass  # closed by the server before our request reached it: a new connection
        try:
            # Happy eyeballs: a host with an IPv6 address on a network where IPv6 goes nowhere
            # (api.telegram.org) still connects over IPv4 at once, as httpx (anyio) does.
            conn = await asyncio.open_connection(
                self._host, self._port, ssl=self._ssl, happy_eyeballs_delay=0.25
            )
        except OSError as exc:
            raise HttpError(f"connect: {type(exc).__name__}") from None
        try:
            return await self._exchange(conn, message)
        except _Unanswered as exc:
            raise HttpError(str(exc)) from None

    def _take(self) -> _Conn | None:
        now = time.monotonic()
        while self._idle:
            since, conn = self._idle.pop()
            if now - since < self._idle_seconds and not conn[0].at_eof():
                return conn
            conn[1].close()
        return None

    async def _exchange(self, conn: _Conn, message: bytes) -> Response:
        reader, writer = conn
        reusable = False
        try:
            try:
                writer.write(message)
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError as exc:
                if exc.partial:
                    raise HttpError("answer cut off") from None
                raise _Unanswered("closed before answering") from None
            except ConnectionError as exc:
                raise _Unanswered(type(exc).__name__) from None
            except OSError as exc:
                raise HttpError(type(exc).__name__) from None
            except asyncio.LimitOverrunError:
                raise HttpError("answer head too long") from None
            try:
                status, length, chunked, reusable = _head(head)
                if chunked:
                    body = await _chunks(reader)
                elif length is not None:
                    body = await reader.readexactly(length) if length else b""
                else:  # the answer ends with the connection
                    reusable = False
                    body = await reader.read(-1)
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
                reusable = False
                raise HttpError("answer cut off") from None
            except ValueError:
                reusable = False
                raise HttpError("not an HTTP/1.1 answer") from None
            return Response(status, body)
        finally:
            # Also on cancellation (the turn's budget ran out): a connection that is mid-way
            # through an answer is closed, never kept.
            if reusable and len(self._idle) < self._keep:
                self._idle.append((time.monotonic(), conn))
            else:
                writer.close()

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for _, (_, writer) in idle:
            writer.close()
        for _, (_, writer) in idle:
            with contextlib.suppress(Exception):
                await writer.wait_closed()


class _Unanswered(Exception):
    """The connection failed before any byte of an answer came back."""


def _head(head: bytes) -> tuple[int, int | None, bool, bool]:
    """Status, Content-Length, chunked, whether the connection may be used again."""
    lines = head.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    if not version.startswith("HTTP/1.") or len(rest) < 3 or not rest[:3].isdigit():
        raise ValueError("status line")
    status = int(rest[:3])
    length: int | None = None
    chunked = False
    keep_alive = version == "HTTP/1.1"
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            continue
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
            if not 0 <= length <= _MAX_BODY:
                raise ValueError("content-length")
        elif name == "transfer-encoding":
            chunked = "chunked" in value.lower()
        elif name == "connection":
            option = value.strip().lower()
            keep_alive = option == "keep-alive" or (keep_alive and option != "close")
    if status in (204, 304):
        length = 0
    return status, None if chunked else length, chunked, keep_alive


async def _chunks(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        line = await reader.readuntil(b"\r\n")
        n = int(line.split(b";", 1)[0].strip(), 16)  # ValueError: not a chunk size
        if n == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers, if any
                pass
            return b"".join(parts)
        size += n
        if size > _MAX_BODY:
            raise ValueError("body too long")
        chunk = await reader.readexactly(n + 2)
        if chunk[-2:] != b"\r\n":
            raise ValueError("chunk")
        parts.append(chunk[:-2])


class NluClient:
    """Talks to one Rasa server (or a load balancer in front of N replicas).

    A turn never waits long for the NLU: one parse has `timeout` seconds in all, retries
    included. After `breaker_failures` failures in a row the client stops asking for
    `breaker_seconds` and answers "unavailable" at once (the bot then works with buttons and
    keywords), then tries again. The requests go over kept-alive HTTP/1.1 connections
    (`KeepAlive`).
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 2.0,
        retries: int = 1,
        backoff: float = 0.1,
        breaker_failures: int = 3,
        breaker_seconds: float = 15.0,
    ) -> None:
        self._timeout = timeout
        self._retries = max(0, retries)
        self._backoff = backoff
        self._breaker_failures = breaker_failures
        self._breaker_seconds = breaker_seconds
        self._failures = 0
        self._open_until = 0.0
        self._http = KeepAlive(base_url)

    async def parse(self, text: str, *, budget: float | None = None) -> NluResult:
        """`budget`: what is left of the turn's budget (bot/nlu/admission.py), at most the
        client's own. Running out of a budget shortened by queueing is not Rasa's failure:
        it does not count towards the breaker."""
        if time.monotonic() < self._open_until:
            return NluResult.unavailable()
        limit = self._timeout if budget is None else max(0.0, min(budget, self._timeout))
        body = json.dumps({"text": text}, ensure_ascii=False).encode()
        result = None
        try:
            async with asyncio.timeout(limit):
                result = await self._attempts(body)
        except TimeoutError:
            log.warning("NLU did not answer within %.2fs", limit)
            if limit < self._timeout:
                return NluResult.unavailable()
        if result is None:
            result = NluResult.unavailable()
        if result.available:
            self._failures = 0
        else:
            self._failures += 1
            if self._failures >= self._breaker_failures:
                self._open_until = time.monotonic() + self._breaker_seconds
                log.warning(
                    "NLU unavailable %d times: not asked for %.0fs",
                    self._failures,
                    self._breaker_seconds,
                )
        return result

    async def _attempts(self, body: bytes) -> NluResult:
        for attempt in range(self._retries + 1):
            try:
                response = await self._http.request("POST", "/model/parse", body)
                if 200 <= response.status < 300:
                    result = NluResult.from_rasa(json.loads(response.body))
                    if result.available:
                        return result
                    reason = "unexpected answer"
                else:
                    reason = f"HTTP {response.status}"
            except (HttpError, ValueError) as exc:
                # Only what went wrong: a JSON error's message may quote the answer.
                reason = str(exc) if isinstance(exc, HttpError) else type(exc).__name__
            log.warning("NLU attempt %d/%d failed: %s", attempt + 1, self._retries + 1, reason)
            if attempt < self._retries:
                await asyncio.sleep(self._backoff * (2**attempt))
        return NluResult.unavailable()

    async def is_ready(self) -> bool:
        """True when the server answers and has a model loaded."""
        try:
            async with asyncio.timeout(self._timeout):
                response = await self._http.request("GET", "/status")
            payload = json.loads(response.body)
            return (
                response.status == 200
                and isinstance(payload, dict)
                and bool(payload.get("model_file"))
            )
        except (HttpError, ValueError, TimeoutError):
            return False

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> NluClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
