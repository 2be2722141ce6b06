"""The coordinator's chat: cases without a coach arrive with a button per coach who could take
them (fewest open cases first); a press assigns the case. Only presses in that chat count."""

from __future__ import annotations

from bot.channels.telegram.callbacks import DeskAction
from bot.channels.telegram.outcomes import Outcome, Tell
from bot.channels.telegram.routers import Router, Turn, UpdateContext
from bot.desk import service as desk
from bot.desk.notices import Verb


class CoordinatorRouter(Router):
    def takes(self, turn: Turn) -> bool:
        press = turn.incoming.press
        return press is not None and _assign(press.button) is not None

    def route(self, ctx: UpdateContext) -> list[Outcome]:
        press = ctx.incoming.press
        action = _assign(press.button if press else None)
        chat = ctx.incoming.chat_id
        if action is None or ctx.coordinator_chat_id is None or chat != ctx.coordinator_chat_id:
            return []  # an assign button outside the coordinator's chat: forged, ignored
        assert action.coach_id is not None  # callbacks.decode: an assign names its coach
        return [Tell(desk.assign(ctx.session, case_id=action.case_id, coach_id=action.coach_id))]


def _assign(button: object) -> DeskAction | None:
    return button if isinstance(button, DeskAction) and button.verb is Verb.ASSIGN else None
