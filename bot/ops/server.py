"""`/metrics`, `/healthz` and `/readyz` for Prometheus and a load balancer.

- `/healthz`: the process is alive (its event loop answers): 200 always.
- `/readyz`: 200 when the database answers `SELECT 1` and Rasa answers `/status` with a model
  loaded, else 503 with which one failed. (Without Rasa the bot still answers, with keywords
  and buttons; a load balancer should prefer a worker that has it.)
- `/metrics`: prometheus-client's text format (bot/ops/metrics.py); the outbox backlog is
  counted in the database at scrape time.

Webhook mode serves them on the webhook's own port (bot/channels/telegram/webhook.py); polling
mode starts `OpsServer`, a small side server (`METRICS_PORT`, default 9464; 0: off).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import tornado.web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine, text

from bot.ops import metrics
from bot.ops.listener import Listener
from storage import telegram_state
from storage.database import call, runs_in_thread, session_scope

log = logging.getLogger(__name__)
CHECK_TIMEOUT = 2.0


class Health:
    """The readiness checks of one bot process."""

    def __init__(self, engine: Engine, rasa_ready: Callable[[], Awaitable[bool]]) -> None:
        self._engine = engine
        self._rasa_ready = rasa_ready
        self._in_thread = runs_in_thread(engine)

    async def checks(self) -> dict[str, bool]:
        database, rasa = await asyncio.gather(
            self._bounded(call(self._select_one, in_thread=self._in_thread)),
            self._bounded(self._rasa_ready()),
        )
        return {"database": database, "rasa": rasa}

    async def refresh_backlog(self) -> None:
        try:
            count = await asyncio.wait_for(
                call(self._backlog, in_thread=self._in_thread), CHECK_TIMEOUT
            )
        except Exception as exc:  # the other figures still matter
            log.warning("outbox backlog not counted (%s)", type(exc).__name__)
            return
        metrics.OUTBOX_BACKLOG.set(count)

    def _select_one(self) -> bool:
        with self._engine.connect() as connection:
            return connection.execute(text("SELECT 1")).scalar() == 1

    def _backlog(self) -> int:
        with session_scope(self._engine) as session:
            return telegram_state.backlog(session)

    @staticmethod
    async def _bounded(check: Awaitable[Any]) -> bool:
        try:
            return bool(await asyncio.wait_for(check, CHECK_TIMEOUT))
        except Exception:
            return False


class _Healthz(tornado.web.RequestHandler):
    def get(self) -> None:
        self.finish({"ok": True})


class _Readyz(tornado.web.RequestHandler):
    def initialize(self, health: Health) -> None:
        self.health = health

    async def get(self) -> None:
        checks = await self.health.checks()
        self.set_status(200 if all(checks.values()) else 503)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"ready": all(checks.values()), **checks}))


class _Metrics(tornado.web.RequestHandler):
    def initialize(self, health: Health) -> None:
        self.health = health

    async def get(self) -> None:
        await self.health.refresh_backlog()
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(generate_latest())


def routes(health: Health) -> list[Any]:
    return [
        (r"/healthz", _Healthz),
        (r"/readyz", _Readyz, {"health": health}),
        (r"/metrics", _Metrics, {"health": health}),
    ]


class OpsServer(Listener):
    """The side server of polling mode."""

    def __init__(self, health: Health) -> None:
        super().__init__(tornado.web.Application(routes(health), log_function=lambda handler: None))
