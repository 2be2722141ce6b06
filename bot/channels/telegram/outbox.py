"""Drains the database outbox to Telegram: in order per chat, paced, retried, never lost.

One task per chat with something to send. Rows this process queued come claimed already (see
`enqueue_claimed`) and are sent straight from memory (`deliver`); otherwise the task claims the
head of the chat's queue (its worker id on the row). It waits for the chat's pacing and the bot-wide 30/s budget, calls the Bot API and
records the outcome; recording is retried until the database takes it, because sending the
message again would be worse:

- sent → ``sent`` with Telegram's message_id (replies to it can be mapped back, see `ref`);
- 429 → this chat waits Telegram's ``retry_after`` (other chats and button answers go on; the
  chat's rows claimed in memory are given back, to follow the waiting one in order);
- 5xx, timeouts, network errors → retried with exponential backoff (capped);
- refused for good (bot blocked, chat gone, bad request) → ``failed``; a message to a coach
  about a case that Telegram refuses moves the case on (see `on_refused`), in the same commit.

Rows claimed by a process that died are taken over once its heartbeat stops (seconds). The
call that was under way at that moment may or may not have reached Telegram, which has no
idempotency key: it is sent again rather than lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import warnings
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlmodel import Session
from telegram import Bot, InlineKeyboardMarkup, InputFile, LinkPreviewOptions, Message
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBDeprecationWarning

from bot.channels.telegram.pacing import ChatPacer, GlobalLimiter
from bot.channels.telegram.render import EDIT_MARKUP, EPHEMERAL_KIND, SEND_DOCUMENT, SEND_MESSAGE
from bot.faults import crash_point
from bot.logsafe import describe
from storage import telegram_state as outbox
from storage import workers
from storage.database import in_transaction, runs_in_thread
from storage.models import utcnow
from storage.telegram_state import Outgoing, TelegramOutbox

log = logging.getLogger(__name__)


class RefusalHandler(Protocol):
    def __call__(self, session: Session, row: TelegramOutbox) -> list[Outgoing]:
        """Called in the transaction that marks `row` failed; returns calls to queue."""
        ...


class LiveWorkers:
    """Which workers are alive, read at most once a second (claims ask for it per row)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._cached: set[str] = set()
        self._at = 0.0

    def get(self, session: Session) -> set[str]:
        now = time.monotonic()
        if now - self._at > 1.0:
            self._cached = workers.alive(session)
            self._at = now
        return self._cached


