"""The Telegram bot as one unit: intake (polling or webhook) → inbox → pipeline → outbox.

    getUpdates / webhook ──► Intake (inbox, then confirm) ──► InboxDispatcher (per chat, in order)
        ──► UpdatePipeline (routers + conversation, one transaction) ──► OutboxDrainer ──► Bot API

`TelegramBot` owns the lifecycle so that polling, the webhook and tests share one code path:
start → (serve) → stop. python-telegram-bot provides the Bot API client (its real HTTP path);
updates are fetched and confirmed by our poller so that none is confirmed before it is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sqlalchemy import Engine
from sqlmodel import Session
from telegram import Bot, BotCommand, Update
from telegram.error import TelegramError

from bot.channels.dispatcher import InboxDispatcher
from bot.channels.telegram import render
from bot.channels.telegram.intake import CHANNEL, Intake
from bot.channels.telegram.logs import quiet_transport_loggers
from bot.channels.telegram.outbox import TURN_ROOM, OutboxDrainer
from bot.channels.telegram.pacing import ChatPacer, GlobalLimiter
from bot.channels.telegram.pipeline import UpdatePipeline
from bot.channels.telegram.poller import Poller
from bot.channels.telegram.routers import Router
from bot.channels.telegram.transport import bot_request
from bot.channels.telegram.webhook import WebhookServer
from bot.channels.worker import Heartbeat
from bot.conversation import TurnService
from bot.desk import service as desk
from bot.flows.registry import FlowSource
from bot.ops import metrics
from bot.ops.server import Health, OpsServer
from storage import telegram_state
from storage.inbox import Claimed
from storage.telegram_state import Enqueued, Outgoing, TelegramOutbox

log = logging.getLogger(__name__)

# Registered with setMyCommands.
PARTICIPANT_COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", "Opnieuw beginnen"),
    ("help", "Wat kan deze bot?"),
    ("menu", "Het menu met keuzes"),
    ("stop", "Stoppen met deze vraag"),
    ("taal", "Taal kiezen / choose language"),
    ("mijngegevens", "Wat bewaar je over mij?"),
    ("verwijder", "Mijn gegevens verwijderen"),
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
    rate_limit: bool = True  # 30 messages/s for the bot, ~1/s per chat (off: benchmarks)
    pacer: ChatPacer = field(default_factory=ChatPacer)
    max_concurrent_updates: int = 256
    # Turns under way + messages in hand stay below this (back-pressure, README "Overload").
    turn_room: int = TURN_ROOM
    sweep_interval: float = 2.0  # how often leftovers (restarts, other processes) are picked up
    # Polling mode: /metrics, /healthz, /readyz on a side server (0: none). Webhook mode serves
    # them on the webhook's port.
    metrics_port: int = 0
    metrics_host: str = "127.0.0.1"


class TelegramBot:
    def __init__(
        self,
        options: TelegramOptions,
        *,
        engine: Engine,
        conversation: TurnService,
        flows: FlowSource,
        routers: Sequence[Router] = (),
        coordinator_chat_id: int | None = None,
        worker_id: str | None = None,
        health: Health | None = None,
    ) -> None:
        if not options.token:
            raise MissingTokenError("TELEGRAM_BOT_TOKEN is not set")
        quiet_transport_loggers()  # PTB and httpx would log update bodies and the token
        self.options = options
        self._flows = flows
        self._coordinator = coordinator_chat_id
        self.bot = Bot(
            options.token,
            base_url=options.base_url,
            # PTB's request path on kept-alive connections of our own (transport.py).
            # (PTB's httpx request when a proxy is set for the Bot API host: it speaks to it.)
            request=bot_request(options.base_url, keep=64, read_timeout=10, connect_timeout=5),
            get_updates_request=bot_request(
                options.base_url, keep=2, read_timeout=options.poll_timeout + 10
            ),
        )
        self.heartbeat = Heartbeat(engine, worker_id)
        self.worker_id = self.heartbeat.worker_id
        self.drainer = OutboxDrainer(
            self.bot,
            engine,
            worker_id=self.worker_id,
            pacer=options.pacer if options.rate_limit else ChatPacer(rate=1e9, burst=1e9),
            limiter=GlobalLimiter() if options.rate_limit else GlobalLimiter(rate=0),
            sweep_interval=options.sweep_interval,
            on_refused=self._refused,
            turn_room=options.turn_room,
        )
        self.pipeline = UpdatePipeline(
            bot=self.bot,
            engine=engine,
            conversation=conversation,
            flows=flows,
            routers=routers,
            worker_id=self.worker_id,
            coordinator_chat_id=coordinator_chat_id,
            sent=self._enqueued,
        )
        self.dispatcher = InboxDispatcher(
            engine,
            channel=CHANNEL,
            worker_id=self.worker_id,
            process=self.pipeline.process,
            sweep_interval=options.sweep_interval,
            max_concurrent=options.max_concurrent_updates,
            # Back-pressure: a turn starts only while the outbox has room (README, Overload).
            room=self.drainer.turn_room,
        )
        self.drainer.on_freed(self.dispatcher.reconsider)
        self.intake = Intake(engine, worker_id=self.worker_id, offer=self._offer)
        self._poller: Poller | None = None
        self._webhook: WebhookServer | None = None
        self.health = health
        self._ops: OpsServer | None = None
        self.running = False
        for lanes in (self.dispatcher, self.drainer):
            metrics.watch_lane(lanes.name, lanes.depth, lanes.chats, lanes.waiting)

    @property
    def ops_port(self) -> int:
        return self._ops.port if self._ops else 0

    @property
    def webhook_port(self) -> int:
        return self._webhook.port if self._webhook else 0

    async def _start_core(self) -> None:
        await self.bot.initialize()  # getMe: a wrong token fails here
        await self.heartbeat.start()
        await self._register_commands()
        await self.drainer.start()
        await self.dispatcher.start()
        self.running = True

    async def start_polling(self) -> None:
        await self._start_core()
        await self.bot.delete_webhook()
        self._poller = Poller(
            self.bot,
            self.intake,
            timeout=self.options.poll_timeout,
            allowed_updates=ALLOWED_UPDATES,
        )
        await self._poller.start()
        if self.health is not None and self.options.metrics_port:
            ops = OpsServer(self.health)
            try:
                ops.start(listen=self.options.metrics_host, port=self.options.metrics_port)
                self._ops = ops
            except OSError as exc:  # e.g. a second worker on this machine: it still works
                log.warning(
                    "metrics port %d not available (%s): no /metrics here",
                    self.options.metrics_port,
                    type(exc).__name__,
                )

    async def start_webhook(self, url: str, *, listen: str = "127.0.0.1", port: int = 8443) -> int:
        """Serve the webhook on `listen:port` at the path of `url`; returns the bound port."""
        secret = self.options.webhook_secret
        if not secret:
            raise MissingTokenError("WEBHOOK_SECRET is required for webhook mode")
        await self._start_core()
        self._webhook = WebhookServer(
            path=urlsplit(url).path or "/", intake=self.intake, secret=secret, health=self.health
        )
        bound = self._webhook.start(listen=listen, port=port)
        await self.bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
        return bound

    async def stop(self) -> None:
        """Stop within seconds: no new updates, the ones in progress finish or roll back."""
        if self._webhook is not None:
            await self._webhook.stop()
            self._webhook = None
        if self._poller is not None:
            await self._poller.stop()
            self._poller = None
        if self._ops is not None:
            await self._ops.stop()
            self._ops = None
        await self.dispatcher.stop()
        await self.drainer.stop()
        await self.heartbeat.stop()
        await self.bot.shutdown()
        self.running = False

    def _offer(self, stored: list[Claimed]) -> None:
        self.pipeline.holding.arrived(stored)  # "Eén moment…" if they wait (holding.py)
        self.dispatcher.offer(stored)

    def _enqueued(self, enqueued: Enqueued) -> None:
        self.drainer.deliver(enqueued.claimed)
        for chat_id in enqueued.waiting:
            self.drainer.wake(chat_id)

    def wake_outbox(self, outgoing: list[Outgoing]) -> None:
        for chat_id in dict.fromkeys(item.chat_id for item in outgoing):
            self.drainer.wake(chat_id)

    def _refused(self, session: Session, row: TelegramOutbox) -> list[Outgoing]:
        """Telegram refused a message to a coach about a case: the case moves on."""
        case_id = render.case_id_of(row.ref)
        if row.kind != render.COACH_KIND or case_id is None:
            return []
        # A participant's "I passed your details to …" held back for this card never went out.
        told = not telegram_state.drop_held(session, ref=row.ref or "")
        notices = desk.coach_unreachable(
            session, case_id=case_id, coach_telegram_id=row.chat_id, participant_told=told
        )
        return render.notices(self._flows.current, notices, coordinator_chat_id=self._coordinator)

    async def _register_commands(self) -> None:
        commands = [BotCommand(name, description) for name, description in PARTICIPANT_COMMANDS]
        try:
            await self.bot.set_my_commands(commands)
        except TelegramError as exc:
            # The menu is a convenience; the bot works without it.
            log.warning("setMyCommands failed (%s)", type(exc).__name__)
