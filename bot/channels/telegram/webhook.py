"""Webhook server: Telegram POSTs updates here; only requests carrying our secret get in.

An update is answered 200 only once it is stored in the inbox; if storing fails Telegram gets
an error and delivers it again. PTB's built-in webhook server answers first and compares the
secret with `!=`; ours compares in constant time (hmac.compare_digest) and never logs bodies.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

import tornado.web

from bot.channels.telegram.intake import Intake
from bot.ops import server as ops
from bot.ops.listener import Listener

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class _UpdateHandler(tornado.web.RequestHandler):
    def initialize(self, intake: Intake, secret: bytes) -> None:
        self.intake = intake
        self.secret = secret

    async def post(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self.secret):
            log.warning("webhook request with a missing or wrong secret refused")
            self.send_error(403)
            return
        try:
            update = json.loads(self.request.body)
            if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
                raise ValueError("not an update")
        except ValueError:
            log.warning("webhook body is not a Telegram update")
            self.send_error(400)
            return
        try:
            await self.intake.store([update])
        except Exception as exc:  # not stored: Telegram must deliver it again
            log.error("webhook: storing an update failed (%s)", type(exc).__name__)
            self.send_error(503)
            return
        self.set_status(200)
        self.finish()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.finish({"ok": False, "error_code": status_code})

    def log_exception(self, *args: Any) -> None:
        return None  # tornado would log request details; we log our own, text-free line


class WebhookServer(Listener):
    def __init__(
        self, *, path: str, intake: Intake, secret: str, health: ops.Health | None = None
    ) -> None:
        route = "/" + path.strip("/")
        # /metrics, /healthz, /readyz beside the webhook (bot/ops/server.py).
        extra = ops.routes(health) if health is not None else []
        app = tornado.web.Application(
            [
                *extra,
                (
                    route if route != "/" else "/",
                    _UpdateHandler,
                    {"intake": intake, "secret": secret.encode()},
                ),
            ],
            log_function=lambda handler: None,
        )
        super().__init__(app, xheaders=True)
