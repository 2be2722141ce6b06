"""Lanes: the items of one key (a chat) one after another and in order, keys side by side, with
claims in the database so that several processes share the work. The inbox dispatcher (updates
to process) and the outbox drainer (Bot API calls to make) are both lanes.

Items reach a lane two ways. Claimed already by this worker (`offer`: an update it has just
stored, the replies its turn has just queued), they run straight from memory. Otherwise they
wait in the database (`wake`, and the sweep every `sweep_interval`), where the lane claims the
head of its key (`take`) when nobody else works on it.

No claim without a worker on it:

- whatever `run` raises, the item stays in this lane and runs again after a back-off (a
  transient database error, a bug: `again` decides what the next attempt carries);
- giving items back (`give_back`: out of turn, a chat that must wait) is retried until the
  database takes it, the items held meanwhile;
- every item in hand — queued, running or backing off — has its claim renewed at each sweep
  (`renew`), so that a claim nobody renews can be taken over (storage/claims.py), and this
  worker's own claims that nothing here holds are taken again at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import heapq
import itertools
import logging
import random
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import AsyncIterator, Callable, Collection, Hashable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Engine
from sqlmodel import Session

from bot.logsafe import describe
from storage import workers

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")

BACKOFF_FIRST = 0.25  # seconds before the second attempt; doubling up to BACKOFF_MAX
BACKOFF_MAX = 10.0


class Outcome(enum.Enum):
    DONE = "done"  # finished: the lane goes on with its next item
    # This item (unless `run` settled it already) and the lane's queued ones go back to the
    # database; the lane looks there again (an older item of the key is held elsewhere, or
    # the key must wait).
    GIVE_BACK = "give_back"


@dataclass(frozen=True, slots=True)
class Taken(Generic[T]):
    item: T | None
    wait: float | None = None  # nothing to take before this many seconds (a retry time)


def backoff(failures: int) -> float:
    """Seconds to wait after the n-th failure in a row (jittered, capped)."""
    return float(min(BACKOFF_MAX, BACKOFF_FIRST * 2.0 ** max(0, failures - 1))) * random.uniform(
        0.8, 1.2
    )


class Room:
    """Admission of work, oldest first, while there is room: at most `limit` items under way,
    and at most `room()` when given (room that depends on work elsewhere: the inbox's turns
    get what the outbox's messages in hand leave, bot/channels/dispatcher.py).

    An item waits here until it is the oldest waiting one (smallest `order`: the row id, i.e.
    arrival) and there is room. `reconsider` must be called when `room()` may have grown.
    """

    def __init__(self, limit: int, room: Callable[[], int] | None = None) -> None:
        self.limit = limit
        self._room = room
        self.under_way = 0
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def free(self) -> int:
        limit = self.limit if self._room is None else min(self.limit, self._room())
        return limit - self.under_way

    @contextlib.asynccontextmanager
    async def admitted(self, order: int) -> AsyncIterator[None]:
        await self._enter(order)
        try:
            yield
        finally:
            self.under_way -= 1
            self.reconsider()

    async def _enter(self, order: int) -> None:
        if not self._waiting and self.free() > 0:
            self.under_way += 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (order, next(self._seq), future))
        self.reconsider()
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.under_way -= 1  # admitted in the same instant: give the place on
                self.reconsider()
            raise

    def reconsider(self) -> None:
        """Admit the oldest waiting items there is room for now."""
        while self._waiting:
            future = self._waiting[0][2]
            if future.done():  # cancelled while waiting
                heapq.heappop(self._waiting)
                continue
            if self.free() <= 0:
                return
            heapq.heappop(self._waiting)
            self.under_way += 1
            future.set_result(None)


class LiveWorkers:
    """Which workers are alive, read at most once a second (claims ask for it per row)."""

    def __init__(self) -> None:
        self._cached: set[str] = set()
        self._at = -1e9

    def get(self, session: Session) -> set[str]:
        now = time.monotonic()
        if now - self._at > 1.0:
            self._cached = workers.alive(session)
            self._at = now
        return self._cached


class Lanes(ABC, Generic[K, T]):
    name = "lanes"

    def __init__(
        self,
        engine: Engine,
        *,
        worker_id: str,
        sweep_interval: float = 2.0,
        max_running: int = 256,
        room: Callable[[], int] | None = None,
    ) -> None:
        self._engine = engine
        self._worker = worker_id
        self._sweep_interval = sweep_interval
        # At most `max_running` items under way, and at most `room()` when given (Room).
        self.room = Room(max_running, room)
        self._freed: list[Callable[[], None]] = []
        self.live = LiveWorkers()
        self._tasks: dict[K, asyncio.Task[None]] = {}
        self._queued: dict[K, deque[T]] = {}
        self._again: set[K] = set()
        self._running: dict[K, T] = {}
        self._giving_back: dict[K, list[T]] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._stopping = False

    # -- what a kind of lane provides ---------------------------------------------------------

    @abstractmethod
    def key_of(self, item: T) -> K: ...

    @abstractmethod
    def id_of(self, item: T) -> int: ...

    @abstractmethod
    async def take(self, key: K, in_hand: Collection[int]) -> Taken[T]:
        """Claim the head of `key` in the database, unless someone works on it (`in_hand`:
        the rows of `key` this worker holds)."""

    @abstractmethod
    async def run(self, item: T) -> Outcome:
        """Do the item's work; raising makes it run again after a back-off."""

    @abstractmethod
    async def give_back(self, items: list[T]) -> None:
        """Release these claims in the database (raising: tried again)."""

    @abstractmethod
    async def pending(self) -> list[K]:
        """Keys with work in the database (the sweep)."""

    @abstractmethod
    async def renew(self, ids: list[int]) -> None:
        """Renew this worker's claims on these rows."""

    def again(self, item: T, error: BaseException) -> T:
        """The item for the next attempt after `run` raised `error`."""
        return item

    async def swept(self) -> None:
        """Housekeeping after each sweep (optional)."""

    async def settle(self) -> None:
        """At a stop, after the lanes ended and before the claims go back: finish recording
        what was done (optional; the outbox's delivery records)."""

    def on_freed(self, listener: Callable[[], None]) -> None:
        """Call `listener` whenever an item leaves this worker's hands (done or given back):
        `depth` went down."""
        self._freed.append(listener)

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        await self.sweep()
        self._sweeper = asyncio.create_task(self._sweep_forever(), name=f"{self.name}-sweeper")

    async def stop(self, grace: float = 0.0) -> None:
        """Stop taking work. Running items get `grace` seconds to finish, then are cancelled;
        everything still in hand is given back (else it is taken over once our heartbeat
        stops)."""
        self._stopping = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
            self._sweeper = None
        tasks = list(self._tasks.values())
        if tasks and grace > 0:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            tasks = list(pending)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.settle()
        left = list(self._held())
        self._queued.clear()
        self._running.clear()
        self._giving_back.clear()
        if left:
            with contextlib.suppress(Exception):
                await self.give_back(left)

    def offer(self, items: list[T]) -> None:
        """Items this worker has claimed (committed): run them in order, from memory."""
        for item in items:
            self._queued.setdefault(self.key_of(item), deque()).append(item)
        for key in dict.fromkeys(self.key_of(item) for item in items):
            self._ensure_task(key)

    def wake(self, key: K) -> None:
        """The key may have unclaimed items in the database."""
        self._again.add(key)
        self._ensure_task(key)

    @property
    def stopping(self) -> bool:
        return self._stopping

    def in_hand(self) -> list[int]:
        """Rows this worker holds: queued, running or backing off."""
        return [self.id_of(item) for item in self._held()]

    def depth(self) -> int:
        return sum(len(queue) for queue in self._queued.values()) + len(self._running)

    def waiting(self) -> int:
        """Items in hand not under way: queued behind their chat's running one, or waiting
        for room (`Room`)."""
        return max(0, self.depth() - self.room.under_way)

    def chats(self) -> int:
        """Keys with work in hand (for /metrics: a count, never which)."""
        return len(self._queued.keys() | self._running.keys())

    def _in_hand_of(self, key: K) -> set[int]:
        """Rows of `key` this worker holds: the only ones that can be the head of `key` (all
        rows held, asked for at every claim, cost O(backlog) each under overload)."""
        held: list[T] = []
        if key in self._running:
            held.append(self._running[key])
        held.extend(self._giving_back.get(key, ()))
        held.extend(self._queued.get(key, ()))
        return {self.id_of(item) for item in held}

    def _held(self) -> Iterator[T]:
        yield from self._running.values()
        for items in self._giving_back.values():
            yield from items
        for queue in self._queued.values():
            yield from queue

    def _ensure_task(self, key: K) -> None:
        if self._stopping:
            return
        task = self._tasks.get(key)
        if task is None or task.done():
            self._tasks[key] = asyncio.create_task(self._lane(key), name=f"{self.name}-{key}")

    async def sweep(self) -> None:
        # A lane that is running looks at the database itself when it needs to, and else is
        # woken by the next sweep once idle: waking busy lanes here made each of them ask the
        # database again after its items in memory (under overload, thousands of claim
        # queries per sweep for rows this worker holds already).
        for key in await self.pending():
            if key not in self._tasks:
                self.wake(key)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._sweep_interval)
            held = self.in_hand()
            if held:
                try:
                    await self.renew(held)
                except Exception as exc:  # the next sweep renews again
                    log.error("%s: renewing claims failed: %s", self.name, type(exc).__name__)
            try:
                await self.sweep()
                await self.swept()
            except Exception as exc:  # a database hiccup must not end the sweeper
                log.error("%s: sweep failed: %s", self.name, type(exc).__name__)

    # -- one lane ----------------------------------------------------------------------------

    async def _lane(self, key: K) -> None:
        # After items offered from memory the lane ends without asking the database: what
        # this worker stored it offered, and the rest is announced (`wake`: given back, held
        # rows let go, another worker's leftovers found by the sweep). After an item taken
        # from the database it looks there again (the key's next rows wait there too).
        from_db = False
        try:
            while not self._stopping:
                item = self._next_queued(key)
                if item is None and not from_db and key not in self._again:
                    return
                if item is None:
                    self._again.discard(key)
                    try:
                        taken = await self.take(key, self._in_hand_of(key))
                    except Exception as exc:  # nothing taken; the sweep comes back to it
                        log.error("%s: claiming failed: %s", self.name, type(exc).__name__)
                        return
                    if taken.item is None:
                        if taken.wait is not None:
                            await asyncio.sleep(taken.wait)
                            from_db = True  # the head waits there (a retry time): look again
                            continue
                        if key in self._again or key in self._queued:
                            continue
                        return
                    item = taken.item
                    self._drop_queued(key, self.id_of(item))
                    from_db = True
                else:
                    from_db = False
                await self._work(key, item)
        finally:
            if self._tasks.get(key) is asyncio.current_task():
                del self._tasks[key]

    async def _work(self, key: K, item: T) -> None:
        """Run `item` until it is done or given back; it stays in hand all along."""
        self._running[key] = item
        failures = 0
        while True:
            try:
                async with self.room.admitted(self.id_of(item)):
                    outcome = await self.run(item)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                item = self.again(item, exc)
                self._running[key] = item
                delay = backoff(failures)
                log.warning(
                    "%s: %s, attempt %d again in %.1fs", self.name, describe(exc), failures, delay
                )
                await asyncio.sleep(delay)
                continue
            break
        del self._running[key]
        if outcome is Outcome.GIVE_BACK:
            back = self._giving_back[key] = [item, *self._queued.pop(key, ())]
            try:
                await self._give_back_until_taken(back)
            finally:
                del self._giving_back[key]
            self._again.add(key)
        for listener in self._freed:
            listener()

    async def _give_back_until_taken(self, items: list[T]) -> None:
        failures = 0
        while True:
            try:
                await self.give_back(items)
                return
            except Exception as exc:
                failures += 1
                delay = backoff(failures)
                log.error(
                    "%s: giving claims back failed (%s), again in %.1fs",
                    self.name,
                    type(exc).__name__,
                    delay,
                )
                await asyncio.sleep(delay)

    def _drop_queued(self, key: K, row_id: int) -> None:
        """An item taken from the database may have been offered meanwhile (a database in
        another thread): it runs once."""
        queue = self._queued.get(key)
        if queue and any(self.id_of(item) == row_id for item in queue):
            kept = deque(item for item in queue if self.id_of(item) != row_id)
            if kept:
                self._queued[key] = kept
            else:
                del self._queued[key]

    def _next_queued(self, key: K) -> T | None:
        queue = self._queued.get(key)
        if not queue:
            return None
        item = queue.popleft()
        if not queue:
            del self._queued[key]
        return item
