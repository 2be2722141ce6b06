"""Per-chat pacing: Telegram asks for about one message per second per chat.

A token bucket per chat allows a short burst (a reply of two or three messages goes out at once)
and then ~1 message/s. The overall 30/s and 20/min-per-group limits are AIORateLimiter's job.
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
