"""Takes updates from the inbox and has them processed: chats side by side, each chat's
updates one after another and in order, also with several processes on one database.

Updates this process received come claimed already (`offer`) and run straight from memory. If
one turns out to be out of turn (an older update of its chat is unprocessed: a restart, another
process), it and the chat's queued ones are released and the chat goes the slow way: its next
update is claimed from the database only when it is the oldest unprocessed one of that chat
and no live worker holds it. A sweep picks up what is left after a restart or another process's
crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from bot.logsafe import describe
from storage import inbox, workers
from storage.database import in_transaction, runs_in_thread
from storage.inbox import Claimed

log = logging.getLogger(__name__)


Process = Callable[[Claimed], Awaitable[None]]


class RetryLater(Exception):
    """Raised by `process`: the update stays in the inbox; the sweep offers it again."""


class OutOfTurn(Exception):
    """Raised by `process`: the update may not be done now (an older one of its chat waits, or
    another worker took it over); nothing was committed."""


class InboxDispatcher:
    def __init__(
        self,
        engine: Engine,
        *,
        channel: str,
        worker_id: str,
        process: Process,
        sweep_interval: float = 2.0,
        max_concurrent: int = 256,
        db_in_thread: bool | None = None,
    ) -> None:
        self._engine = engine
        self._channel = channel
        self._worker = worker_id
        self._process = process
        self._sweep_interval = sweep_interval
        self._slots = asyncio.Semaphore(max_concurrent)
        self._in_thread = runs_in_thread(engine) if db_in_thread is None else db_in_thread
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._queued: dict[str, deque[Claimed]] = {}
        self._again: set[str] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self._alive: set[str] = set()
        self._alive_at = 0.0
        self._last_purge = 0.0
        self._stopping = False

    async def start(self) -> None:
        await self.sweep()
        self._sweeper = asyncio.create_task(self._sweep_forever(), name=f"inbox-{self._channel}")

    async def stop(self) -> None:
        """Stop taking new work; what is being processed runs to its commit (or is rolled
        back and taken over later)."""
        self._stopping = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        tasks = list(self._tasks.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=5)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        queued = [item.id for queue in self._queued.values() for item in queue]
        self._queued.clear()
        with contextlib.suppress(Exception):  # else taken over once our heartbeat stops
            await self._db(lambda s: inbox.release(s, row_ids=queued, worker_id=self._worker))
        if self._sweeper is not None:
            await asyncio.gather(self._sweeper, return_exceptions=True)
            self._sweeper = None

    def offer(self, items: list[Claimed]) -> None:
        """Updates this worker stored claimed: process them in order, without reading them back."""
        for item in items:
            self._queued.setdefault(item.chat_key, deque()).append(item)
        for chat_key in dict.fromkeys(item.chat_key for item in items):
            self._ensure_task(chat_key)

    def wake(self, chat_key: str) -> None:
        """The chat may have unclaimed updates in the database."""
        self._again.add(chat_key)
        self._ensure_task(chat_key)

    def _ensure_task(self, chat_key: str) -> None:
        if self._stopping:
            return
        task = self._tasks.get(chat_key)
        if task is None or task.done():
            self._tasks[chat_key] = asyncio.create_task(self._drain(chat_key))

    async def sweep(self) -> None:
        chats = await self._db(lambda s: inbox.pending_chats(s, channel=self._channel))
        for chat in chats:
            self.wake(chat)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._sweep_interval)
            try:
                await self.sweep()
                await self._purge()
            except Exception as exc:  # a database hiccup must not end the sweeper
                log.error("inbox sweep failed: %s", type(exc).__name__)

    async def _purge(self) -> None:
        # Telegram re-delivers an update for at most 24 hours; a week of marks is plenty.
        now = time.monotonic()
        if now - self._last_purge < 3600:
            return
        self._last_purge = now
        await self._db(lambda s: inbox.purge_done(s, older_than=timedelta(days=7)))

    async def _db(self, work: Callable[[Session], Any]) -> Any:
        return await in_transaction(self._engine, work, in_thread=self._in_thread)

    def _claim(self, session: Session, chat_key: str) -> Claimed | None:
        now = time.monotonic()
        if now - self._alive_at > 1.0:
            self._alive = workers.alive(session)
            self._alive_at = now
        row = inbox.head(session, channel=self._channel, chat_key=chat_key)
        if row is None or row.id is None or row.payload is None:
            return None
        claimed = Claimed(row.id, row.update_id, row.chat_key, row.payload, row.attempts + 1)
        if not inbox.claim(session, row=row, worker_id=self._worker, alive=self._alive):
            return None
        return claimed

    async def _drain(self, chat_key: str) -> None:
        try:
            while not self._stopping:
                async with self._slots:
                    claimed = self._next_queued(chat_key)
                    if claimed is None:
                        self._again.discard(chat_key)
                        claimed = await self._db(lambda s: self._claim(s, chat_key))
                    if claimed is None:
                        if chat_key in self._again or chat_key in self._queued:
                            continue
                        return
                    try:
                        await self._process(claimed)
                    except OutOfTurn:
                        await self._release_chat(chat_key, claimed)
        except asyncio.CancelledError:
            raise
        except RetryLater:
            log.warning("an update will be retried in %.0fs", self._sweep_interval)
        except Exception as exc:  # the sweep retries the chat
            log.error("processing chat failed: %s", describe(exc))
        finally:
            if self._tasks.get(chat_key) is asyncio.current_task():
                del self._tasks[chat_key]

    def _next_queued(self, chat_key: str) -> Claimed | None:
        queue = self._queued.get(chat_key)
        if not queue:
            return None
        claimed = queue.popleft()
        if not queue:
            del self._queued[chat_key]
        return claimed

    async def _release_chat(self, chat_key: str, claimed: Claimed) -> None:
        """Out of turn: give this update and the chat's queued ones back; they are taken in
        order from the database (now, or by the sweep once the older one is done)."""
        ids = [claimed.id, *(item.id for item in self._queued.pop(chat_key, ()))]
        await self._db(lambda s: inbox.release(s, row_ids=ids, worker_id=self._worker))
        self._again.add(chat_key)
