"""Assembling and running the Telegram bot: PTB Application + channel + outbox drainer.

`TelegramBot` owns the lifecycle so that polling, the webhook and tests share one code path:
start → (serve) → stop. The same database lets a new instance pick up where an old one died.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sqlalchemy import Engine
from telegram import BotCommand, Update
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, ApplicationBuilder, ContextTypes, TypeHandler

from bot.channels.telegram.channel import TelegramChannel
from bot.channels.telegram.outbox import OutboxDrainer
from bot.channels.telegram.pacing import ChatPacer
from bot.channels.telegram.ports import ConversationHandler, Router
from bot.channels.telegram.processor import PerChatUpdateProcessor
from bot.channels.telegram.webhook import WebhookServer
from bot.flows.registry import FlowSource

log = logging.getLogger(__name__)

# Registered with setMyCommands; only commands that work (privacy commands come later).
PARTICIPANT_COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", "Opnieuw beginnen"),
    ("help", "Wat kan deze bot?"),
    ("menu", "Het menu met keuzes"),
    ("stop", "Stoppen met deze vraag"),
    ("taal", "Taal kiezen / choose language"),
)
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]


class MissingTokenError(RuntimeError):
    """TELEGRAM_BOT_TOKEN is not set."""


@dataclass
class TelegramOptions:
    token: str
    base_url: str
    webhook_secret: str | None = None
    poll_timeout: int = 10  # seconds one getUpdates long-poll may wait
    rate_limit: bool = True  # AIORateLimiter: 30/s overall, 20/min per group, pauses on 429
    pacer: ChatPacer = field(default_factory=ChatPacer)
    max_concurrent_updates: int = 256
    outbox_sweep_interval: float = 5.0


class TelegramBot:
    def __init__(
        self,
        options: TelegramOptions,
        *,
        engine: Engine,
        conversation: ConversationHandler,
        flows: FlowSource,
        routers: Sequence[Router] = (),
    ) -> None:
        if not options.token:
            raise MissingTokenError("TELEGRAM_BOT_TOKEN is not set")
        self.options = options
        # Rate limits off (benchmarks of the raw path) = a limiter with no limits.
        limiter = (
            AIORateLimiter(max_retries=1)
            if options.rate_limit
            else AIORateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=1)
        )
        self.application = (
            ApplicationBuilder()
            .rate_limiter(limiter)
            .token(options.token)
            .base_url(options.base_url)
            .concurrent_updates(PerChatUpdateProcessor(options.max_concurrent_updates))
            # Enough connections for concurrent sends and a long-poll at the same time.
            .connection_pool_size(64)
            .get_updates_read_timeout(options.poll_timeout + 10)
            .build()
        )
        self.drainer = OutboxDrainer(
            self.application.bot,
            engine,
            pacer=options.pacer,
            sweep_interval=options.outbox_sweep_interval,
        )
        self.channel = TelegramChannel(
            engine=engine,
            conversation=conversation,
            drainer=self.drainer,
            flows=flows,
            routers=routers,
        )
        self.application.add_handler(TypeHandler(Update, self.channel.on_update))
        self.application.add_error_handler(_log_error)
        self._webhook: WebhookServer | None = None

    @property
    def webhook_port(self) -> int:
        return self._webhook.port if self._webhook else 0

    async def _start_core(self) -> None:
        await self.application.initialize()
        await self.application.start()
        await self._register_commands()
        await self.drainer.start()

    async def start_polling(self) -> None:
        await self._start_core()
        await self.application.bot.delete_webhook()
        updater = self.application.updater
        assert updater is not None
        await updater.start_polling(
            timeout=self.options.poll_timeout,
            poll_interval=0,
            allowed_updates=ALLOWED_UPDATES,
            bootstrap_retries=-1,
        )

    async def start_webhook(self, url: str, *, listen: str = "127.0.0.1", port: int = 8443) -> int:
        """Serve the webhook on `listen:port` at the path of `url`; returns the bound port."""
        secret = self.options.webhook_secret
        if not secret:
            raise MissingTokenError("WEBHOOK_SECRET is required for webhook mode")
        await self._start_core()
        self._webhook = WebhookServer(
            path=urlsplit(url).path or "/",
            bot=self.application.bot,
            queue=self.application.update_queue,
            secret=secret,
        )
        bound = self._webhook.start(listen=listen, port=port)
        await self.application.bot.set_webhook(
            url, secret_token=secret, allowed_updates=ALLOWED_UPDATES
        )
        return bound

    async def stop(self) -> None:
        if self._webhook is not None:
            await self._webhook.stop()
            self._webhook = None
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self.application.running:
            await self.application.stop()
        await self.drainer.stop()
        await self.application.shutdown()

    async def _register_commands(self) -> None:
        commands = [BotCommand(name, description) for name, description in PARTICIPANT_COMMANDS]
        try:
            await self.application.bot.set_my_commands(commands)
        except TelegramError as exc:
            # The menu is a convenience; the bot works without it.
            log.warning("setMyCommands failed (%s)", type(exc).__name__)


async def _log_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    # PTB's default handler logs the whole update (message text, names): log the type only.
    error = context.error
    log.error(
        "error while handling an update: %s",
        type(error).__name__,
        exc_info=None if isinstance(error, TelegramError) else error,
    )


async def serve_until(stop: asyncio.Event, bot: TelegramBot) -> None:
    try:
        await stop.wait()
    finally:
        await bot.stop()
