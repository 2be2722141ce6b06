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
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session
from telegram import Bot, CallbackQuery, Message, Update

from bot.channels.dispatcher import OutOfTurn, RetryLater
from bot.channels.telegram import render
from bot.channels.telegram.routers import CHANNEL, Router, UpdateContext
from bot.channels.telegram.routers.participant import ParticipantRouter, participant_turn
from bot.channels.telegram.routers.relay import live_participant
from bot.conversation import NeedsNlu, Prepared, TurnService
from bot.engine.render import both_languages
from bot.faults import crash_point
from bot.flows.catalogue import Key
from bot.flows.registry import FlowSource
from bot.logsafe import describe
from storage import inbox, telegram_state
from storage.coaches import active_coach_by_telegram_id
from storage.conversations import StaleConversation
from storage.database import call, in_transaction, runs_in_thread
from storage.inbox import Claimed
from storage.telegram_state import Enqueued, Outgoing

log = logging.getLogger(__name__)
MAX_PREPARES = 4
MAX_ATTEMPTS = 5  # a failing update is answered with an apology after this many tries


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
        self._in_thread = runs_in_thread(engine) if db_in_thread is None else db_in_thread

    async def process(self, claimed: Claimed) -> None:
        update = Update.de_json(json.loads(claimed.payload), self._bot)
        query = update.callback_query
        if query is not None and claimed.attempts == 1:
            pressed = await self._db(lambda s: _already_pressed(s, query))
            task = asyncio.create_task(self._answer(query, pressed))
            self._background.add(task)  # a task nobody holds may be garbage-collected
            task.add_done_callback(self._background.discard)
        try:
            for _ in range(MAX_PREPARES):
                prepared = await self._prepare(update)
                try:
                    enqueued = await self._db(
                        partial(self._commit, claimed=claimed, update=update, prepared=prepared)
                    )
                except (NeedsNlu, StaleConversation):
                    continue
                crash_point("update.after_commit")
                self._sent(enqueued)
                for work in self._after_commit.pop(claimed.id, []):
                    await self._db_free(work)
                return
            raise RuntimeError("update kept changing under its turn")
        except OutOfTurn:
            self._after_commit.pop(claimed.id, None)
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
            await self._after_failure(claimed, update)

    async def _prepare(self, update: Update) -> Prepared | None:
        """The slow half of a participant's turn, before the transaction (reads only)."""
        turn = await self._db(lambda s: self._participant_turn(s, update))
        if turn is None:
            return None
        external_id, _, inbound = turn
        return await self._conversation.prepare(CHANNEL, external_id, inbound)

    def _participant_turn(self, session: Session, update: Update) -> Any:
        user = update.effective_user
        if user is None or active_coach_by_telegram_id(session, telegram_id=user.id) is not None:
            return None
        ctx = UpdateContext(session, update, self._flows.current, None, self._coordinator)
        if live_participant(ctx) is not None:
            return None
        return participant_turn(session, update)

    def _commit(
        self, session: Session, *, claimed: Claimed, update: Update, prepared: Prepared | None
    ) -> Enqueued:
        if not inbox.finish(session, row_id=claimed.id, worker_id=self._worker):
            raise OutOfTurn
        ctx = UpdateContext(session, update, self._flows.current, prepared, self._coordinator)
        outgoing = self._route(ctx)
        self._after_commit[claimed.id] = ctx.after_commit
        enqueued = telegram_state.enqueue_claimed(
            session, outgoing=outgoing, worker_id=self._worker
        )
        crash_point("update.before_commit")
        return enqueued

    def _route(self, ctx: UpdateContext) -> list[Outgoing]:
        query = ctx.update.callback_query
        pressed: list[Outgoing] = []
        if query is not None:
            message = query.message
            if not isinstance(message, Message):
                return []  # too old to edit (Telegram hides messages after 48 h)
            key = (message.chat.id, message.message_id)
            if query.data == "x" or telegram_state.is_keyboard_pressed(
                ctx.session, chat_id=key[0], message_id=key[1]
            ):
                return []  # a keyboard can be answered once
            telegram_state.mark_keyboard_pressed(ctx.session, chat_id=key[0], message_id=key[1])
            pressed = [render.mark_pressed(key[0], key[1], _label(message, query.data))]
        for router in self._routers:
            result = router.route(ctx)
            if result is not None:
                return pressed + result
        return pressed + (self._participant.route(ctx) or [])

    async def _after_failure(self, claimed: Claimed, update: Update) -> None:
        """A failed update stays in the inbox and is tried again; after MAX_ATTEMPTS (a bug,
        not a blip) the person gets an apology and the update is put to rest."""
        try:
            if claimed.attempts < MAX_ATTEMPTS:
                await self._db(
                    lambda s: inbox.release(s, row_ids=[claimed.id], worker_id=self._worker)
                )
                raise RetryLater
            self._sent(await self._db(lambda s: self._give_up(s, claimed, update)))
        except (RetryLater, OutOfTurn):
            raise
        except Exception as exc:
            log.error(
                "update %d: could not record the failure: %s", claimed.update_id, type(exc).__name__
            )
            raise RetryLater from exc

    def _give_up(self, session: Session, claimed: Claimed, update: Update) -> Enqueued:
        chat = update.effective_chat
        notice = both_languages(self._flows.current, Key.TURN_FAILED)
        outgoing = render.plain_messages(chat.id, notice) if chat else []
        if not inbox.finish(session, row_id=claimed.id, worker_id=self._worker):
            raise OutOfTurn
        return telegram_state.enqueue_claimed(session, outgoing=outgoing, worker_id=self._worker)

    async def _answer(self, query: CallbackQuery, pressed: bool) -> None:
        """Stop the button's spinner: best effort, never in the way of the turn (and not behind
        the outgoing messages' rate limit)."""
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


def _already_pressed(session: Session, query: CallbackQuery) -> bool:
    message = query.message
    if not isinstance(message, Message) or query.data == "x":
        return False
    return telegram_state.is_keyboard_pressed(
        session, chat_id=message.chat.id, message_id=message.message_id
    )


def _label(message: Message, data: str | None) -> str | None:
    markup = message.reply_markup
    if markup is None:
        return None
    for row in markup.inline_keyboard:
        for button in row:
            if button.callback_data == data:
                return button.text
    return None
