"""Overload policy: a turn's NLU budget counts from when the turn starts, an answer is kept
on time by keywords when the message has waited long, and Rasa is asked by a bounded number of
turns at a time.

Why. At capacity, turns used to wait behind each other inside Rasa; each parse's own 2 s timeout
started only when it was sent, so a turn could wait in the queue, then wait 2 s more, and Rasa
kept working on parses the bot had long given up on (work nobody used: the collapse). Later the
budget counted from the update's arrival, so a turn that had waited in the inbox for room
started with nothing left and fell back to keywords while Rasa sat idle. Now:

- the budget (`budget` seconds, `NLU_TIMEOUT_SECONDS`) runs from the **start of the turn**
  (`turn_started`), the wait for a Rasa slot included, so a turn never waits for the NLU longer
  than the budget after it began, and a message that waited for room still gets Rasa;
- the answer stays on time: Rasa is asked only while a parse would end within `ON_TIME`
  seconds of the message's **arrival** (queue wait included). A message that has waited
  longer (the bot is short, not Rasa) is answered with keywords at once: the parse would make
  its answer later still, and the Rasa CPU it saves goes to the turns behind it;
- at most `max_in_flight` parses are out at Rasa at once (`NLU_MAX_IN_FLIGHT`); the others
  wait here, where giving up costs nothing;
- a turn whose time runs out before Rasa was asked, or whose rest is shorter than a parse
  takes these days (a moving average that rises at once with a slower parse), is *shed* — Rasa
  is not sent work the turn would abandon: it goes on with keywords and buttons (as when Rasa
  is down) — degraded, answered, counted (`careerbot_nlu_total{outcome}`);
- and it is shed *at once*, not at the end of its budget: a turn finding every slot taken
  waits only while a parse would still fit in its time after the wait, and not at all when
  the parses queued ahead of it (at the mean parse time, `max_in_flight` at a time) will not
  clear in time. Waiting out the budget first would make every shed turn 2 s late and keep
  its place in the bot (memory, the room of bot/channels/dispatcher.py) for nothing;
- a participant whose message waited `HOLD_AFTER` seconds without an answer — in the inbox
  for room, or in its turn — gets one short "Eén moment…" first, once per wait (see
  bot/channels/telegram/holding.py), at most `HOLD_PER_SECOND` a second (beyond that,
  skipped and counted).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Protocol

from bot.nlu.client import NluResult
from bot.ops import metrics

HOLD_AFTER = 2.0  # seconds a participant waits before "Eén moment…"
# At most this many notices per second per process: when the bot's own CPU is what is short,
# a notice for every waiting message would double the Bot API calls and make it worse.
HOLD_PER_SECOND = 5.0
# Rasa is asked only while its answer would still come within this many seconds of the
# message's arrival; later, keywords (the reply bound of issue 18 is 5 s at the 99th percentile).
ON_TIME = 3.0


class NoticeBudget:
    """A token bucket for "Eén moment…" notices (one process)."""

    def __init__(self, rate: float = HOLD_PER_SECOND, burst: float = 10.0) -> None:
        self._rate = rate
        self._burst = burst
        self._tokens = burst
        self._at = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True


MIN_PARSE = 0.03  # less budget than this left: do not bother Rasa

_TURN: ContextVar[tuple[float, float] | None] = ContextVar("turn", default=None)


@contextlib.contextmanager
def turn_started(arrived: float, at: float | None = None) -> Iterator[None]:
    """Everything awaited inside (in this task) belongs to a turn whose update arrived at
    `arrived` and whose turn started at `at` (time.monotonic(); default now)."""
    token = _TURN.set((arrived, time.monotonic() if at is None else at))
    try:
        yield
    finally:
        _TURN.reset(token)


def started_at() -> tuple[float, float]:
    """(arrived, started) of the current turn; both now outside any turn."""
    turn = _TURN.get()
    if turn is None:
        now = time.monotonic()
        return now, now
    return turn


class BudgetedParser(Protocol):
    async def parse(self, text: str, *, budget: float | None = None) -> NluResult: ...


class Admission:
    """An `NluParser` in front of the NLU client, applying the policy above."""

    def __init__(
        self,
        client: BudgetedParser,
        *,
        budget: float,
        max_in_flight: int = 8,
        on_time: float = ON_TIME,
    ) -> None:
        self._client = client
        self._budget = budget
        self._on_time = on_time
        self._max = max(1, max_in_flight)
        self._slots = asyncio.Semaphore(self._max)
        self._typical = MIN_PARSE  # seconds a parse takes lately (up at once, down slowly)
        self._mean: float | None = None  # seconds a parse takes on average lately
        self._asking = 0  # turns holding a slot or waiting for one

    def _left(self, turn: tuple[float, float]) -> float:
        """Seconds this turn may still spend on the NLU: its budget from the turn's start, and
        no later than an on-time answer to a message that waited allows."""
        arrived, started = turn
        now = time.monotonic()
        return min(self._budget - (now - started), self._on_time - (now - arrived))

    async def parse(self, text: str) -> NluResult:
        started = started_at()
        asked = time.monotonic()
        try:
            return await self._parse(text, started)
        finally:
            metrics.NLU_SECONDS.observe(time.monotonic() - asked)

    async def _parse(self, text: str, started: tuple[float, float]) -> NluResult:
        # How long this turn can wait for a slot and still have time for a parse.
        spare = self._left(started) - max(MIN_PARSE, self._typical)
        if spare <= 0:
            return _shed()
        ahead = self._asking  # turns at Rasa or waiting for a slot before this one
        if ahead >= self._max:
            # Every slot is taken: those ahead go first, `_max` at a time, a parse each.
            rounds = (ahead - self._max) // self._max + 1
            if rounds * (self._mean or self._typical) >= spare:
                return _shed()
        self._asking += 1
        try:
            try:
                await asyncio.wait_for(self._slots.acquire(), spare)
            except TimeoutError:
                return _shed()
            try:
                return await self._ask(text, started)
            finally:
                self._slots.release()
        finally:
            self._asking -= 1

    async def _ask(self, text: str, started: tuple[float, float]) -> NluResult:
        """With a slot: ask Rasa, if what is left of the budget still fits a parse."""
        left = self._left(started)
        if left < max(MIN_PARSE, self._typical):
            return _shed()
        metrics.NLU_IN_FLIGHT.inc()
        asked = time.monotonic()
        try:
            result = await self._client.parse(text, budget=left)
        finally:
            metrics.NLU_IN_FLIGHT.dec()
        if result.available:
            took = time.monotonic() - asked
            # Up at once, down slowly: under load parses get slower, and a turn sent to
            # Rasa with less time than a parse now takes is abandoned half-way (wasted
            # work exactly when there is none to spare).
            self._typical = max(took, 0.8 * self._typical + 0.2 * took)
            self._mean = took if self._mean is None else 0.8 * self._mean + 0.2 * took
        metrics.NLU_TURNS.labels(outcome="parsed" if result.available else "unavailable").inc()
        return result


def _shed() -> NluResult:
    metrics.NLU_TURNS.labels(outcome="shed").inc()
    return NluResult.unavailable()
