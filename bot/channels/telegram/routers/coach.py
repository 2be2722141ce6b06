"""Coaches on Telegram: Accept/Decline buttons, case commands and replies to case messages.

  /zaken                 open cases
  /zaak N                one case
  /bericht N tekst       write to the participant (or: reply to a case message)
  /terug N               hand the participant back to the bot
  /afsluiten N uitkomst  close the case with an outcome

Only active coaches, only their own cases (the desk checks); anyone else falls through to the
participant experience and learns nothing. A coach is never a participant: a button from a
conversation they had before they became a coach gets a short explanation, and a coach who was
deactivated is told so rather than starting an intake.
"""

from __future__ import annotations

import re

from telegram import Message
from telegram.constants import ChatType

from bot.channels.telegram import callbacks, render
from bot.channels.telegram.routers import UpdateContext, command_of
from bot.desk import service as desk
from bot.desk.notices import CoachRef, Notice, To, Verb
from bot.desk.render import status_text
from bot.engine.slot_values import clean_text
from bot.flows.catalogue import Key
from storage import telegram_state
from storage.coaches import coach_by_telegram_id
from storage.models import MAX_ID, Coach
from storage.telegram_state import Outgoing

_NUMBER = re.compile(r"#?([0-9]{1,12})")  # ASCII digits: "²" is a digit to str.isdigit()
_CASE_COMMANDS = ("/zaak", "/bericht", "/terug", "/afsluiten")
_PARTICIPANT_BUTTONS = ("participant", "stored")


def _coach(ctx: UpdateContext, telegram_id: int) -> Coach | None:
    """The coach, loaded only when the one read of who sent it says there is one."""
    if ctx.sender().coach_id is None:
        return None
    return coach_by_telegram_id(ctx.session, telegram_id=telegram_id)


class CoachRouter:
    def route(self, ctx: UpdateContext) -> list[Outgoing] | None:
        user = ctx.update.effective_user
        if user is None:
            return None
        query = ctx.update.callback_query
        if query is not None:
            parsed = callbacks.parse(query.data)
            desk_press = parsed.kind == "desk" and parsed.verb is not Verb.ASSIGN
            if not desk_press and parsed.kind not in _PARTICIPANT_BUTTONS:
                return None
            coach = _coach(ctx, user.id)
            if coach is None:
                return [] if desk_press else None  # a participant's button, or a forged one
            ref = desk.coach_ref(coach)
            if not coach.active:
                return self._out(ctx, [Notice(To.COACH, Key.DESK_COACH_INACTIVE, coach=ref)])
            if not desk_press:  # a keyboard from before they were a coach
                return self._out(ctx, [Notice(To.COACH, Key.DESK_OLD_BUTTON, coach=ref)])
            operation = desk.accept if parsed.verb is Verb.ACCEPT else desk.decline
            return self._out(ctx, operation(ctx.session, case_id=parsed.case_id, coach=ref))
        message = ctx.update.message
        if message is None or message.chat.type != ChatType.PRIVATE:
            return None
        coach = _coach(ctx, user.id)
        if coach is None:
            return None
        if not coach.active:
            notice = Notice(To.COACH, Key.DESK_COACH_INACTIVE, coach=desk.coach_ref(coach))
            return self._out(ctx, [notice])
        desk.coach_reachable(ctx.session, coach=coach)  # they wrote: Telegram delivers again
        return self._out(ctx, self._message(ctx, desk.coach_ref(coach), message))

    def _message(self, ctx: UpdateContext, coach: CoachRef, message: Message) -> list[Notice]:
        if message.text is None:
            return [Notice(To.COACH, Key.DESK_ONLY_TEXT, coach=coach)]
        text = clean_text(message.text)
        if text.startswith("/"):
            words = text.split(maxsplit=1)
            return self._command(ctx, coach, command_of(text), words[1] if len(words) > 1 else "")
        replied = message.reply_to_message
        if replied is not None:
            ref = telegram_state.ref_of_message(
                ctx.session, chat_id=message.chat.id, message_id=replied.message_id
            )
            case_id = render.case_id_of(ref)
            if case_id is not None:
                return desk.message_participant(
                    ctx.session, case_id=case_id, coach=coach, text=text
                )
        return [Notice(To.COACH, Key.DESK_HELP, coach=coach)]

    def _command(
        self, ctx: UpdateContext, coach: CoachRef, command: str, rest: str
    ) -> list[Notice]:
        session = ctx.session
        if command == "/zaken":
            return [self._case_list(ctx, coach)]
        if command not in _CASE_COMMANDS:
            return [Notice(To.COACH, Key.DESK_HELP, coach=coach)]
        words = rest.split(maxsplit=1)
        number, tail = (words[0], words[1] if len(words) > 1 else "") if words else ("", "")
        match = _NUMBER.fullmatch(number)
        if match is None:
            return [Notice(To.COACH, Key.DESK_HELP, coach=coach)]
        case_id = int(match.group(1))
        if case_id > MAX_ID:  # no case has that number (nor could the database look it up)
            return [Notice(To.COACH, Key.DESK_NOT_YOURS, {"case": str(case_id)}, coach=coach)]
        tail = tail.strip()
        if command == "/zaak":
            return desk.show_case(session, case_id=case_id, coach=coach)
        if command == "/bericht":
            if not tail:
                return [
                    Notice(To.COACH, Key.DESK_MESSAGE_USAGE, {"case": str(case_id)}, coach=coach)
                ]
            return desk.message_participant(session, case_id=case_id, coach=coach, text=tail)
        if command == "/terug":
            return desk.hand_back(session, case_id=case_id, coach=coach)
        return desk.close(session, case_id=case_id, coach=coach, outcome=tail)

    def _case_list(self, ctx: UpdateContext, coach: CoachRef) -> Notice:
        cards = desk.list_open(ctx.session, coach=coach)
        if not cards:
            return Notice(To.COACH, Key.DESK_NO_OPEN_CASES, coach=coach)
        lines = []
        for card in cards:
            status = status_text(ctx.flows, card.status, "nl")
            lines.append(f"#{card.case_id} · {card.first_name} · {card.region} · {status}")
        return Notice(To.COACH, Key.DESK_OPEN_CASES, coach=coach, quote="\n".join(lines))

    @staticmethod
    def _out(ctx: UpdateContext, notices: list[Notice]) -> list[Outgoing]:
        return render.notices(ctx.flows, notices, coordinator_chat_id=ctx.coordinator_chat_id)
