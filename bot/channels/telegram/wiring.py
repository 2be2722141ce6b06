"""What `careerbot run` builds: the conversation service and the Telegram bot with its routers.

settings ─► bot.wiring.build_conversation (migrated DB, flows, NLU client, service)
         ─► TelegramBot (intake, inbox dispatcher, pipeline, outbox drainer, heartbeat)
             routers, in order (the first that takes a turn has it): WebLoginRouter (/login
             links for the web desk), AdminRouter (/stats, /reload), CoachRouter (coach
             commands, Accept/Decline, replies), CoordinatorRouter (assign buttons),
             PrivacyRouter (/mijngegevens, /verwijder), RelayRouter (participant → coach), and
             last, added by the pipeline, ParticipantRouter (the conversation for everyone else)
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from bot.channels.telegram.app import MissingTokenError, TelegramBot, TelegramOptions
from bot.channels.telegram.routers import Router
from bot.channels.telegram.routers.admin import AdminRouter
from bot.channels.telegram.routers.coach import CoachRouter
from bot.channels.telegram.routers.coordinator import CoordinatorRouter
from bot.channels.telegram.routers.privacy import PrivacyRouter
from bot.channels.telegram.routers.relay import RelayRouter
from bot.channels.telegram.routers.web_login import WebLoginRouter
from bot.config import Settings
from bot.flows.registry import FlowRegistry
from bot.ops.server import Health
from bot.tasks import cancel_and_wait
from bot.wiring import Conversation, build_conversation

log = logging.getLogger(__name__)


def routers(
    *,
    admin_ids: frozenset[int],
    flows: FlowRegistry | None,
    web_base_url: str = "",
    web_links: int = 3,
) -> list[Router]:
    return [
        WebLoginRouter(base_url=web_base_url, admin_ids=admin_ids, per_window=web_links),
        AdminRouter(admin_ids=admin_ids, flows=flows),
        CoachRouter(),
        CoordinatorRouter(),
        PrivacyRouter(),
        RelayRouter(),
    ]


@dataclass
class AssembledBot:
    bot: TelegramBot
    conversation: Conversation
    watcher: asyncio.Task[None]

    async def aclose(self) -> None:
        if self.bot.running:
            await self.bot.stop()
        await cancel_and_wait(self.watcher)
        await self.conversation.aclose()


async def build_telegram_bot(settings: Settings, **options: Any) -> AssembledBot:
    """Build everything (not started). `options` override `TelegramOptions` fields."""
    if not settings.telegram_bot_token:
        raise MissingTokenError("TELEGRAM_BOT_TOKEN is not set")
    # Migrations and flow loading are blocking file/database work.
    conversation = await asyncio.to_thread(build_conversation, settings)
    if settings.coordinator_chat_id is None:
        log.warning("COORDINATOR_CHAT_ID is not set: a case no coach can take reaches nobody")
    options.setdefault("metrics_port", settings.metrics_port)
    options.setdefault("metrics_host", settings.metrics_host)
    bot = TelegramBot(
        TelegramOptions(
            token=settings.telegram_bot_token,
            base_url=settings.telegram_base_url,
            webhook_secret=settings.webhook_secret,
            **options,
        ),
        engine=conversation.db,
        conversation=conversation.service,
        flows=conversation.flows,
        routers=routers(
            admin_ids=settings.admin_telegram_ids,
            flows=conversation.flows,
            web_base_url=settings.web_base_url,
            web_links=settings.web_link_requests_per_10_min,
        ),
        coordinator_chat_id=settings.coordinator_chat_id,
        health=Health(conversation.db, conversation.nlu.is_ready),
    )
    watcher = asyncio.create_task(conversation.flows.watch(), name="flows-watch")
    return AssembledBot(bot, conversation, watcher)
