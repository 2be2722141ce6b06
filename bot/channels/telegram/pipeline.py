"""One Telegram update from the inbox: route it, and commit everything it caused at once.

    inbox row ──► prepare (outside any transaction: the NLU for a participant's text)
              ──► one transaction: routers → conversation → outbox rows → inbox row done
              ──► wake the outbox

A crash anywhere before the commit leaves the update unprocessed (it is taken over and runs
again); after the commit every reply and notification is in the outbox, to be sent once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session
from telegram import Bot, CallbackQuery, Message, Update

from bot.channels.dispatcher import OutOfTurn
from bot.channels.telegram import callbacks, render
from bot.channels.telegram.routers import CHANNEL, Router, UpdateContext
from bot.channels.telegram.routers.participant import ParticipantRouter, participant_turn
from bot.channels.telegram.routers.relay import live_participant
from bot.conversation import NeedsNlu, Prepared, TurnService
from bot.engine.render import both_languages
from bot.faults import crash_point
from bot.flows.catalogue import Key
from bot.flows.registry import FlowSource
from bot.logsafe import describe
from bot.nlu.admission import HOLD_AFTER, NoticeBudget, turn_started
from bot.ops import metrics
from storage import inbox, telegram_state
from storage.conversations import StaleConversation
from storage.database import call, in_transaction, is_transient, runs_in_thread
from storage.inbox import Claimed
from storage.telegram_state import Enqueued, Outgoing

log = logging.getLogger(__name__)
MAX_PREPARES = 4
MAX_ATTEMPTS = 5  # a failing update is answered with an apology after this many tries


@dataclass(frozen=True, slots=True)
class Committed:
    enqueued: Enqueued
    already_pressed: bool  # a button of a keyboard that was answered before


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
        self._conversation = conversation
        self._participant = ParticipantRouter(conversation)
        self._flows = flows
        self._routers = list(routers)
        self._worker = worker_id
        self._coordinator = coordinator_chat_id
        self._sent = sent
        self._background: set[asyncio.Task[None]] = set()
        self._after_commit: dict[int, list[Callable[[], None]]] = {}
        self._answered: dict[str, None] = {}  # callback queries answered (oldest first)
        self._notices = NoticeBudget()
        self._in_thread = runs_in_thread(engine) if db_in_thread is None else db_in_thread

    async def process(self, claimed: Claimed) -> None:
        """One attempt at an update. Raises `OutOfTurn` (nothing committed; its lane gives it
        back), or whatever failed: its lane tries again after a back-off. A transient database
        error is retried for as long as it lasts; anything else MAX_ATTEMPTS times (a bug, not
        a blip), then the person gets an apology and the update is put to rest."""
        update = self._read(claimed)
        if update is None or claimed.attempts > MAX_ATTEMPTS:
            await self._give_up(claimed, update)
            metrics.TURNS.labels(result="given_up").inc()
            return
        try:
            with turn_started(claimed.received):
                pressed = await self._turn(claimed, update)
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
                self._answer_query(update, pressed=False)  # the spinner stops meanwhile
                metrics.TURNS.labels(result="failed").inc()
                raise
            await self._give_up(claimed, update)
            metrics.TURNS.labels(result="given_up").inc()
            return
        self._answer_query(update, pressed=pressed)

    def _read(self, claimed: Claimed) -> Update | None:
        try:
            return Update.de_json(json.loads(claimed.payload), self._bot)
        except Exception as exc:  # not an update python-telegram-bot can read: nobody to answer
            log.warning("update %d is unreadable (%s)", claimed.update_id, type(exc).__name__)
            return None

    async def _turn(self, claimed: Claimed, update: Update) -> bool:
        """Prepare and commit the turn; whether it pressed a keyboard that was pressed already."""
        hold = _Hold(self._bot, self._flows, claimed.received, self._notices)
        try:
            for _ in range(MAX_PREPARES):
                prepared = await self._prepare(update, hold)
                await hold.settle()  # "one moment" goes out before the answer, never after
                try:
                    committed: Committed = await self._db(
                        partial(self._commit, claimed=claimed, update=update, prepared=prepared)
                    )
                except (NeedsNlu, StaleConversation):
                    continue
                crash_point("update.after_commit")
                self._sent(committed.enqueued)
                for work in self._after_commit.pop(claimed.id, []):
                    await self._db_free(work)
                return committed.already_pressed
            raise RuntimeError("update kept changing under its turn")
        finally:
            self._after_commit.pop(claimed.id, None)
            hold.cancel()

    async def _prepare(self, update: Update, hold: _Hold) -> Prepared | None:
        """The slow half of a participant's turn, before the transaction (reads only)."""
        turn = await self._db(lambda s: self._participant_turn(s, update))
        if turn is None:
            return None
        external_id, chat_id, inbound, state = turn
        hold.arm(chat_id)
        return await self._conversation.prepare(CHANNEL, external_id, inbound, state)

    def _participant_turn(self, session: Session, update: Update) -> Any:
        """Who sent it, in one read transaction: a staff command, a coach, a participant in a
        live chat with a coach, or a participant's turn (then with their stored state, for
        the NLU decision). Reads only: nobody is created here."""
        user = update.effective_user
        if user is None or any(_takes(router, update) for router in self._routers):
            return None  # admin commands: an admin who is no coach never becomes a participant
        ctx = UpdateContext(session, update, self._flows.current, None, self._coordinator)
        if ctx.sender().coach_id is not None:
            return None  # coaches (active or not) are never participants
        if live_participant(ctx) is not None:
            return None
        turn = participant_turn(session, update)
        if turn is None:
            return None
        external_id, chat_id, inbound = turn
        # The state only decides whether a typed message needs the NLU: a press needs none.
        typed = bool(inbound.text) and inbound.payload is None
        state = self._conversation.peek(session, CHANNEL, external_id) if typed else None
        return external_id, chat_id, inbound, state

    def _commit(
        self, session: Session, *, claimed: Claimed, update: Update, prepared: Prepared | None
    ) -> Committed:
        if not inbox.finish(session, row_id=claimed.id, worker_id=self._worker):
            raise OutOfTurn
        ctx = UpdateContext(session, update, self._flows.current, prepared, self._coordinator)
        outgoing, already_pressed = self._route(ctx)
        self._after_commit[claimed.id] = ctx.after_commit
        enqueued = telegram_state.enqueue_claimed(
            session, outgoing=outgoing, worker_id=self._worker
        )
        crash_point("update.before_commit")
        return Committed(enqueued, already_pressed)

    def _route(self, ctx: UpdateContext) -> tuple[list[Outgoing], bool]:
        query = ctx.update.callback_query
        pressed: list[Outgoing] = []
        if query is not None:
            message = query.message
            if not isinstance(message, Message):
                return [], False  # too old to edit (Telegram hides messages after 48 h)
            key = (message.chat.id, message.message_id)
            if query.data == callbacks.DONE:
                return [], False
            if telegram_state.is_keyboard_pressed(ctx.session, chat_id=key[0], message_id=key[1]):
                return [], True  # a keyboard can be answered once
            telegram_state.mark_keyboard_pressed(ctx.session, chat_id=key[0], message_id=key[1])
            pressed = [render.mark_pressed(key[0], key[1], _label(message, query.data))]
        for router in self._routers:
            result = router.route(ctx)
            if result is not None:
                return pressed + result, False
        return pressed + (self._participant.route(ctx) or []), False

    async def _give_up(self, claimed: Claimed, update: Update | None) -> None:
        """Put the update to rest with an apology to its chat (if it has one)."""
        self._sent(await self._db(lambda s: self._rest(s, claimed, update)))
        if update is not None:
            self._answer_query(update, pressed=False)

    def _rest(self, session: Session, claimed: Claimed, update: Update | None) -> Enqueued:
        chat = update.effective_chat if update is not None else None
        outgoing: list[Outgoing] = []
        if chat is not None:
            notice = both_languages(self._flows.current, Key.TURN_FAILED)
            outgoing = render.plain_messages(chat.id, notice)
        if not inbox.finish(session, row_id=claimed.id, worker_id=self._worker):
            raise OutOfTurn
        return telegram_state.enqueue_claimed(session, outgoing=outgoing, worker_id=self._worker)

    def _answer_query(self, update: Update, *, pressed: bool) -> None:
        """Stop a pressed button's spinner, once per press in this process (after a restart,
        again: better twice than a spinner that runs until Telegram gives up)."""
        query = update.callback_query
        if query is None or query.id in self._answered:
            return
        self._answered[query.id] = None
        if len(self._answered) > 10_000:
            self._answered.pop(next(iter(self._answered)))
        task = asyncio.create_task(self._answer(query, pressed))
        self._background.add(task)  # a task nobody holds may be garbage-collected
        task.add_done_callback(self._background.discard)

    async def _answer(self, query: CallbackQuery, pressed: bool) -> None:
        """Best effort, never in the way of the turn (and not behind the outgoing messages'
        rate limit)."""
        try:
            text = None
            if pressed:
                chosen = self._flows.current.text(Key.ALREADY_CHOSEN)
                text = f"{chosen.nl} / {chosen.en or chosen.nl}"
            await asyncio.wait_for(query.answer(text), timeout=5)
        except Exception as exc:
            log.info("answerCallbackQuery failed (%s)", type(exc).__name__)

    async def _db_free(self, work: Callable[[], None]) -> None:
        try:
            await call(work, in_thread=self._in_thread)
        except Exception as exc:  # best effort: e.g. a WAL checkpoint that can wait
            log.warning("after-commit work failed: %s", type(exc).__name__)

    async def _db(self, work: Callable[[Session], Any]) -> Any:
        return await in_transaction(self._engine, work, in_thread=self._in_thread)


