"""Runs the sweeps with APScheduler, in one process at a time.

On PostgreSQL the active scheduler holds an advisory lock on a connection of its own; every
other instance is a standby that tries to take the lock every few seconds and takes over when
the active one dies (its connection closes, the lock goes with it). On SQLite (one process)
the scheduler runs in the bot. Sweeps run every minute; retention and housekeeping daily.
Messages are written to the Telegram outbox in the transaction of their claim; the bot's
outbox drainer sends them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Connection, Engine, text

from bot.channels.telegram import render
from bot.flows.registry import FlowSource
from bot.logsafe import describe
from bot.scheduler.calendar import TZ
from bot.scheduler.jobs import DAILY, SWEEPS, Delivery, Job, JobContext, ToParticipant
from bot.scheduler.timings import Timings
from bot.tasks import cancel_and_wait
from storage import telegram_state
from storage.database import session_scope
from storage.models import utcnow
from storage.telegram_state import Outgoing

log = logging.getLogger(__name__)
LEADER_LOCK = "careerbot:scheduler"


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return utcnow()


def to_outbox(
    session: Any, flows: Any, deliveries: Sequence[Delivery], coordinator_chat_id: int | None
) -> list[Outgoing]:
    """What the sweeps tell people, as Telegram calls queued in the sweep's transaction."""
    out: list[Outgoing] = []
    store_long = lambda payload: telegram_state.store_callback_payload(session, payload=payload)  # noqa: E731
    for item in deliveries:
        if isinstance(item, ToParticipant):
            who = item.participant
            if who.channel == "telegram" and who.external_id.lstrip("-").isdigit():
                out += render.replies(int(who.external_id), item.replies, store_long)
        else:
            out += render.notices(flows, [item], coordinator_chat_id=coordinator_chat_id)
    telegram_state.enqueue(session, outgoing=out)
    return out


class Scheduler:
    def __init__(
        self,
        *,
        engine: Engine,
        flows: FlowSource,
        timings: Timings | None = None,
        coordinator_chat_id: int | None = None,
        clock: Clock | None = None,
        sweep_seconds: float = 60.0,
        standby_seconds: float = 3.0,
    ) -> None:
        self._engine = engine
        self._flows = flows
        self._timings = timings or Timings()
        self._coordinator = coordinator_chat_id
        self._clock = clock or SystemClock()
        self._sweep_seconds = sweep_seconds
        self._standby_seconds = standby_seconds
        self._on_sent: Callable[[list[Outgoing]], None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock_connection: Connection | None = None
        self.active = False

    def on_sent(self, callback: Callable[[list[Outgoing]], None]) -> None:
        """Called with what a sweep queued (the bot's drainer sends it at once)."""
        self._on_sent = callback

    # -- running it ------------------------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.create_task(self._lead(), name="scheduler")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        await asyncio.to_thread(self._release)

    async def _lead(self) -> None:
        standby_logged = False
        while True:
            if not await asyncio.to_thread(self._acquire):
                if not standby_logged:
                    log.info("scheduler: standby (another instance is active)")
                    standby_logged = True
                await asyncio.sleep(self._standby_seconds)
                continue
            standby_logged = False
            log.info("scheduler: active")
            self.active = True
            scheduler = AsyncIOScheduler(timezone=TZ)
            scheduler.add_job(
                self.sweep,
                IntervalTrigger(seconds=self._sweep_seconds),
                next_run_time=datetime.now(TZ),
                max_instances=1,
                coalesce=True,
            )
            scheduler.add_job(
                self.daily, CronTrigger(hour=3, minute=30, timezone=TZ), max_instances=1
            )
            scheduler.start()
            try:
                while True:
                    await asyncio.sleep(self._standby_seconds)
                    if not await asyncio.to_thread(self._still_leader):
                        break
                log.warning("scheduler: lost the lead (database connection gone)")
            finally:
                scheduler.shutdown(wait=False)
                self.active = False
                await asyncio.to_thread(self._release)

    # -- the work ----------------------------------------------------------------------------------

    async def sweep(self) -> dict[str, int]:
        return await self._run(SWEEPS)

    async def daily(self) -> dict[str, int]:
        return await self._run(DAILY)

    async def run_once(self) -> dict[str, int]:
        """Everything that is due, now (tests and `careerbot scheduler --once`)."""
        counts = await self.sweep()
        counts.update(await self.daily())
        return counts

    async def _run(self, jobs: Sequence[tuple[str, Job]]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for name, job in jobs:
            try:
                counts[name] = await asyncio.to_thread(self._drain_job, job)
            except Exception as exc:  # one failing sweep must not stop the others
                log.error("scheduler: %s failed: %s", name, describe(exc))
                counts[name] = 0
            if counts[name]:
                log.info("scheduler: %s: %d", name, counts[name])
        return counts

    def _drain_job(self, job: Job) -> int:
        total = 0
        while True:
            ctx = JobContext(
                now=self._clock.now(), flows=self._flows.current, timings=self._timings
            )
            with session_scope(self._engine) as session:
                result = job(session, ctx)
                sent = to_outbox(session, ctx.flows, result.deliveries, self._coordinator)
            if sent and self._on_sent is not None:
                self._on_sent(sent)
            total += result.handled
            if result.handled < ctx.batch:
                return total

    # -- one active instance -----------------------------------------------------------------------

    def _acquire(self) -> bool:
        if self._engine.dialect.name != "postgresql":
            return True  # SQLite: one process, the bot's own
        try:
            if self._lock_connection is None:
                self._lock_connection = self._engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT"
                )
            got = self._lock_connection.execute(
                # Per schema: advisory locks are database-wide, and two deployments (or test runs) may
                # share a database in schemas of their own.
                text("SELECT pg_try_advisory_lock(hashtext(current_schema() || :key))"),
                {"key": LEADER_LOCK},
            ).scalar()
            return bool(got)
        except Exception as exc:
            log.warning("scheduler: cannot reach the database (%s)", type(exc).__name__)
            self._release()
            return False

    def _still_leader(self) -> bool:
        if self._lock_connection is None:
            return self._engine.dialect.name != "postgresql"
        try:
            self._lock_connection.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def _release(self) -> None:
        connection, self._lock_connection = self._lock_connection, None
        if connection is not None:
            # Really closed, not returned to the pool: the advisory lock belongs to the session.
            with contextlib.suppress(Exception):
                connection.invalidate()
            with contextlib.suppress(Exception):
                connection.close()
