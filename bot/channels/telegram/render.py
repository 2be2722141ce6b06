"""Replies and desk notices as queued Bot API calls: HTML, split at safe places, keyboards.

`outgoing` is the one place where a turn's outcomes (bot/channels/telegram/outcomes.py) become
outbox rows; the scheduler, the web desk and the CLI use the same functions for their notices.

Everything a participant or a coach typed is escaped here, and split before escaping, so no
message is ever cut inside an HTML entity or tag.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from bot.channels.telegram import callbacks
from bot.channels.telegram.outcomes import (
    Answer,
    Document,
    KeyboardSettled,
    Outcome,
    Say,
    Tell,
)
from bot.channels.telegram.text import MAX_TEXT, escape, html_chunks
from bot.desk import render as words
from bot.desk.notices import Notice, To
from bot.engine.messages import Button, Reply
from bot.flows.catalogue import Key
from bot.flows.flowset import FlowSet
from storage.telegram_state import REPLY_KIND, Outgoing

log = logging.getLogger(__name__)

HTML = "HTML"
SEND_MESSAGE = "sendMessage"
SEND_DOCUMENT = "sendDocument"
EDIT_MARKUP = "editMessageReplyMarkup"
EDIT_TEXT = "editMessageText"  # storage/privacy.py: a coach's card blanked after erasure
# Deleted once sent: a row that holds personal data only to deliver it (a data export).
EPHEMERAL_KIND = "ephemeral"
_SHORT_LABEL = 18  # two buttons per row when every label is at most this long
COACH_KIND = "coach"  # a message to a coach about a case: if Telegram refuses it, the case moves


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


def _messages(
    chat_id: int,
    parts: list[str],
    markup: dict[str, Any] | None,
    ref: str | None,
    kind: str | None = None,
    *,
    held: bool = False,
) -> list[Outgoing]:
    out: list[Outgoing] = []
    for index, part in enumerate(parts):
        params: dict[str, Any] = {"text": part, "parse_mode": HTML}
        if markup is not None and index == len(parts) - 1:
            params["reply_markup"] = markup
        out.append(Outgoing(chat_id, SEND_MESSAGE, params, ref, kind, held))
    return out


def plain_messages(
    chat_id: int,
    plain: str,
    *,
    markup: dict[str, Any] | None = None,
    ref: str | None = None,
    kind: str | None = None,
    held: bool = False,
) -> list[Outgoing]:
    """Plain text (possibly user-typed), escaped and split safely."""
    return _messages(chat_id, html_chunks(plain), markup, ref, kind, held=held)


def pack(lines: Iterable[str], limit: int = MAX_TEXT) -> list[str]:
    """HTML lines (each complete, tags closed) packed into messages of at most `limit`."""
    parts: list[str] = []
    current = ""
    for line in lines:
        if len(line) > limit:  # only a user-typed value can be this long; never cut a tag
            line = escape(line[: limit // 2]) if "<" not in line else line[:limit]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit and current:
            parts.append(current)
            candidate = line
        current = candidate
    if current or not parts:
        parts.append(current)
    return parts


def replies(
    chat_id: int,
    items: Sequence[Reply],
    store_long: Callable[[str], str],
    *,
    last_confirms_case: int | None = None,
) -> list[Outgoing]:
    """The conversation's replies (kind "reply": a flood may supersede them). With
    `last_confirms_case`, the last one names the coach of that new case: held until the
    coach's card is delivered."""
    out: list[Outgoing] = []
    for index, reply in enumerate(items):
        if not reply.text.strip():
            continue
        markup = participant_keyboard(reply.buttons, store_long)
        held = last_confirms_case is not None and index == len(items) - 1
        ref = case_ref(last_confirms_case) if held and last_confirms_case is not None else None
        out.extend(
            plain_messages(chat_id, reply.text, markup=markup, ref=ref, kind=REPLY_KIND, held=held)
        )
    return out


def mark_pressed(chat_id: int, message_id: int, label: str | None) -> Outgoing:
    """Replace a used keyboard by a single inert "✓ choice" button (or nothing)."""
    markup = keyboard([[(f"✓ {label}", callbacks.DONE)]]) if label else {"inline_keyboard": []}
    return Outgoing(
        chat_id=chat_id,
        method=EDIT_MARKUP,
        params={"message_id": message_id, "reply_markup": markup},
        kind=EPHEMERAL_KIND,  # nothing to keep once done
    )


def case_ref(case_id: int) -> str:
    return f"case:{case_id}"


