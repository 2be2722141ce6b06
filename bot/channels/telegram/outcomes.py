"""What a router decided, in domain terms; bot/channels/telegram/render.py turns it into Bot API
calls in one place (HTML, splitting, keyboards, which rows are ephemeral)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.channels.telegram.callbacks import CallbackData
from bot.desk.notices import Notice
from bot.engine.messages import Reply


@dataclass(frozen=True, slots=True)
class Say:
    """Plain text to a chat (escaped, split safely), with buttons under the last part.
    `ephemeral`: the row is deleted once sent (a login link, a goodbye after erasure)."""

    chat_id: int
    text: str
    buttons: Sequence[Sequence[tuple[str, CallbackData]]] = ()
    ephemeral: bool = False


@dataclass(frozen=True, slots=True)
class Answer:
    """The conversation's replies to a participant; with `confirms_case`, the last one names
    the coach of that new case and is held until the coach's card is delivered."""

    chat_id: int
    replies: Sequence[Reply]
    confirms_case: int | None = None


@dataclass(frozen=True, slots=True)
class Tell:
    """The desk's notices, each to its own recipient (coach, coordinator, participant)."""

    notices: Sequence[Notice] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class KeyboardSettled:
    """A keyboard was answered: it becomes one inert "✓ choice" button (or none)."""

    chat_id: int
    message_id: int
    label: str | None


@dataclass(frozen=True, slots=True)
class Document:
    """A file (a participant's data export), deleted from the outbox once sent."""

    chat_id: int
    filename: str
    content: str
    caption: str


Outcome = Say | Answer | Tell | KeyboardSettled | Document
