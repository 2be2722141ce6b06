"""Pacing under Telegram's limits: about one message per second per chat (20 a minute in a
group) and about 30 a second for the whole bot.

A token bucket per chat allows a short burst (a reply of two or three messages goes out at once)
and then ~1 message/s. The bot-wide budget is a separate bucket that only outgoing messages
take from: answering a button press never waits behind it, and a 429 for one chat only makes
that chat wait (see outbox.py), not the whole bot.
"""

from __future__ import annotations

import asyncio
import time


class ChatPacer:
    def __init__(self, rate: float = 1.0, burst: float = 3.0, group_rate: float = 20 / 60) -> None:
        self._rate = rate
        self._burst = burst
        self._group_rate = group_rate
        self._buckets: dict[int, tuple[float, float]] = {}  # chat -> (tokens, updated)

    async def wait(self, chat_id: int) -> None:
        """Sleep until `chat_id` may receive another message, then take one token."""
        # Groups have negative ids and a much lower limit.
        rate = self._rate if chat_id > 0 else self._group_rate
        burst = self._burst if chat_id > 0 else 1.0
        now = time.monotonic()
        tokens, updated = self._buckets.get(chat_id, (burst, now))
        tokens = min(burst, tokens + (now - updated) * rate)
        if tokens < 1:
            await asyncio.sleep((1 - tokens) / rate)
            now = time.monotonic()
            tokens = 1.0
        self._buckets[chat_id] = (tokens - 1, now)
        if len(self._buckets) > 10_000:
            self._forget_idle(now)

    def _forget_idle(self, now: float) -> None:
        # A bucket that has been idle long enough is full again: dropping it changes nothing.
        idle = [
            chat
            for chat, (_, updated) in self._buckets.items()
            if now - updated > self._burst / self._group_rate
        ]
        for chat in idle:
            del self._buckets[chat]


class GlobalLimiter:
    """At most `rate` messages a second for the whole bot (0: no limit, for benchmarks)."""

    def __init__(self, rate: float = 30.0, burst: float = 30.0) -> None:
        self._rate = rate
        self._burst = burst
        self._tokens = burst
        self._updated = time.monotonic()
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        if self._rate <= 0:
            return
        async with self._lock:  # FIFO: first come, first served
            now = time.monotonic()
            self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
            self._updated = now
            if self._tokens < 1:
                await asyncio.sleep((1 - self._tokens) / self._rate)
                self._tokens = 1.0
                self._updated = time.monotonic()
            self._tokens -= 1
