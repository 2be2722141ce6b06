"""/login for the web desk: a registered coach, coordinator or admin gets a one-time link
(10 minutes, single use, stored hashed). Anyone else falls through to the participant
experience and learns nothing. Requests are rate limited per person."""

from __future__ import annotations

from datetime import timedelta

from bot.channels.telegram.outcomes import Outcome, Say, Tell
from bot.channels.telegram.routers import Rerouted, Router, Turn, UpdateContext
from bot.desk import service as desk
from bot.desk.notices import Notice, To
from bot.flows.catalogue import Key
from storage import web
from storage.coaches import coach_by_telegram_id
from storage.models import utcnow

COMMANDS = frozenset({"/login", "/inloggen"})
WINDOW = timedelta(minutes=10)


class WebLoginRouter(Router):
    def __init__(self, *, base_url: str, admin_ids: frozenset[int], per_window: int = 3) -> None:
        self._base = base_url.rstrip("/")
        self._admins = admin_ids
        self._per_window = per_window

    def takes(self, turn: Turn) -> bool:
        """/login from an admin or a coach, in their private chat."""
        incoming = turn.incoming
        if not incoming.message or not incoming.private or incoming.command not in COMMANDS:
            return False
        return incoming.user_id in self._admins or turn.who.coach_id is not None

    def route(self, ctx: UpdateContext) -> list[Outcome]:
        user_id, chat_id = ctx.incoming.user_id, ctx.incoming.chat_id
        assert user_id is not None and chat_id is not None
        if user_id not in self._admins:
            coach = coach_by_telegram_id(ctx.session, telegram_id=user_id)
            if coach is None:
                raise Rerouted  # no longer a coach since who sent it was read
            if not coach.active:  # as the coach desk answers them
                ref = desk.coach_ref(coach)
                return [Tell([Notice(To.COACH, Key.DESK_COACH_INACTIVE, coach=ref)])]
        asked = web.links_requested_since(ctx.session, telegram_id=user_id, since=utcnow() - WINDOW)
        if asked >= self._per_window:
            text = (
                "Je hebt de afgelopen 10 minuten al een paar inloglinks gekregen; gebruik de "
                "laatste, of vraag over 10 minuten een nieuwe.\n"
                "You already got a few login links in the last 10 minutes; use the latest, or "
                "ask again in 10 minutes."
            )
            return [Say(chat_id, text)]
        token = web.new_login_link(ctx.session, telegram_id=user_id)
        text = (
            f"Je inloglink voor de desk (10 minuten geldig, één keer te gebruiken):\n"
            f"{self._base}/login/{token}\n"
            f"Your login link for the desk (valid for 10 minutes, works once)."
        )
        # Ephemeral: the link is deleted from the outbox once sent.
        return [Say(chat_id, text, ephemeral=True)]
