"""Per-feature routers, as aiogram cuts them: each looks at an update and either takes it
(returning the calls to queue, possibly none) or returns None to let the next one have it.
Order: admin commands, coach desk, coordinator, live chat, and finally the conversation."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Protocol

from sqlmodel import Session
from telegram import Update
from telegram.constants import ChatType

from bot.conversation import Prepared
from bot.flows.flowset import FlowSet
from storage import telegram_state
from storage.senders import Sender, sender_of
from storage.telegram_state import Outgoing

CHANNEL = "telegram"


@dataclass
class UpdateContext:
    """One update inside its transaction."""

    session: Session
    update: Update
    flows: FlowSet
    prepared: Prepared | None  # the conversation's slow half, done before the transaction
    coordinator_chat_id: int | None
    # Work that must wait until the transaction has committed (outside any transaction).
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    _sender: Sender | None = field(default=None, repr=False)

    def sender(self) -> Sender:
        """Who sent the update (storage/senders.py), read once in this transaction."""
        if self._sender is None:
            user = self.update.effective_user
            self._sender = (
                sender_of(self.session, channel=CHANNEL, telegram_id=user.id)
                if user is not None
                else Sender(None, None, None)
            )
        return self._sender

    def store_long(self) -> Callable[[str], str]:
        return lambda payload: telegram_state.store_callback_payload(self.session, payload=payload)


def command_of(text: str | None) -> str:
    """The command a message starts with, lower case and without "@botname" ("/stop@x hoi" →
    "/stop"); "" when it starts with none (or is only blanks: NBSP, U+3000, U+2028 …)."""
    words = (text or "").split(maxsplit=1)
    if not words or not words[0].startswith("/"):
        return ""
    return words[0].split("@")[0].lower()


def admin_command(update: Update, admins: frozenset[int], commands: Collection[str]) -> str | None:
    """One of `commands` in an admin's private chat, told from the update alone (no database:
    the pipeline asks before it looks up who sent it)."""
    message, user = update.message, update.effective_user
    if message is None or user is None or user.id not in admins:
        return None
    if message.chat.type != ChatType.PRIVATE:
        return None
    command = command_of(message.text)
    return command if command in commands else None


class Router(Protocol):
    def route(self, ctx: UpdateContext) -> list[Outgoing] | None: ...