class _Hold:
    """The overload notice (bot/nlu/admission.py): a participant whose message has waited
    HOLD_AFTER seconds since it arrived gets "Eén moment…" while the turn goes on.

    Sent straight to the Bot API, best effort, not through the outbox: it is no answer, only a
    sign of life, and under overload it must not wait behind the transaction it announces. The
    turn waits for it to be sent before committing (so it never arrives after the answer). A
    crash between the two may make it go out twice; a failed send is skipped."""

    def __init__(self, bot: Bot, flows: FlowSource, received: float, budget: NoticeBudget) -> None:
        self._budget = budget
        self._bot = bot
        self._flows = flows
        self._received = received
        self._task: asyncio.Task[None] | None = None

    def arm(self, chat_id: int) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._later(chat_id), name="one-moment")

    async def _later(self, chat_id: int) -> None:
        await asyncio.sleep(max(0.0, self._received + HOLD_AFTER - time.monotonic()))
        if not self._budget.take():
            metrics.HOLDING_NOTICES_SKIPPED.inc()
            return
        metrics.HOLDING_NOTICES.inc()
        try:
            text = both_languages(self._flows.current, Key.ONE_MOMENT)
            await asyncio.wait_for(self._bot.send_message(chat_id, text), timeout=3)
        except Exception as exc:
            log.info("one-moment notice not sent (%s)", type(exc).__name__)

    async def settle(self) -> None:
        """Not due yet: never sent. Due and under way: wait for it."""
        task = self._task
        if task is None or task.done():
            return
        if time.monotonic() < self._received + HOLD_AFTER:
            task.cancel()
            self._task = None
        await asyncio.gather(task, return_exceptions=True)

    def cancel(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()


def _takes(router: Router, update: Update) -> bool:
    """A router that can tell from the update alone that it is its own (staff commands)."""
    takes = getattr(router, "takes", None)
    return bool(takes(update)) if takes is not None else False


def _label(message: Message, data: str | None) -> str | None:
    markup = message.reply_markup
    if markup is None:
        return None
    for row in markup.inline_keyboard:
        for button in row:
            if button.callback_data == data:
                return button.text
    return None
