"""The live chat: while a coach has the case, the participant's messages go to the coach and
the bot stays quiet, except /stop (or /start, /menu), which always brings them back to the bot."""

from __future__ import annotations

from telegram.constants import ChatType

from bot.channels.telegram import render
from bot.channels.telegram.routers import UpdateContext, command_of
from bot.desk import service as desk
from bot.desk.notices import Notice
from bot.engine.render import both_languages
from bot.engine.slot_values import clean_text
from bot.flows.catalogue import Key
from storage.telegram_state import Outgoing

LEAVE_COMMANDS = frozenset({"/stop", "/start", "/menu", "/cancel"})


def live_participant(ctx: UpdateContext) -> int | None:
    """The participant id when this update comes from someone in a live chat with a coach."""
    user, chat = ctx.update.effective_user, ctx.update.effective_chat
    if user is None or chat is None or chat.type != ChatType.PRIVATE:
        return None
    sender = ctx.sender()
    return sender.participant_id if sender.live_case_id is not None else None


class RelayRouter:
    def route(self, ctx: UpdateContext) -> list[Outgoing] | None:
        participant_id = live_participant(ctx)
        if participant_id is None:
            return None
        message = ctx.update.message
        if message is None:
            return []  # an old bot button pressed during the live chat: the flows stay quiet
        notices: list[Notice] | None
        if message.text is None:
            notice = both_languages(ctx.flows, Key.ONLY_TEXT_TO_COACH)
            return render.plain_messages(message.chat.id, notice)
        if command_of(message.text) in LEAVE_COMMANDS:
            notices = desk.participant_leaves(ctx.session, participant_id=participant_id)
        else:
            text = clean_text(message.text)
            notices = desk.relay_to_coach(ctx.session, participant_id=participant_id, text=text)
        if notices is None:
            return None
        return render.notices(ctx.flows, notices, coordinator_chat_id=ctx.coordinator_chat_id)
