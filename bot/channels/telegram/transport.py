"""python-telegram-bot's request interface on a few kept-alive HTTP/1.1 connections.

`Bot` keeps its whole request path — parameters to form fields (`RequestData`), Telegram's
answer parsed, and its errors mapped to RetryAfter, BadRequest, Forbidden, ChatMigrated,
InvalidToken, NetworkError… (`BaseRequest._request_wrapper`) — and only the HTTP exchange
itself (`do_request`) is ours: the NLU client's `KeepAlive` (bot/nlu/client.py), one write
per request, the answer read by Content-Length or chunks. Under load httpx and httpcore cost
about as much CPU per Bot API call as everything else the bot does for it (their pool, request
and response models, h11's state machine, two socket writes per request: 40 % of the bot's
samples at 30 turns/s, README "An update, step by step").

What it sends is what `HTTPXRequest` sends: a POST with the parameters as form fields, so the
Bot API sees no difference. A file upload (`sendDocument`: a data export) goes through
`HTTPXRequest`, which speaks multipart. Timeouts: connect + write + read, as one deadline per
call (an expired call closes its connection, so a late answer is never read as another's);
`TimedOut` when it expires, `NetworkError` for a connection that fails — as `HTTPXRequest`
raises them. A kept-alive connection the server closed before our request reached it is
retried once on a new one (the server cannot have seen that request); anything that fails
after the request was sent is not retried here (the outbox decides, and records it).

https (api.telegram.org): certificates are verified and the host name checked, against the
system's CAs or an explicit `ssl_context`; a refused certificate is a `NetworkError`. Proxies:
this transport speaks to the Bot API host directly, so when one is configured for it (PTB's
`proxy`, or HTTPS_PROXY / HTTP_PROXY / ALL_PROXY not excluded by NO_PROXY, as httpx read them)
`bot_request` gives PTB's `HTTPXRequest` instead, which goes through it.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import urllib.request
from urllib.parse import urlencode, urlsplit

from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from bot.nlu.client import HttpError, KeepAlive

log = logging.getLogger(__name__)
_FORM = "application/x-www-form-urlencoded"
_told_proxy = False  # the fallback is logged once per process, not per request object


def bot_request(
    base_url: str,
    *,
    keep: int,
    read_timeout: float | None,
    connect_timeout: float | None = 5.0,
    proxy: str | None = None,
) -> BaseRequest:
    """The request for `Bot(request=…)` / `get_updates_request=…`: ours, or PTB's httpx
    request when the Bot API is to be reached through a proxy (ours cannot)."""
    source = "proxy option" if proxy else _proxy_variable(base_url)
    if source is None:
        return KeptAliveRequest(
            keep=keep, read_timeout=read_timeout, connect_timeout=connect_timeout
        )
    global _told_proxy
    if not _told_proxy:
        _told_proxy = True  # the variable's name only: a proxy URL may hold a password
        log.info("Bot API through a proxy (%s): PTB's httpx request", source)
    # proxy=None: httpx reads the same variables itself (trust_env).
    return HTTPXRequest(
        connection_pool_size=keep,
        read_timeout=read_timeout,
        connect_timeout=connect_timeout,
        proxy=proxy,
    )


def _proxy_variable(base_url: str) -> str | None:
    """Which environment variable sends requests to `base_url` through a proxy, if any."""
    parts = urlsplit(base_url)
    proxies = urllib.request.getproxies_environment()  # lower-case names first, as httpx
    for key in (parts.scheme, "all"):
        if proxies.get(key):
            if parts.hostname and urllib.request.proxy_bypass(parts.hostname):
                return None  # NO_PROXY
            return f"{key.upper()}_PROXY"
    return None


class KeptAliveRequest(BaseRequest):
    """A `BaseRequest` for `Bot(request=…, get_updates_request=…)`."""

    def __init__(
        self,
        *,
        keep: int = 16,
        read_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._keep = keep
        self._ssl = ssl_context  # None: the system's CAs
        self._read = read_timeout
        self._connect = connect_timeout
        self._write = write_timeout
        self._pools: dict[str, KeepAlive] = {}  # per scheme://host:port
        self._routes: dict[str, tuple[KeepAlive, str]] = {}  # url → its pool and path
        # Uploads (multipart): rare (a data export), left to PTB's own httpx request.
        self._files = HTTPXRequest(
            connection_pool_size=2,
            read_timeout=read_timeout,
            connect_timeout=connect_timeout,
            write_timeout=write_timeout,
            httpx_kwargs={"verify": ssl_context} if ssl_context else None,
        )

    @property
    def read_timeout(self) -> float | None:
        return self._read

    async def initialize(self) -> None:
        await self._files.initialize()

    async def shutdown(self) -> None:
        pools, self._pools = self._pools, {}
        self._routes.clear()
        for pool in pools.values():
            await pool.aclose()
        await self._files.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
        write_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
        connect_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
        pool_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if request_data is not None and request_data.multipart_data:
            return await self._files.do_request(
                url,
                method,
                request_data,
                read_timeout=read_timeout,  # type: ignore[arg-type]
                write_timeout=write_timeout,  # type: ignore[arg-type]
                connect_timeout=connect_timeout,  # type: ignore[arg-type]
                pool_timeout=pool_timeout,  # type: ignore[arg-type]
            )
        pool, path = self._route(url)
        body = b""
        if request_data is not None:
            parameters = request_data.json_parameters
            if parameters:
                body = urlencode(parameters).encode("ascii")
        deadline = _deadline(
            _given(read_timeout, self._read),
            _given(write_timeout, self._write),
            _given(connect_timeout, self._connect),
        )
        try:
            async with asyncio.timeout(deadline):
                answer = await pool.request(method, path, body, _FORM)
        except TimeoutError:
            raise TimedOut from None
        except HttpError as exc:
            raise NetworkError(f"Bot API request failed: {exc}") from None
        return answer.status, answer.body

    def _route(self, url: str) -> tuple[KeepAlive, str]:
        route = self._routes.get(url)
        if route is None:
            parts = urlsplit(url)
            origin = f"{parts.scheme}://{parts.netloc}"
            pool = self._pools.get(origin)
            if pool is None:
                pool = self._pools[origin] = KeepAlive(
                    origin, keep=self._keep, ssl_context=self._ssl
                )
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            route = self._routes[url] = (pool, path)
        return route


def _given(value: float | object | None, default: float | None) -> float | None:
    """A timeout PTB passed (a number or None: none), or ours when it passed its default."""
    if isinstance(value, int | float) or value is None:
        return None if value is None else float(value)
    return default


def _deadline(*parts: float | None) -> float | None:
    """One deadline for the call: none if any part has none (a long poll's read)."""
    total = 0.0
    for part in parts:
        if part is None:
            return None
        total += part
    return total
