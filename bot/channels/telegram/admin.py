"""Admin commands on Telegram, only for ADMIN_TELEGRAM_IDS: /stats and /reload.

Anyone else typing them gets the participant experience (the router declines the update).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select
from telegram import Update
from telegram.constants import ChatType

from bot.channels.telegram import render
from bot.channels.telegram.text import escape
from bot.flows.check import check_flows
from bot.flows.registry import FlowRegistry
from storage import coach_desk as desk
from storage import telegram_state as state
from storage.models import Coach, Participant
from storage.telegram_state import Outgoing

log = logging.getLogger(__name__)

_STATUS_LABELS = (
    ("new", "bij de coördinator"),
    ("assigned", "wacht op een coach"),
    ("accepted", "lopend"),
    ("closed", "afgesloten"),
)


class AdminDesk:
    def __init__(
        self, *, engine: Engine, admin_ids: frozenset[int], flows: FlowRegistry | None
    ) -> None:
        self._engine = engine
        self._admins = admin_ids
        self._flows = flows

    async def route(self, update: Update) -> Sequence[Outgoing] | None:
        message = update.message
        user = update.effective_user
        if (
            message is None
            or user is None
            or user.id not in self._admins
            or message.chat.type != ChatType.PRIVATE
            or not message.text
        ):
            return None
        command = message.text.split()[0].split("@")[0].lower()
        if command == "/stats":
            return render.text_messages(message.chat.id, self.stats())
        if command == "/reload":
            return render.text_messages(message.chat.id, escape(await self.reload()))
        return None

    def stats(self) -> str:
        with Session(self._engine) as session:
            cases = desk.case_counts(session)
            participants = session.exec(select(func.count()).select_from(Participant)).one()
            coaches = session.exec(
                select(func.count()).select_from(Coach).where(col(Coach.active).is_(True))
            ).one()
            outbox = state.outbox_counts(session=session)
        lines = [
            "<b>careerbot — statistieken</b>",
            f"Deelnemers: {participants}",
            f"Actieve coaches: {coaches}",
            f"Zaken: {sum(cases.values())}",
            *(f" · {label}: {cases.get(status, 0)}" for status, label in _STATUS_LABELS),
            f"Uitgaande berichten in de wachtrij: {outbox.get('pending', 0)}"
            f" (mislukt: {outbox.get('failed', 0)})",
        ]
        return "\n".join(lines)

    async def reload(self) -> str:
        if self._flows is None:
            return "Flows herladen kan hier niet."
        registry = self._flows
        if await asyncio.to_thread(registry.reload_if_changed):
            log.info("flows reloaded by an admin")
            return f"Flows herladen: {len(registry.current.flows)} flows actief."
        result = await asyncio.to_thread(check_flows, registry.directory, nlu_dir=registry.nlu_dir)
        if result.flowset is None:
            problems = "\n".join(str(p) for p in result.errors[:15])
            return f"De flows bevatten fouten; de vorige flows blijven actief.\n{problems}"
        return f"Geen wijzigingen; {len(registry.current.flows)} flows actief."
