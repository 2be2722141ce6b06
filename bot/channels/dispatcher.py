"""Takes updates from the inbox and has them processed: chats side by side, each chat's
updates one after another and in order, also with several processes on one database (a lane
per chat, bot/channels/lanes.py).

Updates this process received come claimed already (`offer`) and run straight from memory. If
one turns out to be out of turn (an older update of its chat is unprocessed: a restart, another
process), it and the chat's queued ones are given back and the chat goes the slow way: its next
update is claimed from the database only when it is the oldest unprocessed one of that chat
and nobody works on it. A sweep picks up what is left after a restart or another process's
crash. An update whose turn fails stays with this worker and is tried again after a back-off.

Back-pressure (README, "Overload"): a turn starts only while there is room — turns under way
plus the outbox's messages in hand below `room()` (`OutboxDrainer.turn_room`) — and the oldest
waiting update first. Beyond that, updates wait: stored in the inbox, claimed, not yet begun,
so under overload the queue is in the database and the CPU goes to finishing what has begun
(answers out) rather than to starting ever more turns that all finish late.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from bot.channels.lanes import Lanes, Outcome, Taken
from storage import inbox
from storage.database import in_transaction, is_transient, runs_in_thread
from storage.inbox import Claimed
from storage.telegram_state import CURRENT_TURN

Process = Callable[[Claimed], Awaitable[None]]


class OutOfTurn(Exception):
    """Raised by `process`: the update may not be done now (an older one of its chat waits, or
    another worker took it over); nothing was committed."""


class InboxDispatcher(Lanes[str, Claimed]):
    name = "inbox"

    def __init__(
        self,
        engine: Engine,
        *,
        channel: str,
        worker_id: str,
        process: Process,
        sweep_interval: float = 2.0,
        max_concurrent: int = 256,
        room: Callable[[], int] | None = None,
        db_in_thread: bool | None = None,
    ) -> None:
        # `room()`: how many turns may be under way now (None: `max_concurrent` alone).
        super().__init__(
            engine,
            worker_id=worker_id,
            sweep_interval=sweep_interval,
            max_running=max_concurrent,
            room=room,
        )
        self._channel = channel
        self._process = process
        self._in_thread = runs_in_thread(engine) if db_in_thread is None else db_in_thread
        self._last_purge = 0.0

    async def stop(self, grace: float = 5.0) -> None:
        """What is being processed runs to its commit (or is rolled back and taken over)."""
        await super().stop(grace)

    def reconsider(self) -> None:
        """Room may have come free (the outbox sent something): start waiting turns."""
        self.room.reconsider()

    def key_of(self, item: Claimed) -> str:
        return item.chat_key

    def id_of(self, item: Claimed) -> int:
        return item.id

    async def run(self, item: Claimed) -> Outcome:
        # The outbox rows this turn queues name its update (storage/telegram_state.py).
        token = CURRENT_TURN.set(item.update_id)
        try:
            await self._process(item)
        except OutOfTurn:
            return Outcome.GIVE_BACK
        finally:
            CURRENT_TURN.reset(token)
        return Outcome.DONE

    def again(self, item: Claimed, error: BaseException) -> Claimed:
        # A dropped connection or a lock is not the update's fault: only other failures count
        # towards the attempts after which the person gets an apology.
        return item if is_transient(error) else replace(item, attempts=item.attempts + 1)

    async def take(self, key: str, in_hand: Collection[int]) -> Taken[Claimed]:
        return Taken(await self._db(lambda s: self._claim(s, key, in_hand)))

    def _claim(self, session: Session, chat_key: str, in_hand: Collection[int]) -> Claimed | None:
        alive = self.live.get(session)
        row = inbox.head(session, channel=self._channel, chat_key=chat_key)
        if row is None or row.payload is None:
            return None
        if not inbox.claim(session, row=row, worker_id=self._worker, alive=alive, in_hand=in_hand):
            return None
        return Claimed(row.id, row.update_id, row.chat_key, row.payload, row.attempts + 1)

    async def give_back(self, items: list[Claimed]) -> None:
        ids = [item.id for item in items]
        await self._db(lambda s: inbox.release(s, row_ids=ids, worker_id=self._worker))

    async def pending(self) -> list[str]:
        chats: list[str] = await self._db(lambda s: inbox.pending_chats(s, channel=self._channel))
        return chats

    async def renew(self, ids: list[int]) -> None:
        await self._db(lambda s: inbox.renew(s, row_ids=ids, worker_id=self._worker))

    async def swept(self) -> None:
        # Telegram re-delivers an update for at most 24 hours; a week of marks is plenty.
        now = time.monotonic()
        if now - self._last_purge < 3600:
            return
        self._last_purge = now
        await self._db(lambda s: inbox.purge_done(s, older_than=timedelta(days=7)))

    async def _db(self, work: Callable[[Session], Any]) -> Any:
        return await in_transaction(self._engine, work, in_thread=self._in_thread)
