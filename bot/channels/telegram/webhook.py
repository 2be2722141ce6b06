"""Webhook server: Telegram POSTs updates here; only requests carrying our secret get in.

PTB's built-in webhook server compares the secret with `!=` and logs update bodies at DEBUG;
ours compares in constant time (hmac.compare_digest) and never logs bodies.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import socket
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web
from telegram import Bot, Update

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class _UpdateHandler(tornado.web.RequestHandler):
    def initialize(self, bot: Bot, queue: asyncio.Queue[object], secret: bytes) -> None:
        self.bot = bot
        self.queue = queue
        self.secret = secret

    async def post(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self.secret):
            log.warning("webhook request with a missing or wrong secret refused")
            self.send_error(403)
            return
        try:
            update = Update.de_json(json.loads(self.request.body), self.bot)
        except (ValueError, TypeError, KeyError):
            log.warning("webhook body is not a Telegram update")
            self.send_error(400)
            return
        await self.queue.put(update)
        self.set_status(200)
        self.finish()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.finish({"ok": False, "error_code": status_code})

    def log_exception(self, *args: Any) -> None:
        return None  # tornado would log request details; we log our own, text-free line


class WebhookServer:
    def __init__(self, *, path: str, bot: Bot, queue: asyncio.Queue[object], secret: str) -> None:
        route = "/" + path.strip("/")
        self._app = tornado.web.Application(
            [
                (
                    route if route != "/" else "/",
                    _UpdateHandler,
                    {"bot": bot, "queue": queue, "secret": secret.encode()},
                )
            ],
            log_function=lambda handler: None,
        )
        self._server: tornado.httpserver.HTTPServer | None = None
        self.port = 0

    def start(self, *, listen: str, port: int) -> int:
        sockets = tornado.netutil.bind_sockets(port, listen, family=socket.AF_INET)
        self.port = int(sockets[0].getsockname()[1])
        self._server = tornado.httpserver.HTTPServer(self._app, xheaders=True)
        self._server.add_sockets(sockets)
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
            self._server = None