class OutboxDrainer:
    def __init__(
        self,
        bot: Bot,
        engine: Engine,
        *,
        worker_id: str,
        pacer: ChatPacer | None = None,
        limiter: GlobalLimiter | None = None,
        max_backoff: float = 30.0,
        sweep_interval: float = 2.0,
        on_refused: RefusalHandler | None = None,
        db_in_thread: bool | None = None,
    ) -> None:
        self._bot = bot
        self._engine = engine
        self._worker = worker_id
        self._pacer = pacer or ChatPacer()
        self._limiter = limiter or GlobalLimiter()
        self._max_backoff = max_backoff
        self._sweep_interval = sweep_interval
        self._on_refused = on_refused
        self._live = LiveWorkers(engine)
        self._in_thread = runs_in_thread(engine) if db_in_thread is None else db_in_thread
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._queued: dict[int, deque[TelegramOutbox]] = {}
        self._again: set[int] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        """Send what a previous run left, and keep sweeping for due retries and other
        processes' rows."""
        await self.sweep()
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="outbox-sweeper")

    async def stop(self) -> None:
        self._stopping = True
        tasks = list(self._workers.values())
        if self._sweeper is not None:
            tasks.append(self._sweeper)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._workers.clear()
        self._sweeper = None
        queued = [row.id for queue in self._queued.values() for row in queue if row.id]
        self._queued.clear()
        with contextlib.suppress(Exception):  # else taken over once our heartbeat stops
            await self._db(lambda s: outbox.release(s, outbox_ids=queued, worker_id=self._worker))

    def deliver(self, rows: list[TelegramOutbox]) -> None:
        """Rows this worker queued claimed (committed): send them in order, from memory."""
        for row in rows:
            self._queued.setdefault(row.chat_id, deque()).append(row)
        for chat_id in dict.fromkeys(row.chat_id for row in rows):
            self._ensure_task(chat_id)

    def wake(self, chat_id: int) -> None:
        """There may be unclaimed rows for `chat_id` in the database: make sure a task drains
        them."""
        self._again.add(chat_id)
        self._ensure_task(chat_id)

    def _ensure_task(self, chat_id: int) -> None:
        if self._stopping:
            return
        task = self._workers.get(chat_id)
        if task is None or task.done():
            self._workers[chat_id] = asyncio.create_task(
                self._drain(chat_id), name=f"outbox-{chat_id}"
            )

    async def sweep(self) -> None:
        chats = await self._db(lambda s: outbox.chats_with_pending(s))
        for chat_id in chats:
            self.wake(chat_id)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._sweep_interval)
            try:
                await self.sweep()
            except Exception as exc:  # a database hiccup must not end the sweeper
                log.error("outbox sweep failed: %s", type(exc).__name__)

    async def _db(self, work: Callable[[Session], Any]) -> Any:
        return await in_transaction(self._engine, work, in_thread=self._in_thread)

    async def _drain(self, chat_id: int) -> None:
        try:
            while not self._stopping:
                queued = self._next_queued(chat_id)
                if queued is not None:
                    if not await self._process(queued):
                        await self._release_chat(chat_id)
                    continue
                self._again.discard(chat_id)
                claim = await self._db(
                    lambda s: outbox.claim_head(
                        s, chat_id=chat_id, worker_id=self._worker, alive=self._live.get(s)
                    )
                )
                if claim.row is None:
                    if claim.retry_at is not None:
                        await asyncio.sleep(_seconds_until(claim.retry_at))
                        continue
                    if chat_id in self._again or chat_id in self._queued:
                        continue
                    return
                await self._process(claim.row)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the sweeper starts the chat again
            log.error("outbox chat task failed: %s", describe(exc))
        finally:
            if self._workers.get(chat_id) is asyncio.current_task():
                del self._workers[chat_id]

    def _next_queued(self, chat_id: int) -> TelegramOutbox | None:
        queue = self._queued.get(chat_id)
        if not queue:
            return None
        row = queue.popleft()
        if not queue:
            del self._queued[chat_id]
        return row

    async def _release_chat(self, chat_id: int) -> None:
        """The chat's head must wait (429, backoff): its rows claimed in memory go back to the
        database, to be claimed in order after it."""
        ids = [row.id for row in self._queued.pop(chat_id, ()) if row.id is not None]
        await self._record(lambda s: outbox.release(s, outbox_ids=ids, worker_id=self._worker))
        self._again.add(chat_id)

    async def _process(self, row: TelegramOutbox) -> bool:
        """Make the call and record its outcome; False when the row waits for a retry."""
        assert row.id is not None
        outbox_id = row.id
        try:
            await self._pacer.wait(row.chat_id)
            await self._limiter.wait()
            crash_point("outbox.before_send")
            message_id = await self._call(row.method, row.chat_id, row.params())
            crash_point("outbox.after_send")
        except asyncio.CancelledError:
            # Stopping before the call: give it back. (If the call was under way, the row stays
            # ours and is taken over after a restart: at most this one message twice.)
            with contextlib.suppress(Exception):
                await self._db(
                    lambda s: outbox.release(s, outbox_ids=[outbox_id], worker_id=self._worker)
                )
            raise
        except RetryAfter as exc:
            seconds = _retry_after_seconds(exc)
            log.warning("outbox %d: flood limit, this chat waits %.1fs", outbox_id, seconds)
            await self._record(lambda s: self._retry(s, outbox_id, seconds, "RetryAfter"))
            return False
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                await self._record(lambda s: self._sent(s, outbox_id, None))
            else:
                # The description may quote the text: log only the error class.
                error = type(exc).__name__
                log.warning("outbox %d: refused by Telegram (%s)", outbox_id, error)
                await self._record(lambda s: self._failed(s, row, error))
        except (Forbidden, ChatMigrated) as exc:
            error = type(exc).__name__
            log.warning("outbox %d: chat unreachable (%s)", outbox_id, error)
            await self._record(lambda s: self._failed(s, row, error))
        except (NetworkError, TelegramError) as exc:
            backoff = min(self._max_backoff, 0.5 * 2**row.attempts) * random.uniform(0.8, 1.2)
            error = type(exc).__name__
            log.warning(
                "outbox %d: %s, retry %d in %.1fs", outbox_id, error, row.attempts + 1, backoff
            )
            await self._record(lambda s: self._retry(s, outbox_id, backoff, error))
            return False
        except Exception as exc:
            # Anything else (a bug, a broken payload) must not kill the chat's task.
            log.error("outbox %d: unexpected %s", outbox_id, describe(exc))
            error = type(exc).__name__
            await self._record(lambda s: self._retry(s, outbox_id, self._max_backoff, error))
            return False
        else:
            if row.kind == EPHEMERAL_KIND:
                await self._record(
                    lambda s: outbox.delete_sent(s, outbox_id=outbox_id, worker_id=self._worker)
                )
            else:
                await self._record(lambda s: self._sent(s, outbox_id, message_id))
        return True

    async def _record(self, work: Callable[[Session], Any]) -> None:
        """Write the outcome of a call, retrying through database trouble: while this worker
        lives the row stays claimed by it, so it is never sent twice meanwhile."""
        delay = 0.1
        while True:
            try:
                outcomes = await self._db(work)
            except Exception as exc:
                log.error("outbox: recording an outcome failed (%s), retrying", type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            for item in outcomes or ():
                self.wake(item.chat_id)
            return

    def _sent(self, session: Session, outbox_id: int, message_id: int | None) -> None:
        outbox.mark_sent(
            session, outbox_id=outbox_id, worker_id=self._worker, message_id=message_id
        )

    def _retry(self, session: Session, outbox_id: int, seconds: float, error: str) -> None:
        not_before = utcnow() + timedelta(seconds=seconds)
        outbox.mark_retry(
            session, outbox_id=outbox_id, worker_id=self._worker, not_before=not_before, error=error
        )

    def _failed(self, session: Session, row: TelegramOutbox, error: str) -> list[Outgoing]:
        assert row.id is not None
        if not outbox.mark_failed(session, outbox_id=row.id, worker_id=self._worker, error=error):
            return []
        if self._on_refused is None:
            return []
        follow_up = self._on_refused(session, row)
        outbox.enqueue(session, outgoing=follow_up)
        return follow_up

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
            return result.message_id if isinstance(result, Message) else None
        if method == SEND_DOCUMENT:
            sent = await self._bot.send_document(
                chat_id,
                InputFile(params["content"].encode(), filename=params["filename"]),
                caption=params.get("caption"),
            )
            return sent.message_id
        raise BadRequest(f"unsupported outbox method {method}")


def _retry_after_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        # PTB 22 warns that retry_after becomes a timedelta; both are handled here.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        wait = exc.retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)


def _seconds_until(when: datetime) -> float:
    return max(0.05, min(30.0, (when - utcnow()).total_seconds()))


def _markup(value: Any) -> InlineKeyboardMarkup | None:
    if not value:
        return None
    return InlineKeyboardMarkup.de_json(value, None)
