"""`careerbot run [--webhook URL] [--port N]`: the bot on Telegram (polling or webhook)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from bot.config import get_settings

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = subparsers.add_parser("run", help="run the bot on Telegram (polling, or a webhook)")
    run.add_argument(
        "--webhook",
        metavar="URL",
        help="public HTTPS URL Telegram posts updates to (needs WEBHOOK_SECRET); default: polling",
    )
    run.add_argument("--port", type=int, default=8443, help="webhook port (default 8443)")
    run.add_argument(
        "--listen", default="127.0.0.1", help="webhook address to bind (default 127.0.0.1)"
    )
    run.add_argument(
        "--no-scheduler",
        action="store_true",
        help="leave scheduled work to `careerbot scheduler` instances (by default every bot "
        "process also competes to be the one active scheduler)",
    )
    run.set_defaults(func=_run)


def _fail(message: str) -> int:
    print(f"careerbot: {message}", file=sys.stderr)
    return 1


def _run(args: argparse.Namespace) -> int:
    settings = get_settings()
    if not settings.telegram_bot_token:
        return _fail(
            "TELEGRAM_BOT_TOKEN is not set. Put it in the environment or in .env "
            "(or try the bot locally with `careerbot chat`)."
        )
    if args.webhook and not settings.webhook_secret:
        return _fail("--webhook needs WEBHOOK_SECRET (Telegram sends it with every update).")
    if args.webhook and not args.webhook.startswith("https://"):
        return _fail("the webhook URL must start with https:// (Telegram only posts to HTTPS).")
    from bot.channels.telegram.logs import quiet_transport_loggers

    quiet_transport_loggers()
    try:
        asyncio.run(_serve(args))
    except StartupError as exc:
        return _fail(str(exc))
    return 0


class StartupError(RuntimeError):
    pass


async def _serve(args: argparse.Namespace) -> None:
    from telegram.error import InvalidToken, NetworkError

    from bot.channels.telegram.wiring import build_telegram_bot
    from bot.commands.scheduler import build_scheduler
    from bot.flows.registry import FlowsInvalid

    settings = get_settings()
    try:
        assembled = await build_telegram_bot(settings)
    except FlowsInvalid as exc:
        raise StartupError(f"{exc}\nFix the flows (careerbot flows check) and try again.") from exc
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):  # POSIX only, like the rest of the set-up
        loop.add_signal_handler(sig, stop.set)
    try:
        try:
            if args.webhook:
                port = await assembled.bot.start_webhook(
                    args.webhook, listen=args.listen, port=args.port
                )
                log.info("webhook serving on %s:%d", args.listen, port)
            else:
                await assembled.bot.start_polling()
                log.info("polling Telegram; Ctrl-C stops")
        except InvalidToken as exc:
            raise StartupError("Telegram refused TELEGRAM_BOT_TOKEN (invalid token).") from exc
        except NetworkError as exc:
            raise StartupError(
                f"cannot reach the Telegram Bot API at TELEGRAM_BASE_URL ({type(exc).__name__})."
            ) from exc
        scheduler = None
        if not args.no_scheduler:
            scheduler = build_scheduler(settings, assembled.conversation)
            scheduler.on_sent(assembled.bot.wake_outbox)
            await scheduler.start()
        await stop.wait()
        if scheduler is not None:
            await scheduler.stop()
    finally:
        await assembled.aclose()
