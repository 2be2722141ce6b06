"""The coordinator's chat: cases without a coach arrive with a button per coach who could take
them (fewest open cases first); a press assigns the case. Only presses in that chat count."""

from __future__ import annotations

from bot.channels.telegram import callbacks, render
from bot.channels.telegram.routers import UpdateContext
from bot.desk import service as desk
from bot.desk.notices import Verb
from storage.telegram_state import Outgoing


class CoordinatorRouter:
    def route(self, ctx: UpdateContext) -> list[Outgoing] | None:
        query = ctx.update.callback_query
        if query is None:
            return None
        parsed = callbacks.parse(query.data)
        if parsed.kind != "desk" or parsed.verb is not Verb.ASSIGN:
            return None
        chat = ctx.update.effective_chat
        if chat is None or ctx.coordinator_chat_id is None or chat.id != ctx.coordinator_chat_id:
            return []  # an assign button outside the coordinator's chat: forged, ignored
        notices = desk.assign(ctx.session, case_id=parsed.case_id, coach_id=parsed.coach_id)
        return render.notices(ctx.flows, notices, coordinator_chat_id=ctx.coordinator_chat_id)
