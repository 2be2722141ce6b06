"""Drains the database outbox to Telegram: in order per chat, paced, retried, never lost.

A lane per chat (bot/channels/lanes.py). Rows this process queued come claimed already (see
`enqueue_claimed`) and are sent straight from memory (`deliver`); otherwise the lane claims the
head of the chat's queue. It waits for the chat's pacing and the bot-wide 30/s budget, calls
the Bot API and records the outcome; recording is retried until the database takes it,
because sending the message again would be worse:

- sent → ``sent`` with Telegram's message_id (replies to it can be mapped back, see `ref`); a
  delivered case card lets the participant's "I passed your details to …" go (``held``);
- 429 → this chat waits Telegram's ``retry_after`` (other chats and button answers go on; the
  chat's rows claimed in memory are given back, to follow the waiting one in order);
- 5xx, timeouts, network errors → retried with exponential backoff (capped);
- refused for good (bot blocked, chat gone, bad request) → ``failed``; a message to a coach
  about a case that Telegram refuses moves the case on (see `on_refused`), in the same commit.

Rows claimed by a process that died are taken over once its heartbeat stops (seconds), and rows
nobody renews after 30 s. The call that was under way at that moment may or may not have
reached Telegram, which has no idempotency key: it is sent again rather than lost.
"""

from __future__ import annotations

import asyncio
import logging
import random
import warnings
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlmodel import Session
from telegram import Bot, InputFile
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBDeprecationWarning

from bot.channels.lanes import Lanes, Outcome, Taken
from bot.channels.telegram import rawapi
from bot.channels.telegram.pacing import ChatPacer, GlobalLimiter
from bot.channels.telegram.render import (
    COACH_KIND,
    EDIT_MARKUP,
    EDIT_TEXT,
    EPHEMERAL_KIND,
    SEND_DOCUMENT,
    SEND_MESSAGE,
)
from bot.faults import crash_point
from bot.logsafe import describe
from bot.ops import metrics
from storage import telegram_state as outbox
from storage.database import in_transaction, on_connection, runs_in_thread
from storage.models import utcnow
from storage.telegram_state import Outgoing, TelegramOutbox

log = logging.getLogger(__name__)
# Bot API calls under way at once. httpx's pool looks at every connection and every waiting
# request each time a request starts or ends, so with hundreds of chats sending at once the
# pool's bookkeeping cost more CPU than the calls (measured: 3.5-4 ms per call with 64
# connections busy, 1.1-1.5 with 8). But under overload the sends are what makes room for new
# turns (TURN_ROOM): at 160 turns/s offered (bench_telegram overload, SQLite, quiet machine)
# 8 at once capped the bot at 102 turns/s (226 calls/s, p99 32 s), 16 reached 143 turns/s
# (263 calls/s, p99 7.8 s), 32 fell back to 128 turns/s (the pool's cost again).
MAX_SENDING = 16
# Turns under way plus messages in hand (claimed, not yet sent) stay below this: the inbox's
# back-pressure (bot/channels/dispatcher.py). 64 keeps the MAX_SENDING calls fed many times
# over, while a turn that starts finds its replies sent within a fraction of a second.
TURN_ROOM = 64
STOP_GRACE = 5.0  # seconds the calls under way get at a stop (SIGTERM) to finish
SETTLE_SECONDS = 10.0  # and then their delivery records, at most (the database may be down)


class RefusalHandler(Protocol):
    def __call__(self, session: Session, row: TelegramOutbox) -> list[Outgoing]:
        """Called in the transaction that marks `row` failed; returns calls to queue."""
        ...


