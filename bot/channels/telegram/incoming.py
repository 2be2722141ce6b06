"""What an update says, parsed once from the stored JSON: the few fields the routers use.

A small typed read of the Bot API's update instead of python-telegram-bot's `Update.de_json`
(which builds every object of the update, dates and entities included, on every attempt).
Anything that is not the shape Telegram sends is `Unreadable`: nobody to answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.channels.telegram import callbacks
from bot.engine.slot_values import clean_text

PRIVATE = "private"


class Unreadable(ValueError):
    """Not an update the bot can read."""


@dataclass(frozen=True, slots=True)
class Press:
    """A pressed inline button."""

    query_id: str
    data: str | None
    button: callbacks.Button | None  # the decoded data (None: not data the bot makes)
    message_id: int | None  # the message with the keyboard (None: too old to see, 48 h)
    label: str | None  # the pressed button's text, when the keyboard is known


@dataclass(frozen=True, slots=True)
class Incoming:
    update_id: int
    user_id: int | None  # who sent it
    chat_id: int | None  # where (for a press: the chat of the keyboard's message)
    private: bool  # a private chat with the bot
    message: bool  # a new message (not an edit, not a press)
    text: str | None  # the message's text as typed (None: media or no message)
    cleaned: str  # the text without control and invisible characters ("" without text)
    command: str  # "/stop" for "/stop@bot hoi"; "" when the text starts with none
    reply_to: int | None  # the message id it replies to
    press: Press | None

    @property
    def rest(self) -> str:
        """The cleaned text after its command ("" without one)."""
        words = self.cleaned.split(maxsplit=1)
        return words[1] if len(words) > 1 else ""


def command_of(text: str | None) -> str:
    """The command a message starts with, lower case and without "@botname" ("/stop@x hoi" →
    "/stop"); "" when it starts with none (or is only blanks: NBSP, U+3000, U+2028 …)."""
    words = (text or "").split(maxsplit=1)
    if not words or not words[0].startswith("/"):
        return ""
    return words[0].split("@")[0].lower()


def read_update(payload: str) -> Incoming:
    try:
        raw = json.loads(payload)
        return _incoming(raw)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise Unreadable(type(exc).__name__) from None


def _int(value: Any) -> int:
    if type(value) is not int:  # bool is an int to isinstance
        raise TypeError("not an integer")
    return value


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value


def _chat(message: dict[str, Any]) -> tuple[int, bool]:
    chat = message["chat"]
    return _int(chat["id"]), _str(chat["type"]) == PRIVATE


def _user(holder: dict[str, Any], key: str = "from") -> int | None:
    user = holder.get(key)
    return None if user is None else _int(user["id"])


def _incoming(raw: dict[str, Any]) -> Incoming:
    update_id = _int(raw["update_id"])
    message = raw.get("message")
    if message is not None:
        chat_id, private = _chat(message)
        text = message.get("text")
        if text is not None:
            _str(text)
        reply = message.get("reply_to_message")
        return Incoming(
            update_id,
            _user(message),
            chat_id,
            private,
            message=True,
            text=text,
            cleaned=clean_text(text) if text else "",
            command=command_of(text),
            reply_to=_int(reply["message_id"]) if reply is not None else None,
            press=None,
        )
    query = raw.get("callback_query")
    if query is not None:
        data = query.get("data")
        if data is not None:
            _str(data)
        shown = query.get("message")
        where: int | None = None
        message_id: int | None = None
        label: str | None = None
        private = False
        if shown is not None:
            where, private = _chat(shown)
            if _int(shown["date"]) != 0:  # date 0: Telegram no longer shows it
                message_id = _int(shown["message_id"])
                label = _label(shown, data)
        press = Press(_str(query["id"]), data, callbacks.decode(data), message_id, label)
        return Incoming(
            update_id,
            _int(query["from"]["id"]),
            where,
            private,
            message=False,
            text=None,
            cleaned="",
            command="",
            reply_to=None,
            press=press,
        )
    # Edits, channel posts …: nothing to do, but a failure is still apologised for in the chat.
    for kind in ("edited_message", "channel_post", "edited_channel_post"):
        other = raw.get(kind)
        if other is not None:
            chat_id, private = _chat(other)
            return Incoming(
                update_id, _user(other), chat_id, private, False, None, "", "", None, None
            )
    return Incoming(update_id, None, None, False, False, None, "", "", None, None)


def _label(message: dict[str, Any], data: str | None) -> str | None:
    markup = message.get("reply_markup")
    if not isinstance(markup, dict):
        return None
    for row in markup.get("inline_keyboard") or ():
        for button in row:
            if isinstance(button, dict) and button.get("callback_data") == data:
                text = button.get("text")
                return text if isinstance(text, str) else None
    return None
