"""One Telegram update from the inbox: who sent it and what it says, read once; routed; and
everything it caused committed at once.

    inbox row ──► read the update (incoming.py: the fields the routers use, parsed once)
              ──► prepare, only when a router has a slow half for it (a participant's text):
                  who sent it and their state as this process last knew them (storage/senders.py
                  `remembered`: then no read at all), else one read transaction for both — then
                  the slow half outside any transaction (the NLU)
              ──► one transaction: inbox row done → a pressed keyboard settled → who sent it
                  (one statement; prepared: compare-and-set, the same router must take it) →
                  the first router that takes the turn → its outcomes rendered (render.py) →
                  outbox rows
              ──► wake the outbox

A crash anywhere before the commit leaves the update unprocessed (it is taken over and runs
again); after the commit every reply and notification is in the outbox, to be sent once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session
from telegram import Bot

from bot.channels.dispatcher import OutOfTurn
from bot.channels.telegram import rawapi, render
from bot.channels.telegram.callbacks import Settled
from bot.channels.telegram.holding import Hold, Holding
from bot.channels.telegram.incoming import Incoming, Unreadable, read_update
from bot.channels.telegram.outcomes import KeyboardSettled, Outcome
from bot.channels.telegram.routers import (
    CHANNEL,
    MUST_READ,
    Rerouted,
    Router,
    Turn,
    UpdateContext,
    who_sent,
)
from bot.channels.telegram.routers.participant import ParticipantRouter
from bot.conversation import NeedsNlu, TurnService
from bot.engine.render import both_languages
from bot.faults import crash_point
from bot.flows.catalogue import Key
from bot.flows.registry import FlowSource
from bot.logsafe import describe
from bot.nlu.admission import turn_started
from bot.ops import metrics
from storage import inbox, telegram_state
from storage.conversations import StaleConversation
from storage.database import call, in_transaction, is_transient, runs_in_thread
from storage.inbox import Claimed
from storage.senders import Sender
from storage.telegram_state import Enqueued, Outgoing

log = logging.getLogger(__name__)
MAX_PREPARES = 4
MAX_ATTEMPTS = 5  # a failing update is answered with an apology after this many tries


@dataclass(frozen=True, slots=True)
class Committed:
    enqueued: Enqueued
    already_pressed: bool  # a button of a keyboard that was answered before


@dataclass(frozen=True, slots=True)
class _Ready:
    """A turn prepared before its transaction: the router chosen from who sent it then, and
    what its slow half returned (both None: it needed no preparing)."""

    router: Router | None
    prepared: Any


_UNPREPARED = _Ready(None, None)


class UpdatePipeline:
    def __init__(
        self,
        *,
        bot: Bot,
        engine: Engine,
        conversation: TurnService,
        flows: FlowSource,
        routers: Sequence[Router],
        worker_id: str,
        coordinator_chat_id: int | None,
        sent: Callable[[Enqueued], None],
        db_in_thread: bool | None = None,
    ) -> None:
        self._bot = bot
        self._engine = engine
        self._flows = flows
        self._conversation = conversation
        # The conversation takes whatever the feature routers leave: the last in the list.
        self._routers: list[Router] = [*routers, ParticipantRouter(conversation)]
        self._worker = worker_id
        self._coordinator = coordinator_chat_id
        self._sent = sent
        self._background: set[asyncio.Task[None]] = set()
        self._after_commit: dict[int, list[Callable[[], None]]] = {}
        self._answered: dict[str, None] = {}  # callback queries answered (oldest first)
        # "Eén moment…" for a message that waits (holding.py; README, Overload).
        self.holding = Holding(bot, flows, chat_to_tell=self._chat_to_tell)
        self._in_thread = runs_in_thread(engine) if db_in_thread is None else db_in_thread

    async def process(self, claimed: Claimed) -> None:
        """One attempt at an update. Raises `OutOfTurn` (nothing committed; its lane gives it
        back), or whatever failed: its lane tries again after a back-off. A transient database
        error is retried for as long as it lasts; anything else MAX_ATTEMPTS times (a bug, not
        a blip), then the person gets an apology and the update is put to rest."""
        incoming = self._read(claimed)
        if incoming is None or claimed.attempts > MAX_ATTEMPTS:
            await self._give_up(claimed, incoming)
            metrics.TURNS.labels(result="given_up").inc()
            return
        try:
            self.holding.begun(claimed)
            # The NLU budget counts from now, the turn's start (bot/nlu/admission.py).
            with turn_started(claimed.received, time.monotonic()):
                pressed = await self._turn(claimed, incoming)
            metrics.TURNS.labels(result="done").inc()
            metrics.TURN_SECONDS.observe(time.monotonic() - claimed.received)
        except OutOfTurn:
            log.info(
                "update %d is out of turn, it waits for its chat's older ones", claimed.update_id
            )
            raise
        except Exception as exc:
            # Frames only: database errors quote their parameters, which can be message text.
            log.error(
                "update %d failed (attempt %d): %s",
                claimed.update_id,
                claimed.attempts,
                describe(exc),
            )
            if is_transient(exc) or claimed.attempts < MAX_ATTEMPTS:
                self._answer_query(incoming, pressed=False)  # the spinner stops meanwhile
                metrics.TURNS.labels(result="failed").inc()
                raise
            await self._give_up(claimed, incoming)
            metrics.TURNS.labels(result="given_up").inc()
            return
        self._answer_query(incoming, pressed=pressed)

    def _chat_to_tell(self, claimed: Claimed) -> int | None:
        """The chat a message that waits for its turn tells "Eén moment…": a participant's
        typed text or press (as the turn's own hold: a router that `holds` it, or the
        participant's slow half), not a coach this process knows."""
        incoming = self._read(claimed)
        if incoming is None or incoming.chat_id is None:
            return None
        if not any(r.slow(incoming) or r.holds(incoming) for r in self._routers):
            return None
        if incoming.user_id is not None:
            known = self._conversation.remembered(CHANNEL, incoming.user_id)
            if known is not None and known.sender.coach_id is not None:
                return None
        return incoming.chat_id

    def _read(self, claimed: Claimed) -> Incoming | None:
        try:
            return read_update(claimed.payload)
        except Unreadable as exc:  # not an update as Telegram sends them: nobody to answer
            log.warning("update %d is unreadable (%s)", claimed.update_id, exc)
            return None

    async def _turn(self, claimed: Claimed, incoming: Incoming) -> bool:
        """Prepare and commit the turn; whether it pressed a keyboard that was pressed already."""
        hold = self.holding.hold(claimed)
        try:
            for _ in range(MAX_PREPARES):
                ready = await self._prepare(incoming, hold)
                await hold.settle()  # "one moment" goes out before the answer, never after
                try:
                    committed: Committed = await self._db(
                        partial(self._commit, claimed=claimed, incoming=incoming, ready=ready)
                    )
                except Rerouted:
                    continue  # prepared on a stale hint; the commit's read corrected it
                except (NeedsNlu, StaleConversation):
                    continue
                crash_point("update.after_commit")
                if incoming.chat_id is not None:
                    self.holding.answered(incoming.chat_id, claimed.id)
                self._sent(committed.enqueued)
                for work in self._after_commit.pop(claimed.id, []):
                    await self._db_free(work)
                return committed.already_pressed
            raise RuntimeError("update kept changing under its turn")
        finally:
            self._after_commit.pop(claimed.id, None)
            hold.cancel()

    async def _prepare(self, incoming: Incoming, hold: Hold) -> _Ready:
        """The slow half of a turn, before the transaction (reads only), when a router may
        have one for this update; otherwise nothing is read before the transaction."""
        if not any(router.slow(incoming) for router in self._routers):
            if incoming.chat_id is not None and any(r.holds(incoming) for r in self._routers):
                hold.arm(incoming.chat_id)
            return _UNPREPARED
        known = (
            self._conversation.remembered(CHANNEL, incoming.user_id)
            if incoming.user_id is not None
            else None
        )
        if known is not None:
            # What this process last knew of the sender (storage/senders.py `remembered`):
            # enough for the participant's NLU decision without a read transaction.
            turn = Turn(incoming, known.sender)
            router = self._choose(turn)
            recalled = router.recall(turn, known.state)
            if recalled is not MUST_READ:
                return _Ready(router, await router.prepare(turn, recalled, hold.arm))
        hint = known.sender if known is not None else None
        turn, router, read = await self._db(lambda s: self._choose_and_read(s, incoming, hint))
        prepared = await router.prepare(turn, read, hold.arm)
        return _Ready(router, prepared)

    def _choose_and_read(
        self, session: Session, incoming: Incoming, hint: Sender | None
    ) -> tuple[Turn, Router, Any]:
        turn = Turn(incoming, hint if hint is not None else who_sent(session, incoming))
        router = self._choose(turn)
        return turn, router, router.read(session, turn)

    def _choose(self, turn: Turn) -> Router:
        return next(router for router in self._routers if router.takes(turn))

    def _commit(
        self, session: Session, *, claimed: Claimed, incoming: Incoming, ready: _Ready
    ) -> Committed:
        if not inbox.finish(session, row_id=claimed.id, worker_id=self._worker):
            raise OutOfTurn
        outcomes, already_pressed = self._route(session, incoming, ready, claimed.id)
        flows = self._flows.current
        outgoing = render.outgoing(
            outcomes,
            flows=flows,
            coordinator_chat_id=self._coordinator,
            store_long=lambda payload: telegram_state.store_callback_payload(
                session, payload=payload
            ),
        )
        enqueued = telegram_state.enqueue_claimed(
            session, outgoing=outgoing, worker_id=self._worker
        )
        crash_point("update.before_commit")
        return Committed(enqueued, already_pressed)

    def _route(
        self, session: Session, incoming: Incoming, ready: _Ready, row_id: int
    ) -> tuple[list[Outcome], bool]:
        outcomes: list[Outcome] = []
        press = incoming.press
        if press is not None:
            if press.message_id is None or incoming.chat_id is None:
                return [], False  # too old to edit (Telegram hides messages after 48 h)
            if isinstance(press.button, Settled):
                return [], False
            key = {"chat_id": incoming.chat_id, "message_id": press.message_id}
            if not telegram_state.press_keyboard(session, **key):
                return [], True  # a keyboard can be answered once
            outcomes.append(KeyboardSettled(incoming.chat_id, press.message_id, press.label))
        turn = Turn(incoming, who_sent(session, incoming))
        router = self._choose(turn)
        if ready.router is not None and router is not ready.router:
            raise Rerouted  # who sent it changed since it was prepared (compare-and-set)
        ctx = UpdateContext(session, turn, self._flows.current, ready.prepared, self._coordinator)
        outcomes += router.route(ctx)
        self._after_commit[row_id] = ctx.after_commit
        return outcomes, False

    async def _give_up(self, claimed: Claimed, incoming: Incoming | None) -> None:
        """Put the update to rest with an apology to its chat (if it has one)."""
        self._sent(await self._db(lambda s: self._rest(s, claimed, incoming)))
        if incoming is not None:
            self._answer_query(incoming, pressed=False)

    def _rest(self, session: Session, claimed: Claimed, incoming: Incoming | None) -> Enqueued:
        chat_id = incoming.chat_id if incoming is not None else None
        outgoing: list[Outgoing] = []
        if chat_id is not None:
            notice = both_languages(self._flows.current, Key.TURN_FAILED)
            outgoing = render.plain_messages(chat_id, notice)
        if not inbox.finish(session, row_id=claimed.id, worker_id=self._worker):
            raise OutOfTurn
        return telegram_state.enqueue_claimed(session, outgoing=outgoing, worker_id=self._worker)

    def _answer_query(self, incoming: Incoming, *, pressed: bool) -> None:
        """Stop a pressed button's spinner, once per press in this process (after a restart,
        again: better twice than a spinner that runs until Telegram gives up)."""
        press = incoming.press
        if press is None or press.query_id in self._answered:
            return
        self._answered[press.query_id] = None
        if len(self._answered) > 10_000:
            self._answered.pop(next(iter(self._answered)))
        task = asyncio.create_task(self._answer(press.query_id, pressed))
        self._background.add(task)  # a task nobody holds may be garbage-collected
        task.add_done_callback(self._background.discard)

    async def _answer(self, query_id: str, pressed: bool) -> None:
        """Best effort, never in the way of the turn (and not behind the outgoing messages'
        rate limit)."""
        try:
            text = None
            if pressed:
                chosen = self._flows.current.text(Key.ALREADY_CHOSEN)
                text = f"{chosen.nl} / {chosen.en or chosen.nl}"
            params: dict[str, Any] = {"callback_query_id": query_id}
            if text is not None:
                params["text"] = text
            await asyncio.wait_for(rawapi.call(self._bot, rawapi.ANSWER_CALLBACK, params), 5)
        except Exception as exc:
            log.info("answerCallbackQuery failed (%s)", type(exc).__name__)

    async def _db_free(self, work: Callable[[], None]) -> None:
        try:
            await call(work, in_thread=self._in_thread)
        except Exception as exc:  # best effort: e.g. a WAL checkpoint that can wait
            log.warning("after-commit work failed: %s", type(exc).__name__)

    async def _db(self, work: Callable[[Session], Any]) -> Any:
        return await in_transaction(self._engine, work, in_thread=self._in_thread)