class OutboxDrainer(Lanes[int, TelegramOutbox]):
    name = "outbox"

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
        max_sending: int = MAX_SENDING,
        turn_room: int = TURN_ROOM,
    ) -> None:
        super().__init__(engine, worker_id=worker_id, sweep_interval=sweep_interval)
        self._turn_room = turn_room
        self._sending = asyncio.Semaphore(max_sending)
        self._bot = bot
        self._pacer = pacer or ChatPacer()
        self._limiter = limiter or GlobalLimiter()
        self._max_backoff = max_backoff
        self._on_refused = on_refused
        self._in_thread = runs_in_thread(engine) if db_in_thread is None else db_in_thread
        self._batch: list[tuple[int, int | None, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    def turn_room(self) -> int:
        """How many turns may be under way now: what the messages in hand leave of TURN_ROOM
        (wake the dispatcher through `on_freed` when it grows)."""
        return self._turn_room - self.depth()

    def deliver(self, rows: list[TelegramOutbox]) -> None:
        """Rows this worker queued claimed (committed): send them in order, from memory."""
        self.offer(rows)

    def key_of(self, item: TelegramOutbox) -> int:
        return item.chat_id

    def id_of(self, item: TelegramOutbox) -> int:
        assert item.id is not None
        return item.id

    async def take(self, key: int, in_hand: Collection[int]) -> Taken[TelegramOutbox]:
        claim = await self._db(
            lambda s: outbox.claim_head(
                s, chat_id=key, worker_id=self._worker, alive=self.live.get(s), in_hand=in_hand
            )
        )
        wait = _seconds_until(claim.retry_at) if claim.retry_at is not None else None
        return Taken(claim.row, wait)

    async def run(self, item: TelegramOutbox) -> Outcome:
        return Outcome.DONE if await self._process(item) else Outcome.GIVE_BACK

    async def give_back(self, items: list[TelegramOutbox]) -> None:
        ids = [row.id for row in items if row.id is not None]
        await self._db(lambda s: outbox.release(s, outbox_ids=ids, worker_id=self._worker))

    async def pending(self) -> list[int]:
        chats: list[int] = await self._db(lambda s: outbox.chats_with_pending(s))
        return chats

    async def renew(self, ids: list[int]) -> None:
        await self._db(lambda s: outbox.renew(s, outbox_ids=ids, worker_id=self._worker))

    async def _db(self, work: Callable[[Session], Any]) -> Any:
        return await in_transaction(self._engine, work, in_thread=self._in_thread)

    async def _process(self, row: TelegramOutbox) -> bool:
        """Make the call and record its outcome; False when the row waits for a retry."""
        assert row.id is not None
        outbox_id = row.id
        try:
            await self._pacer.wait(row.chat_id)
            await self._limiter.wait()
            if self.stopping:
                return False  # stopping: no new call (given back unsent, sent once later)
            crash_point("outbox.before_send")
            async with self._sending:
                message_id = await self._call(row.method, row.chat_id, row.params())
            crash_point("outbox.after_send")
            metrics.TELEGRAM_SENT.inc()
        except RetryAfter as exc:
            metrics.TELEGRAM_429.inc()
            seconds = _retry_after_seconds(exc)
            log.warning("outbox %d: flood limit, this chat waits %.1fs", outbox_id, seconds)
            await self._record(lambda s: self._retry(s, outbox_id, seconds, "RetryAfter"))
            return False
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                await self._record(lambda s: self._sent(s, row, None))
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
            elif row.kind == COACH_KIND and row.ref is not None:
                await self._record(lambda s: self._sent(s, row, message_id))
            else:
                await self._settle_sent(outbox_id, message_id)
        return True

    async def _settle_sent(self, outbox_id: int, message_id: int | None) -> None:
        """Record a plain delivery together with the others that finish meanwhile (one
        transaction for the batch: group commit). The lane waits until its row is recorded
        before it sends the chat's next one, so a kill -9 repeats at most the one message
        per chat whose send or record was under way (README, "Delivery")."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._batch.append((outbox_id, message_id, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="outbox-settle")
        await asyncio.shield(done)  # a cancelled lane leaves its record to the flusher

    async def _flush(self) -> None:
        while self._batch:
            await asyncio.sleep(0)  # sends finishing in this turn of the loop join the batch
            batch, self._batch = self._batch, []
            sent = [(oid, mid) for oid, mid, _ in batch]
            await self._record(
                partial(outbox.mark_sent_many, sent=sent, worker_id=self._worker), bare=True
            )
            for _, _, done in batch:
                if not done.done():
                    done.set_result(None)

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """Stop without sending anything twice: no new call starts; the calls under way get
        `grace` seconds to finish and be recorded; every delivery record is written (`settle`)
        before the claims go back. Only a call cut off after the grace may go out again."""
        await super().stop(grace)

    async def settle(self) -> None:
        # Deliveries are recorded before claims are given back: a row given back unrecorded
        # is sent again by whoever takes it. Lanes cancelled after the grace left their
        # records to the flusher (`_settle_sent`).
        deadline = asyncio.get_running_loop().time() + SETTLE_SECONDS
        while self._batch or (self._flusher is not None and not self._flusher.done()):
            if self._flusher is None or self._flusher.done():
                self._flusher = asyncio.create_task(self._flush(), name="outbox-settle")
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                log.error("outbox: delivery records not written at stop; they may go again")
                return
            await asyncio.wait([self._flusher], timeout=left)

    async def _record(self, work: Callable[[Any], Any], *, bare: bool = False) -> None:
        """Write the outcome of a call, retrying through database trouble: while this worker
        lives the row stays claimed by it, so it is never sent twice meanwhile. `bare`: `work`
        takes a connection, not a session (Core statements only: the plain deliveries)."""
        delay = 0.1
        while True:
            try:
                if bare:
                    outcomes = await on_connection(self._engine, work, in_thread=self._in_thread)
                else:
                    outcomes = await self._db(work)
            except Exception as exc:
                log.error("outbox: recording an outcome failed (%s), retrying", type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            for chat_id in outcomes or ():
                self.wake(chat_id)
            return

    def _sent(self, session: Session, row: TelegramOutbox, message_id: int | None) -> list[int]:
        """Record a delivery; a delivered case card lets go what waited for it (the chats)."""
        assert row.id is not None
        if not outbox.mark_sent(
            session, outbox_id=row.id, worker_id=self._worker, message_id=message_id
        ):
            return []
        if row.kind == COACH_KIND and row.ref is not None:
            return outbox.release_held(session, ref=row.ref)
        return []

    def _retry(self, session: Session, outbox_id: int, seconds: float, error: str) -> None:
        not_before = utcnow() + timedelta(seconds=seconds)
        outbox.mark_retry(
            session, outbox_id=outbox_id, worker_id=self._worker, not_before=not_before, error=error
        )

    def _failed(self, session: Session, row: TelegramOutbox, error: str) -> list[int]:
        assert row.id is not None
        if not outbox.mark_failed(session, outbox_id=row.id, worker_id=self._worker, error=error):
            return []
        if self._on_refused is None:
            return []
        follow_up = self._on_refused(session, row)
        outbox.enqueue(session, outgoing=follow_up)
        return sorted({item.chat_id for item in follow_up if not item.held})

    async def _call(self, method: str, chat_id: int, params: dict[str, Any]) -> int | None:
        """The call with the row's parameters as stored, Telegram's answer read only for its
        message_id (rawapi.py: PTB's HTTP path and error mapping, no objects built)."""
        if method == SEND_DOCUMENT:
            sent = await self._bot.send_document(
                chat_id,
                InputFile(params["content"].encode(), filename=params["filename"]),
                caption=params.get("caption"),
            )
            return sent.message_id
        if method not in (SEND_MESSAGE, EDIT_MARKUP, EDIT_TEXT):
            raise BadRequest(f"unsupported outbox method {method}")
        api: dict[str, Any] = {**params, "chat_id": chat_id}
        if method == SEND_MESSAGE:
            api["link_preview_options"] = _NO_PREVIEW
        return rawapi.message_id(await rawapi.call(self._bot, method, api))


_NO_PREVIEW = {"is_disabled": True}


def _retry_after_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        # PTB 22 warns that retry_after becomes a timedelta; both are handled here.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        wait = exc.retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)


def _seconds_until(when: datetime) -> float:
    return max(0.05, min(30.0, (when - utcnow()).total_seconds()))
