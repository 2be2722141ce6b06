"""Per-feature routers, as aiogram cuts them. The first router in the list that `takes` a turn
handles it; it decides from what the update says (`Incoming`, parsed once) and who sent it
(`Sender`, one read), without the database. Order (bot/channels/telegram/wiring.py): web login,
admin commands, coach desk, coordinator, privacy, live chat, and last the conversation, which
takes everything left.

A router's `route` runs inside the turn's transaction and returns outcomes
(bot/channels/telegram/outcomes.py); the pipeline renders them. A router with a slow half (the
conversation's NLU) says so from the update alone (`slow`), reads what it needs in the
pipeline's read before the transaction (`read`) and does the slow work outside any
transaction (`prepare`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from bot.channels.telegram.incoming import Incoming
from bot.channels.telegram.outcomes import Outcome
from bot.engine.state import ConversationState
from bot.flows.flowset import FlowSet
from storage import telegram_state
from storage.senders import Sender, sender_of

CHANNEL = "telegram"
NOBODY = Sender(None, None, None)


@dataclass(frozen=True, slots=True)
class Turn:
    """Who and what, each read once."""

    incoming: Incoming
    who: Sender


def who_sent(session: Session, incoming: Incoming) -> Sender:
    """Who sent it (storage/senders.py, one statement); nobody for updates no router acts on
    (edits, channel posts), which need no look-up."""
    if incoming.user_id is None or not (incoming.message or incoming.press):
        return NOBODY
    return sender_of(session, channel=CHANNEL, telegram_id=incoming.user_id)


@dataclass
class UpdateContext:
    """One turn inside its transaction."""

    session: Session
    turn: Turn
    flows: FlowSet
    prepared: Any  # what the router's `prepare` returned before the transaction (or None)
    coordinator_chat_id: int | None
    # Work that must wait until the transaction has committed (outside any transaction).
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    @property
    def incoming(self) -> Incoming:
        return self.turn.incoming

    @property
    def who(self) -> Sender:
        return self.turn.who

    def store_long(self) -> Callable[[str], str]:
        return lambda payload: telegram_state.store_callback_payload(self.session, payload=payload)


class Rerouted(Exception):
    """What the turn was prepared for no longer holds inside the transaction (a live chat
    started or ended, someone became a coach): prepare it again."""


# `Router.recall`: the hint is not enough, read in the prepare's transaction.
MUST_READ: Any = object()


class Router(ABC):
    """Base of the routers: each says which turns it takes and what they cause; no slow half
    unless a router says so."""

    @abstractmethod
    def takes(self, turn: Turn) -> bool:
        """Whether this router handles the turn, from who sent it and what it says (no I/O)."""

    @abstractmethod
    def route(self, ctx: UpdateContext) -> list[Outcome]:
        """What the turn causes, inside its transaction."""

    def slow(self, incoming: Incoming) -> bool:
        """Whether this update may need `prepare` before its transaction (from the update
        alone: the pipeline reads who sent it only then, else once, in the transaction)."""
        return False

    def holds(self, incoming: Incoming) -> bool:
        """Whether a late start of this update earns the "Eén moment…" notice (for updates
        without a prepare; `prepare` arms it itself)."""
        return False

    def read(self, session: Session, turn: Turn) -> Any:
        """Reads for `prepare`, in the same read transaction as who sent it."""
        return None

    def recall(self, turn: Turn, state: ConversationState | None) -> Any:
        """What `read` would give, from the state this process last knew (a hint: the commit
        decides), or MUST_READ when only the database can tell."""
        return MUST_READ

    async def prepare(self, turn: Turn, read: Any, hold: Callable[[int], None]) -> Any:
        """The slow half, outside any transaction; `hold(chat_id)` when a participant waits."""
        return None


def admin_command(incoming: Incoming, admins: frozenset[int], commands: Collection[str]) -> str:
    """One of `commands` in an admin's private chat, told from the update alone ("": none)."""
    if not incoming.message or not incoming.private or incoming.user_id not in admins:
        return ""
    return incoming.command if incoming.command in commands else ""
