"""The Telegram update pipeline: dedupe → route → queue replies atomically → wake the outbox.

Every update goes through `TelegramChannel.on_update` (one PTB TypeHandler). Routers (coach desk,
admin commands, live relay) get the first look; everything else is a participant turn for the
conversation service. Group chats never get the participant experience.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import Engine
from sqlmodel import Session
from telegram import CallbackQuery, Message, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.channels.telegram import callbacks, render
from bot.channels.telegram.logs import describe
from bot.channels.telegram.outbox import OutboxDrainer
from bot.channels.telegram.ports import CHANNEL, ConversationHandler, Router
from bot.engine.messages import Inbound
from bot.engine.render import both_languages
from bot.flows.catalogue import Key
from bot.flows.registry import FlowSource
from storage import telegram_state as state
from storage.telegram_state import Outgoing

log = logging.getLogger(__name__)


class TelegramChannel:
    def __init__(
        self,
        *,
        engine: Engine,
        conversation: ConversationHandler,
        drainer: OutboxDrainer,
        flows: FlowSource,
        routers: Sequence[Router] = (),
    ) -> None:
        self._engine = engine
        self._flows = flows
        self._conversation = conversation
        self._drainer = drainer
        self._routers = list(routers)

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """PTB callback for every update."""
        await self.process(update)

    async def process(self, update: Update) -> None:
        update_id = update.update_id
        with Session(self._engine) as session:
            if state.is_update_processed(session=session, update_id=update_id):
                log.info("update %d already processed, skipped", update_id)
                await _answer(update.callback_query)
                return
        pressed: tuple[int, int] | None = None
        try:
            query = update.callback_query
            if query is not None:
                outgoing, pressed = await self._callback(update, query)
            else:
                outgoing = await self._route(update)
        except Exception as exc:
            # Never leave a person without an answer. Log frames, not the exception message:
            # database errors quote their parameters, which can be message text.
            log.error("update %d failed: %s", update_id, describe(exc))
            chat = update.effective_chat
            notice = both_languages(self._flows.current, Key.TURN_FAILED)
            outgoing = render.plain_messages(chat.id, notice) if chat else []
        with Session(self._engine) as session:
            ids = state.record_update(
                session=session, update_id=update_id, outgoing=outgoing, pressed=pressed
            )
        if ids is None:
            log.info("update %d was processed concurrently, replies dropped", update_id)
            return
        for chat_id in dict.fromkeys(item.chat_id for item in outgoing):
            self._drainer.wake(chat_id)

    async def _route(self, update: Update) -> list[Outgoing]:
        for router in self._routers:
            result = await router.route(update)
            if result is not None:
                return list(result)
        message = update.message
        if message is None or message.chat.type != ChatType.PRIVATE or message.from_user is None:
            return []  # edits, channel posts, group chatter: nothing for the participant flows
        if message.text is None:
            notice = both_languages(self._flows.current, Key.NON_TEXT_MESSAGE)
            return render.plain_messages(message.chat.id, notice)
        return await self._turn(message.chat.id, message.from_user.id, Inbound(text=message.text))

    async def _callback(
        self, update: Update, query: CallbackQuery
    ) -> tuple[list[Outgoing], tuple[int, int] | None]:
        message = query.message
        if not isinstance(message, Message):
            # Too old to edit (Telegram hides messages older than 48 h): just acknowledge.
            await _answer(query)
            return [], None
        key = (message.chat.id, message.message_id)
        parsed = callbacks.parse(query.data)
        with Session(self._engine) as session:
            if parsed.kind == "done" or state.is_keyboard_pressed(
                session=session, chat_id=key[0], message_id=key[1]
            ):
                chosen = self._flows.current.text(Key.ALREADY_CHOSEN)
                notice = f"{chosen.nl} / {chosen.en or chosen.nl}"
                await _answer(query, notice if parsed.kind != "done" else None)
                return [], None
        await _answer(query)  # stop the button's spinner before the (possibly slower) turn
        outgoing: list[Outgoing] | None = None
        for router in self._routers:
            result = await router.route(update)
            if result is not None:
                outgoing = list(result)
                break
        if outgoing is None:
            payload = self._payload(parsed)
            if payload is None or message.chat.type != ChatType.PRIVATE:
                return [], None
            outgoing = await self._turn(
                message.chat.id, query.from_user.id, Inbound(payload=payload)
            )
        label = _label(message, query.data)
        return [render.mark_pressed(key[0], key[1], label), *outgoing], key

    def _payload(self, parsed: callbacks.Parsed) -> str | None:
        if parsed.kind == "participant":
            return parsed.value
        if parsed.kind == "stored":
            with Session(self._engine) as session:
                return state.load_callback_payload(session=session, key=parsed.value)
        return None

    async def _turn(self, chat_id: int, user_id: int, inbound: Inbound) -> list[Outgoing]:
        replies = await self._conversation.handle(CHANNEL, str(user_id), inbound)
        with Session(self._engine) as session:
            return render.replies(
                chat_id,
                replies,
                lambda payload: state.store_callback_payload(session=session, payload=payload),
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


async def _answer(query: CallbackQuery | None, text: str | None = None) -> None:
    """Stop the button's spinner. Best effort: an expired query is no reason to fail a turn."""
    if query is None:
        return
    try:
        await query.answer(text)
    except TelegramError as exc:
        log.info("answerCallbackQuery failed (%s)", type(exc).__name__)
