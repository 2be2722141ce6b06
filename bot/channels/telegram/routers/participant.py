"""Everyone else: a participant's turn with the conversation service (engine and flows).

Group chats never get the participant experience; non-text messages get a polite request
to type.
"""

from __future__ import annotations

from sqlmodel import Session
from telegram import Message, Update
from telegram.constants import ChatType

from bot.channels.telegram import callbacks, render
from bot.channels.telegram.routers import CHANNEL, UpdateContext
from bot.conversation import NeedsNlu, TurnService
from bot.engine.messages import Inbound
from bot.engine.render import both_languages
from bot.engine.slot_values import clean_text
from bot.flows.catalogue import Key
from storage import telegram_state
from storage.telegram_state import Outgoing


def participant_turn(session: Session, update: Update) -> tuple[str, int, Inbound] | None:
    """(their id, chat id, what they said or pressed) when the update is a participant turn."""
    message = update.message
    if message is not None:
        if message.chat.type != ChatType.PRIVATE or message.from_user is None or not message.text:
            return None
        inbound = Inbound(text=clean_text(message.text))
        return str(message.from_user.id), message.chat.id, inbound
    query = update.callback_query
    if query is None or not isinstance(query.message, Message):
        return None
    if query.message.chat.type != ChatType.PRIVATE:
        return None
    parsed = callbacks.parse(query.data)
    payload: str | None = None
    if parsed.kind == "participant":
        payload = parsed.value
    elif parsed.kind == "stored":
        payload = telegram_state.load_callback_payload(session, key=parsed.value)
    if payload is None:
        return None
    return str(query.from_user.id), query.message.chat.id, Inbound(payload=payload)


class ParticipantRouter:
    def __init__(self, conversation: TurnService) -> None:
        self._conversation = conversation

    def route(self, ctx: UpdateContext) -> list[Outgoing] | None:
        message = ctx.update.message
        if message is not None and message.chat.type == ChatType.PRIVATE and not message.text:
            notice = both_languages(ctx.flows, Key.NON_TEXT_MESSAGE)
            return render.plain_messages(message.chat.id, notice)
        turn = participant_turn(ctx.session, ctx.update)
        if turn is None:
            return []  # edits, channel posts, group chatter, stray buttons: nothing to do
        external_id, chat_id, inbound = turn
        prepared = ctx.prepared
        if prepared is None or prepared.external_id != external_id or prepared.inbound != inbound:
            raise NeedsNlu  # not prepared as a participant turn: the pipeline prepares it
        outcome = self._conversation.apply(ctx.session, prepared)
        out = render.replies(chat_id, outcome.replies, ctx.store_long())
        return out + render.notices(
            ctx.flows, outcome.notices, coordinator_chat_id=ctx.coordinator_chat_id
        )


__all__ = ["CHANNEL", "ParticipantRouter", "participant_turn"]
