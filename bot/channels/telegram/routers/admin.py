"""Admin commands, only for ADMIN_TELEGRAM_IDS in a private chat: /stats and /reload.

Anyone else typing them gets the participant experience (the router declines the update).
"""

from __future__ import annotations

import logging

from telegram.constants import ChatType

from bot import stats
from bot.channels.telegram import render
from bot.channels.telegram.routers import UpdateContext
from bot.desk.render import say
from bot.flows.catalogue import Key
from bot.flows.loader import load_flows
from bot.flows.registry import FlowRegistry
from storage import telegram_state
from storage.telegram_state import Outgoing

log = logging.getLogger(__name__)


class AdminRouter:
    def __init__(self, *, admin_ids: frozenset[int], flows: FlowRegistry | None) -> None:
        self._admins = admin_ids
        self._registry = flows

    def route(self, ctx: UpdateContext) -> list[Outgoing] | None:
        message = ctx.update.message
        user = ctx.update.effective_user
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
            return render.plain_messages(message.chat.id, self._stats(ctx))
        if command == "/reload":
            return render.plain_messages(message.chat.id, self._reload(ctx))
        return None

    def _stats(self, ctx: UpdateContext) -> str:
        """The same figures as `careerbot stats`, plus the outgoing queue."""
        outbox = telegram_state.outbox_counts(ctx.session)
        queued = outbox.get("pending", 0) + outbox.get("sending", 0)
        figures = stats.as_text(stats.collect(ctx.session))
        return f"{figures}\nOutbox: {queued} queued, {outbox.get('failed', 0)} failed"

    def _reload(self, ctx: UpdateContext) -> str:
        registry = self._registry
        if registry is None:
            return say(
                ctx.flows, Key.ADMIN_RELOAD_UNCHANGED, "nl", {"flows": str(len(ctx.flows.flows))}
            )
        if registry.reload_if_changed():
            log.info("flows reloaded by an admin")
            return say(
                ctx.flows, Key.ADMIN_RELOADED, "nl", {"flows": str(len(registry.current.flows))}
            )
        result = load_flows(registry.directory, nlu_dir=registry.nlu_dir)
        if result.flowset is None:
            problems = "\n".join(str(p) for p in result.errors[:15])
            return say(ctx.flows, Key.ADMIN_RELOAD_FAILED, "nl", {"problems": problems})
        return say(
            ctx.flows, Key.ADMIN_RELOAD_UNCHANGED, "nl", {"flows": str(len(registry.current.flows))}
        )
