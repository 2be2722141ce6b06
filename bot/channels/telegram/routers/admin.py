"""Admin commands, only for ADMIN_TELEGRAM_IDS in a private chat: /stats and /reload.

Anyone else typing them gets the participant experience (the router does not take the update).
"""

from __future__ import annotations

import logging

from bot import stats
from bot.channels.telegram.outcomes import Outcome, Say
from bot.channels.telegram.routers import Router, Turn, UpdateContext, admin_command
from bot.desk.render import say
from bot.flows.catalogue import Key
from bot.flows.registry import FlowRegistry
from storage import telegram_state

log = logging.getLogger(__name__)

_COMMANDS = ("/stats", "/reload")


class AdminRouter(Router):
    def __init__(self, *, admin_ids: frozenset[int], flows: FlowRegistry | None) -> None:
        self._admins = admin_ids
        self._registry = flows

    def takes(self, turn: Turn) -> bool:
        return bool(admin_command(turn.incoming, self._admins, _COMMANDS))

    def route(self, ctx: UpdateContext) -> list[Outcome]:
        chat_id = ctx.incoming.chat_id
        assert chat_id is not None  # a message in a private chat
        if ctx.incoming.command == "/stats":
            return [Say(chat_id, self._stats(ctx))]
        return [Say(chat_id, self._reload(ctx))]

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
        if registry.reload_if_changed(source="admin"):
            log.info("flows reloaded by an admin")
            return say(
                ctx.flows, Key.ADMIN_RELOADED, "nl", {"flows": str(len(registry.current.flows))}
            )
        rejected = registry.rejected
        if rejected is not None:  # the newest files failed a check or a conversation test
            problems = "\n".join([rejected.summary, *rejected.problems[:15]])
            return say(ctx.flows, Key.ADMIN_RELOAD_FAILED, "nl", {"problems": problems})
        return say(
            ctx.flows, Key.ADMIN_RELOAD_UNCHANGED, "nl", {"flows": str(len(registry.current.flows))}
        )