def case_id_of(ref: str | None) -> int | None:
    if ref and ref.startswith("case:") and ref[5:].isdigit() and ref[5:].isascii():
        return int(ref[5:])
    return None


def recipient(notice: Notice, coordinator_chat_id: int | None) -> int | None:
    """The Telegram chat of whoever the notice is for (None: not reachable on Telegram)."""
    if notice.to is To.COACH:
        return notice.coach.telegram_id if notice.coach else coordinator_chat_id
    if notice.to is To.COORDINATOR:
        return coordinator_chat_id
    who = notice.participant
    if who is None or who.channel != "telegram" or not who.external_id.lstrip("-").isdigit():
        return None
    return int(who.external_id)


def notice_messages(
    flows: FlowSet, notice: Notice, *, coordinator_chat_id: int | None
) -> list[Outgoing]:
    chat_id = recipient(notice, coordinator_chat_id)
    if chat_id is None:
        if notice.to is not To.PARTICIPANT and notice.card is not None:
            # no coordinator chat: nobody sees the case (case id only, never its data)
            log.warning("case %s reaches nobody: COORDINATOR_CHAT_ID is not set", notice.case_id)
        return []
    language = words.language_of(notice)
    head = escape(words.headline(flows, notice))
    lines = [f"<b>{head}</b>" if notice.to is not To.PARTICIPANT else head]
    if notice.card is not None:
        status = notice.key == Key.DESK_CASE
        lines += [
            f"<b>{escape(label)}:</b> {escape(value)}"
            for label, value in words.card_lines(flows, notice.card, language, status=status)
        ]
    if (tail := words.footer(flows, notice)) is not None:
        lines += ["", escape(tail)]
    markup = None
    if notice.actions:
        buttons = [
            (words.button_label(flows, action, language), callbacks.desk_data(action))
            for action in notice.actions
        ]
        rows = [buttons] if len(buttons) <= 2 else [[button] for button in buttons]
        markup = keyboard(rows)
    ref = case_ref(notice.case_id) if notice.case_id is not None else None
    kind = COACH_KIND if notice.to is To.COACH and notice.case_id is not None else None
    held = notice.after_card and ref is not None
    if notice.quote is not None:
        # What someone typed, escaped per chunk after splitting: the header goes on the first.
        room = MAX_TEXT - len("\n".join(lines)) - 1
        chunks = html_chunks(notice.quote, max(200, room))
        first = "\n".join([*lines, chunks[0]])
        parts = [first, *chunks[1:]] if len(first) <= MAX_TEXT else [*pack(lines), *chunks]
        return _messages(chat_id, parts, markup, ref, kind, held=held)
    return _messages(chat_id, pack(lines), markup, ref, kind, held=held)


def notices(
    flows: FlowSet, items: Iterable[Notice], *, coordinator_chat_id: int | None
) -> list[Outgoing]:
    out: list[Outgoing] = []
    for notice in items:
        out.extend(notice_messages(flows, notice, coordinator_chat_id=coordinator_chat_id))
    return out


def document(chat_id: int, *, filename: str, content: str, caption: str) -> Outgoing:
    """A file (a participant's data export); the row is deleted once it is sent."""
    return Outgoing(
        chat_id,
        SEND_DOCUMENT,
        {"filename": filename, "content": content, "caption": caption},
        kind=EPHEMERAL_KIND,
    )


def outgoing(
    outcomes: Iterable[Outcome],
    *,
    flows: FlowSet,
    coordinator_chat_id: int | None,
    store_long: Callable[[str], str],
) -> list[Outgoing]:
    """A turn's outcomes as outbox rows, in order."""
    out: list[Outgoing] = []
    for item in outcomes:
        match item:
            case Say(chat_id, text, buttons, ephemeral):
                markup = None
                if buttons:
                    markup = keyboard(
                        [[(label, data.pack()) for label, data in row] for row in buttons]
                    )
                kind = EPHEMERAL_KIND if ephemeral else None
                out += plain_messages(chat_id, text, markup=markup, kind=kind)
            case Answer(chat_id, items, confirms_case):
                out += replies(chat_id, items, store_long, last_confirms_case=confirms_case)
            case Tell(items):
                out += notices(flows, items, coordinator_chat_id=coordinator_chat_id)
            case KeyboardSettled(chat_id, message_id, label):
                out.append(mark_pressed(chat_id, message_id, label))
            case Document(chat_id, filename, content, caption):
                out.append(document(chat_id, filename=filename, content=content, caption=caption))
    return out
