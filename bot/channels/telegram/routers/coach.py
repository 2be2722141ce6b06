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

from bot.channels.telegram import render
from bot.channels.telegram.callbacks import Choice, DeskAction, StoredChoice
from bot.channels.telegram.incoming import Incoming, command_of
from bot.channels.telegram.outcomes import Outcome, Tell
from bot.channels.telegram.routers import Rerouted, Router, Turn, UpdateContext
from bot.desk import service as desk
from bot.desk.notices import CoachRef, Notice, To, Verb
from bot.desk.render import status_text
from bot.flows.catalogue import Key
from storage import telegram_state
from storage.coaches import coach_by_telegram_id
from storage.models import MAX_ID

_NUMBER = re.compile(r"#?([0-9]{1,12})")  # ASCII digits: "²" is a digit to str.isdigit()
_CASE_COMMANDS = ("/zaak", "/bericht", "/terug", "/afsluiten")


class CoachRouter(Router):
    def takes(self, turn: Turn) -> bool:
        """Accept/Decline from anyone (a participant's is forged and ignored here); from a
        coach, their private messages and a participant button from before they were one."""
        incoming, coach = turn.incoming, turn.who.coach_id is not None
        if incoming.press is not None:
            button = incoming.press.button
            if isinstance(button, DeskAction):
                return button.verb is not Verb.ASSIGN
            return coach and isinstance(button, Choice | StoredChoice)
        return coach and incoming.message and incoming.private

    def route(self, ctx: UpdateContext) -> list[Outcome]:
        incoming = ctx.incoming
        assert incoming.user_id is not None
        coach = None
        if ctx.who.coach_id is not None:
            coach = coach_by_telegram_id(ctx.session, telegram_id=incoming.user_id)
        press = incoming.press
        if coach is None:
            if press is not None and isinstance(press.button, DeskAction):
                return []  # a forged desk button
            raise Rerouted  # no longer a coach since who sent it was read
        ref = desk.coach_ref(coach)
        if not coach.active:
            return [Tell([Notice(To.COACH, Key.DESK_COACH_INACTIVE, coach=ref)])]
        if press is not None:
            button = press.button
            if not isinstance(button, DeskAction):  # a keyboard from before they were a coach
                return [Tell([Notice(To.COACH, Key.DESK_OLD_BUTTON, coach=ref)])]
            operation = desk.accept if button.verb is Verb.ACCEPT else desk.decline
            return [Tell(operation(ctx.session, case_id=button.case_id, coach=ref))]
        desk.coach_reachable(ctx.session, coach=coach)  # they wrote: Telegram delivers again
        return [Tell(self._message(ctx, ref, incoming))]

    def _message(self, ctx: UpdateContext, coach: CoachRef, incoming: Incoming) -> list[Notice]:
        if incoming.text is None:
            return [Notice(To.COACH, Key.DESK_ONLY_TEXT, coach=coach)]
        if incoming.cleaned.startswith("/"):
            return self._command(ctx, coach, command_of(incoming.cleaned), incoming.rest)
        if incoming.reply_to is not None and incoming.chat_id is not None:
            ref = telegram_state.ref_of_message(
                ctx.session, chat_id=incoming.chat_id, message_id=incoming.reply_to
            )
            case_id = render.case_id_of(ref)
            if case_id is not None:
                return desk.message_participant(
                    ctx.session, case_id=case_id, coach=coach, text=incoming.cleaned
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
