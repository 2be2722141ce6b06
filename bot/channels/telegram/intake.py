"""Incoming Telegram updates into the inbox, from polling and from the webhook alike.

An update is confirmed to Telegram (the next getUpdates offset, the webhook's 200) only after
it is stored: a crash before that makes Telegram deliver it again, a crash after it leaves it
in the inbox for processing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Engine

from bot.faults import crash_point
from storage import inbox
from storage.database import call, runs_in_thread
from storage.inbox import Claimed, Incoming

log = logging.getLogger(__name__)
CHANNEL = "telegram"


def chat_key(update: dict[str, Any]) -> str:
    """Updates of one chat run in order; other chats run side by side."""
    for field in ("message", "edited_message", "callback_query", "my_chat_member"):
        part = update.get(field)
        if not isinstance(part, dict):
            continue
        message = part.get("message") if field == "callback_query" else part
        chat = message.get("chat") if isinstance(message, dict) else None
        if isinstance(chat, dict) and "id" in chat:
            return str(chat["id"])
        sender = part.get("from")
        if isinstance(sender, dict) and "id" in sender:
            return str(sender["id"])
    return f"update:{update.get('update_id')}"


def incoming(updates: Iterable[dict[str, Any]]) -> list[Incoming]:
    return [
        Incoming(int(u["update_id"]), chat_key(u), json.dumps(u, ensure_ascii=False))
        for u in updates
        if isinstance(u.get("update_id"), int)
    ]


class Intake:
    """Stores updates, claimed by this worker, and hands them to the dispatcher."""

    def __init__(
        self, engine: Engine, *, worker_id: str, offer: Callable[[list[Claimed]], None]
    ) -> None:
        self._engine = engine
        self._worker = worker_id
        self._offer = offer
        self._in_thread = runs_in_thread(engine)

    async def store(self, updates: Sequence[dict[str, Any]]) -> None:
        items = incoming(updates)
        if not items:
            return
        stored = await call(self._store, items, in_thread=self._in_thread)
        self._offer(stored)

    def _store(self, items: list[Incoming]) -> list[Claimed]:
        # A bare connection's transaction: one INSERT needs no ORM session.
        with self._engine.begin() as connection:
            stored = inbox.store(connection, channel=CHANNEL, items=items, claim_for=self._worker)
        crash_point("inbox.stored")
        return stored
