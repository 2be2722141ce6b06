"""Long polling with getUpdates, confirming updates only after they are stored.

PTB's Updater confirms an update as soon as it has fetched it, so a crash mid-turn lost it;
here the offset moves past an update only once it is in the inbox.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Bot
from telegram.error import InvalidToken, NetworkError, RetryAfter, TelegramError

from bot.channels.telegram import rawapi
from bot.channels.telegram.intake import Intake
from bot.tasks import cancel_and_wait

log = logging.getLogger(__name__)
READ_MARGIN = 10.0  # seconds a long poll's answer may take beyond its timeout


class Poller:
    def __init__(
        self, bot: Bot, intake: Intake, *, timeout: int, allowed_updates: list[str]
    ) -> None:
        self._bot = bot
        self._intake = intake
        self._timeout = timeout
        self._allowed = allowed_updates
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="telegram-poller")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        offset: int | None = None  # Telegram re-sends whatever was not confirmed before
        backoff = 1.0
        while True:
            try:
                raw = await self._fetch(offset)
                await self._intake.store(raw)
            except asyncio.CancelledError:
                raise
            except InvalidToken:
                log.error("Telegram refused the bot token; polling stopped")
                raise
            except RetryAfter as exc:
                log.warning("getUpdates: flood limit (%s)", type(exc).__name__)
                await asyncio.sleep(5)
                continue
            except (NetworkError, TelegramError) as exc:
                log.warning(
                    "getUpdates failed (%s), retrying in %.0fs", type(exc).__name__, backoff
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            except Exception as exc:  # the database: retry, updates stay unconfirmed
                log.error("storing updates failed (%s), retrying", type(exc).__name__)
                await asyncio.sleep(min(backoff, 5.0))  # a database comes back in seconds
                backoff = min(backoff * 2, 30.0)
                continue
            backoff = 1.0
            if raw:
                offset = max(int(u["update_id"]) for u in raw) + 1

    async def _fetch(self, offset: int | None) -> list[dict[str, Any]]:
        """One long poll; the updates as Telegram sent them (stored as they are: no Update
        objects built here, the pipeline reads each one once)."""
        params: dict[str, Any] = {"timeout": self._timeout, "allowed_updates": self._allowed}
        if offset is not None:
            params["offset"] = offset
        # As Bot.get_updates does: the read may take the long poll's time and a margin more.
        result = await rawapi.call(
            self._bot, rawapi.GET_UPDATES, params, read_timeout=self._timeout + READ_MARGIN
        )
        if not isinstance(result, list):
            raise NetworkError("getUpdates answered no list")
        return [u for u in result if isinstance(u, dict)]
