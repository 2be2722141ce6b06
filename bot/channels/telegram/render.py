"""Turning channel-agnostic replies into queued Bot API calls (HTML, split, inline keyboards)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from bot.channels.telegram import callbacks
from bot.channels.telegram.outbox import EDIT_MARKUP, SEND_MESSAGE
from bot.channels.telegram.text import MAX_TEXT, html_chunks, split_text
from bot.engine.messages import Button, Reply
from storage.telegram_state import Outgoing

HTML = "HTML"
_SHORT_LABEL = 18  # two buttons per row when every label is at most this long


def keyboard(rows: Sequence[Sequence[tuple[str, str]]]) -> dict[str, Any]:
    """An inline keyboard as Bot API JSON, from rows of (label, callback data)."""
    for row in rows:
        for _, data in row:
            if not callbacks.fits(data):
                raise ValueError("callback data exceeds Telegram's 64-byte limit")
    return {
        "inline_keyboard": [
            [{"text": label, "callback_data": data} for label, data in row] for row in rows
        ]
    }


def participant_keyboard(
    buttons: Sequence[Button], store_long: Callable[[str], str]
) -> dict[str, Any] | None:
    if not buttons:
        return None
    items = [(b.label, callbacks.participant_data(b.payload, store_long)) for b in buttons]
    width = 2 if all(len(label) <= _SHORT_LABEL for label, _ in items) else 1
    return keyboard([items[i : i + width] for i in range(0, len(items), width)])


def text_messages(
    chat_id: int,
    html_text: str,
    *,
    markup: dict[str, Any] | None = None,
    ref: str | None = None,
) -> list[Outgoing]:
    """Already-HTML text as one or more sendMessage calls; the keyboard goes on the last one."""
    parts = split_text(html_text, MAX_TEXT) if len(html_text) > MAX_TEXT else [html_text]
    return _messages(chat_id, parts, markup, ref)


def plain_messages(
    chat_id: int, plain: str, *, markup: dict[str, Any] | None = None, ref: str | None = None
) -> list[Outgoing]:
    """Plain text (possibly user-typed), escaped and split safely."""
    return _messages(chat_id, html_chunks(plain), markup, ref)


def _messages(
    chat_id: int, parts: list[str], markup: dict[str, Any] | None, ref: str | None
) -> list[Outgoing]:
    out: list[Outgoing] = []
    for index, part in enumerate(parts):
        params: dict[str, Any] = {"text": part, "parse_mode": HTML}
        if markup is not None and index == len(parts) - 1:
            params["reply_markup"] = markup
        out.append(Outgoing(chat_id=chat_id, method=SEND_MESSAGE, params=params, ref=ref))
    return out


def replies(
    chat_id: int, items: Iterable[Reply], store_long: Callable[[str], str]
) -> list[Outgoing]:
    out: list[Outgoing] = []
    for reply in items:
        if not reply.text.strip():
            continue
        markup = participant_keyboard(reply.buttons, store_long)
        out.extend(plain_messages(chat_id, reply.text, markup=markup))
    return out


def mark_pressed(chat_id: int, message_id: int, label: str | None) -> Outgoing:
    """Replace a used keyboard by a single inert "✓ choice" button (or nothing)."""
    markup = keyboard([[(f"✓ {label}", callbacks.DONE)]]) if label else {"inline_keyboard": []}
    return Outgoing(
        chat_id=chat_id,
        method=EDIT_MARKUP,
        params={"message_id": message_id, "reply_markup": markup},
    )
