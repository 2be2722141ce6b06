"""What `careerbot run` builds: conversation service + Telegram bot + coach desk + notifier.

settings ─► bot.wiring.build_conversation (migrated DB, flows, NLU client, service)
         ─► TelegramBot (PTB Application: token, base_url, AIORateLimiter, per-chat
            processor; channel pipeline; outbox drainer)
             routers, in order: AdminDesk (/stats, /reload), CoachDesk (coach commands,
             Accept/Decline, replies), ParticipantRelay (participant → coach), then the
             conversation service for everyone else
         ─► TelegramNotifier bound to the drainer: new cases go to the coach/coordinator
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

from bot.channels.telegram.admin import AdminDesk
from bot.channels.telegram.app import MissingTokenError, TelegramBot, TelegramOptions
from bot.channels.telegram.coach import CoachDesk, ParticipantRelay, TelegramNotifier
from bot.config import Settings
from bot.wiring import Conversation, build_conversation


@dataclass
class AssembledBot:
    bot: TelegramBot
    conversation: Conversation
    watcher: asyncio.Task[None]

    async def aclose(self) -> None:
        if self.bot.application.running:
            await self.bot.stop()
        self.watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.watcher
        await self.conversation.aclose()


async def build_telegram_bot(settings: Settings, **options: Any) -> AssembledBot:
    """Build everything (not started). `options` override `TelegramOptions` fields."""
    if not settings.telegram_bot_token:
        raise MissingTokenError("TELEGRAM_BOT_TOKEN is not set")
    notifier = TelegramNotifier(coordinator_chat_id=settings.coordinator_chat_id)
    # Migrations and flow loading are blocking file/database work.
    conversation = await asyncio.to_thread(build_conversation, settings, notifier=notifier)
    engine = conversation.db
    bot = TelegramBot(
        TelegramOptions(
            token=settings.telegram_bot_token,
            base_url=settings.telegram_base_url,
            webhook_secret=settings.webhook_secret,
            **options,
        ),
        engine=engine,
        conversation=conversation.service,
        flows=conversation.flows,
        routers=[
            AdminDesk(
                engine=engine, admin_ids=settings.admin_telegram_ids, flows=conversation.flows
            ),
            CoachDesk(
                engine=engine,
                flows=conversation.flows,
                coordinator_chat_id=settings.coordinator_chat_id,
            ),
            ParticipantRelay(engine=engine, flows=conversation.flows),
        ],
    )
    notifier.bind(engine=engine, drainer=bot.drainer)
    watcher = asyncio.create_task(conversation.flows.watch(), name="flows-watch")
    return AssembledBot(bot, conversation, watcher)
