"""Drains the database outbox to Telegram: in order per chat, paced, retried, never lost.

One worker task per chat with pending calls. A worker claims the head of its chat's queue,
waits for the chat's pacing token, calls the Bot API (through the bot's AIORateLimiter, which
keeps the overall 30/s and pauses everything on a 429), and records the outcome:

- sent → ``sent`` with Telegram's message_id (replies to it can be mapped back, see `ref`);
- 429 → retried after Telegram's ``retry_after``;
- 5xx, timeouts, network errors → retried with exponential backoff (capped);
- refused for good (bot blocked, chat gone, bad request) → ``failed``, so one bad message
  cannot block a chat's queue forever.

At start-up every chat with pending rows is drained again (rows of a crashed process become
claimable when their lease runs out).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import warnings
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, update
from sqlmodel import Session, col
from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions, Message
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBDeprecationWarning

from bot.channels.telegram.logs import describe
from bot.channels.telegram.pacing import ChatPacer
from storage import telegram_state as state

log = logging.getLogger(__name__)

SEND_MESSAGE = "sendMessage"
EDIT_MARKUP = "editMessageReplyMarkup"
EDIT_TEXT = "editMessageText"


class OutboxDrainer:
    def __init__(
        self,
        bot: Bot,
        engine: Engine,
        *,
        pacer: ChatPacer | None = None,
        lease: timedelta = timedelta(seconds=90),
        max_backoff: float = 30.0,
        sweep_interval: float = 5.0,
    ) -> None:
        self._bot = bot
        self._engine = engine
        self._pacer = pacer or ChatPacer()
        self._lease = lease
        self._max_backoff = max_backoff
        self._sweep_interval = sweep_interval
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._again: set[int] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self._last_purge = 0.0

    async def start(self) -> None:
        """Replay what a previous run left pending, and keep sweeping for due retries."""
        with Session(self._engine) as session:
            state.retry_now(session=session)
        self.sweep()
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="outbox-sweeper")

    async def stop(self) -> None:
        tasks = list(self._workers.values())
        if self._sweeper is not None:
            tasks.append(self._sweeper)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._workers.clear()
        self._sweeper = None

    def wake(self, chat_id: int) -> None:
        """There is something new for `chat_id`: make sure a worker drains it."""
        self._again.add(chat_id)
        worker = self._workers.get(chat_id)
        if worker is None or worker.done():
            self._workers[chat_id] = asyncio.create_task(
                self._drain(chat_id), name=f"outbox-{chat_id}"
            )

    def sweep(self) -> None:
        with Session(self._engine) as session:
            for chat_id in state.chats_with_pending(session=session):
                self.wake(chat_id)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._sweep_interval)
            try:
                self.sweep()
                self._purge_old_update_marks()
            except Exception as exc:  # a database hiccup must not end the sweeper
                log.error("outbox sweep failed: %s", type(exc).__name__)

    def _purge_old_update_marks(self) -> None:
        # Telegram re-delivers an update for at most 24 hours; a week of marks is plenty.
        now = time.monotonic()
        if now - self._last_purge < 3600:
            return
        self._last_purge = now
        with Session(self._engine) as session:
            state.purge_processed_updates(session=session, older_than=timedelta(days=7))

    async def _drain(self, chat_id: int) -> None:
        try:
            while True:
                self._again.discard(chat_id)
                with Session(self._engine) as session:
                    row = state.claim_next(session=session, chat_id=chat_id, lease=self._lease)
                if row is None or row.id is None:
                    if chat_id in self._again:
                        continue
                    return
                await self._process(row.id, row)
        finally:
            if self._workers.get(chat_id) is asyncio.current_task():
                del self._workers[chat_id]

    async def _process(self, outbox_id: int, row: state.TelegramOutbox) -> None:
        sent = False
        try:
            if row.not_before is not None:
                delay = (row.not_before - state.utcnow()).total_seconds()
                if delay > 0:
                    await asyncio.sleep(min(delay, self._lease.total_seconds() / 3))
                    if delay > self._lease.total_seconds() / 3:
                        return  # still not due: released below, claimed again later
            await self._pacer.wait(row.chat_id)
            sent = await self._send(outbox_id, row)
        finally:
            if not sent:
                self._release(outbox_id)

    async def _send(self, outbox_id: int, row: state.TelegramOutbox) -> bool:
        """Make the call and record the outcome. True when the row is settled (sent/failed/retry)."""
        try:
            message_id = await self._call(row.method, row.chat_id, row.params())
        except RetryAfter as exc:
            with warnings.catch_warnings():
                # PTB 22 warns that retry_after becomes a timedelta; both are handled here.
                warnings.simplefilter("ignore", PTBDeprecationWarning)
                wait = exc.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            log.warning("outbox %d: flood limit, retrying in %.1fs", outbox_id, seconds)
            self._retry(outbox_id, seconds, "RetryAfter")
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                self._settle(outbox_id, None)
            else:
                # The description may quote the text: log only the error class.
                log.warning("outbox %d: refused by Telegram (%s)", outbox_id, type(exc).__name__)
                self._fail(outbox_id, type(exc).__name__)
        except (Forbidden, ChatMigrated) as exc:
            log.warning("outbox %d: chat unreachable (%s)", outbox_id, type(exc).__name__)
            self._fail(outbox_id, type(exc).__name__)
        except (NetworkError, TelegramError) as exc:
            backoff = min(self._max_backoff, 0.5 * 2**row.attempts) * random.uniform(0.8, 1.2)
            log.warning(
                "outbox %d: %s, retry %d in %.1fs",
                outbox_id,
                type(exc).__name__,
                row.attempts + 1,
                backoff,
            )
            self._retry(outbox_id, backoff, type(exc).__name__)
        except Exception as exc:
            # Anything else (a bug, a broken payload) must not kill the chat's worker.
            log.error("outbox %d: unexpected %s", outbox_id, describe(exc))
            self._retry(outbox_id, self._max_backoff, type(exc).__name__)
        else:
            self._settle(outbox_id, message_id)
        return True

    async def _call(self, method: str, chat_id: int, params: dict[str, Any]) -> int | None:
        markup = _markup(params.get("reply_markup"))
        if method == SEND_MESSAGE:
            message = await self._bot.send_message(
                chat_id,
                params["text"],
                parse_mode=params.get("parse_mode"),
                reply_markup=markup,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
            return message.message_id
        if method == EDIT_MARKUP:
            result = await self._bot.edit_message_reply_markup(
                chat_id, params["message_id"], reply_markup=markup
            )
        elif method == EDIT_TEXT:
            result = await self._bot.edit_message_text(
                params["text"],
                chat_id,
                params["message_id"],
                parse_mode=params.get("parse_mode"),
                reply_markup=markup,
            )
        else:
            raise BadRequest(f"unsupported outbox method {method}")
        return result.message_id if isinstance(result, Message) else None

    def _settle(self, outbox_id: int, message_id: int | None) -> None:
        with Session(self._engine) as session:
            state.mark_sent(session=session, outbox_id=outbox_id, message_id=message_id)

    def _fail(self, outbox_id: int, error: str) -> None:
        with Session(self._engine) as session:
            state.mark_failed(session=session, outbox_id=outbox_id, error=error)

    def _retry(self, outbox_id: int, seconds: float, error: str) -> None:
        with Session(self._engine) as session:
            state.mark_retry(
                session=session,
                outbox_id=outbox_id,
                not_before=state.utcnow() + timedelta(seconds=seconds),
                error=error,
            )
        # Keep draining: the worker loop picks the row up again and waits until it is due.

    def _release(self, outbox_id: int) -> None:
        with contextlib.suppress(Exception), Session(self._engine) as session:
            session.exec(
                update(state.TelegramOutbox)
                .where(
                    col(state.TelegramOutbox.id) == outbox_id,
                    col(state.TelegramOutbox.status) == state.OutboxStatus.PENDING,
                )
                .values(claimed_until=None)
            )
            session.commit()


def _markup(value: Any) -> InlineKeyboardMarkup | None:
    if not value:
        return None
    return InlineKeyboardMarkup.de_json(value, None)
