"""/login for the web desk: a registered coach, coordinator or admin gets a one-time link
(10 minutes, single use, stored hashed). Anyone else falls through to the participant
experience and learns nothing. Requests are rate limited per person."""

from __future__ import annotations

from datetime import timedelta

from telegram import Update
from telegram.constants import ChatType

from bot.channels.telegram import render
from bot.channels.telegram.routers import UpdateContext, admin_command, command_of
from storage import web
from storage.coaches import active_coach_by_telegram_id
from storage.models import utcnow
from storage.telegram_state import Outgoing

COMMANDS = frozenset({"/login", "/inloggen"})
WINDOW = timedelta(minutes=10)


class WebLoginRouter:
    def __init__(self, *, base_url: str, admin_ids: frozenset[int], per_window: int = 3) -> None:
        self._base = base_url.rstrip("/")
        self._admins = admin_ids
        self._per_window = per_window

    def takes(self, update: Update) -> bool:
        """An admin's /login (a coach's is known once the database is asked)."""
        return admin_command(update, self._admins, COMMANDS) is not None

    def route(self, ctx: UpdateContext) -> list[Outgoing] | None:
        message, user = ctx.update.message, ctx.update.effective_user
        if message is None or user is None or message.chat.type != ChatType.PRIVATE:
            return None
        if command_of(message.text) not in COMMANDS:
            return None
        staff = user.id in self._admins or (
            active_coach_by_telegram_id(ctx.session, telegram_id=user.id) is not None
        )
        if not staff:
            return None
        asked = web.links_requested_since(ctx.session, telegram_id=user.id, since=utcnow() - WINDOW)
        if asked >= self._per_window:
            text = (
                "Je hebt de afgelopen 10 minuten al een paar inloglinks gekregen; gebruik de "
                "laatste, of vraag over 10 minuten een nieuwe.\n"
                "You already got a few login links in the last 10 minutes; use the latest, or "
                "ask again in 10 minutes."
            )
            return render.plain_messages(message.chat.id, text)
        token = web.new_login_link(ctx.session, telegram_id=user.id)
        text = (
            f"Je inloglink voor de desk (10 minuten geldig, één keer te gebruiken):\n"
            f"{self._base}/login/{token}\n"
            f"Your login link for the desk (valid for 10 minutes, works once)."
        )
        # Ephemeral: the link is deleted from the outbox once sent.
        return [
            Outgoing(m.chat_id, m.method, m.params, kind=render.EPHEMERAL_KIND)
            for m in render.plain_messages(message.chat.id, text)
        ]
