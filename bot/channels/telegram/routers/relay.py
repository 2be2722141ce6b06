"""The live chat: while a coach has the case, the participant's messages go to the coach and
the bot stays quiet, except /stop (or /start, /menu), which always brings them back to the bot."""

from __future__ import annotations

from bot.channels.telegram.outcomes import Outcome, Say, Tell
from bot.channels.telegram.routers import Rerouted, Router, Turn, UpdateContext
from bot.desk import service as desk
from bot.engine.render import both_languages
from bot.flows.catalogue import Key

LEAVE_COMMANDS = frozenset({"/stop", "/start", "/menu", "/cancel"})


class RelayRouter(Router):
    def takes(self, turn: Turn) -> bool:
        """Someone in a live chat with a coach, in their private chat with the bot."""
        who = turn.who
        return (
            turn.incoming.private
            and who.live_case_id is not None
            and who.participant_id is not None
        )

    def route(self, ctx: UpdateContext) -> list[Outcome]:
        incoming, participant_id = ctx.incoming, ctx.who.participant_id
        assert participant_id is not None and incoming.chat_id is not None
        if not incoming.message:
            return []  # an old bot button pressed during the live chat: the flows stay quiet
        if incoming.text is None:
            return [Say(incoming.chat_id, both_languages(ctx.flows, Key.ONLY_TEXT_TO_COACH))]
        if incoming.command in LEAVE_COMMANDS:
            notices = desk.participant_leaves(ctx.session, participant_id=participant_id)
        else:
            notices = desk.relay_to_coach(
                ctx.session, participant_id=participant_id, text=incoming.cleaned
            )
        if notices is None:  # the live chat ended since who sent it was read
            raise Rerouted
        return [Tell(notices)]
