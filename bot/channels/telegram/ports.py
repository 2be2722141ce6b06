"""What the Telegram channel needs from the rest of the bot, as Protocols (dependency injection)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from telegram import Update

from bot.engine.messages import Inbound, Reply
from storage.telegram_state import Outgoing

CHANNEL = "telegram"


class ConversationHandler(Protocol):
    """The channel-agnostic conversation service: one participant turn in, replies out."""

    async def handle(self, channel: str, external_id: str, inbound: Inbound) -> list[Reply]: ...


class Router(Protocol):
    """A feature on the channel (coach desk, admin commands, live relay).

    Returns the calls to queue when it took the update, or None to let the next router (and in
    the end the participant conversation) have it.
    """

    async def route(self, update: Update) -> Sequence[Outgoing] | None: ...
