"""This process as a worker: an id, and a heartbeat that keeps its claims valid."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import Engine

from bot.tasks import cancel_and_wait
from storage import workers
from storage.database import call, runs_in_thread, session_scope

log = logging.getLogger(__name__)


class Heartbeat:
    def __init__(self, engine: Engine, worker_id: str | None = None) -> None:
        self._engine = engine
        self.worker_id = worker_id or workers.new_worker_id()
        self._task: asyncio.Task[None] | None = None
        self._in_thread = runs_in_thread(engine)

    async def start(self) -> None:
        await self._call(self._beat)
        self._task = asyncio.create_task(self._forever(), name="heartbeat")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        # Claims of a worker that is gone are free at once, not after the heartbeat times out.
        with contextlib.suppress(Exception):
            await self._call(self._leave)

    async def _forever(self) -> None:
        while True:
            await asyncio.sleep(workers.HEARTBEAT_EVERY.total_seconds())
            try:
                await self._call(self._beat)
            except Exception as exc:  # the next beat tries again
                log.error("heartbeat failed: %s", type(exc).__name__)

    def _beat(self) -> None:
        with session_scope(self._engine) as session:
            workers.heartbeat(session, worker_id=self.worker_id)

    def _leave(self) -> None:
        with session_scope(self._engine) as session:
            workers.unregister(session, worker_id=self.worker_id)
            workers.forget_dead(session)

    async def _call(self, func: object) -> None:
        assert callable(func)
        await call(func, in_thread=self._in_thread)
