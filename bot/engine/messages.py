"""Channel-agnostic message types: what a participant sends and what the bot answers.

Channels (terminal, Telegram) translate to and from these; the engine never sees a channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Channels that show a reply's buttons numbered ([1] Ja [2] Nee: bot/channels/terminal.py), so
# that a typed number ("2", "optie 2", "de tweede") picks that option. Telegram shows plain
# inline buttons: there a number picks nothing and the bot says how to answer.
NUMBERED_CHANNELS = frozenset({"terminal"})


@dataclass(frozen=True, slots=True)
class Button:
    """A choice offered to the participant. `payload` comes back as `Inbound.payload` when pressed.

    Payloads are short ASCII strings (Telegram allows 64 bytes of callback data).
    """

    label: str
    payload: str


@dataclass(frozen=True, slots=True)
class Inbound:
    """One participant turn: typed text, or the payload of a pressed button (never both)."""

    text: str | None = None
    payload: str | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """One message to the participant. `text` is plain text; channels escape it as they need."""

    text: str
    buttons: tuple[Button, ...] = field(default_factory=tuple)
