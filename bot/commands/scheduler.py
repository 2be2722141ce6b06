"""`careerbot scheduler [--once]`: the scheduled work on its own (active, or a standby).

In production: one or two of these next to the bot workers (started with --no-scheduler); with
SQLite the bot process runs the scheduler itself. Stops within seconds on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from bot.config import Settings, get_settings, timings
from bot.scheduler.runner import Scheduler
from bot.wiring import Conversation, build_conversation

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    scheduler = subparsers.add_parser(
        "scheduler", help="reminders, coach SLAs, follow-ups, digests, retention (one active)"
    )
    scheduler.add_argument("--once", action="store_true", help="do what is due now, then exit")
    scheduler.set_defaults(func=_scheduler)


def build_scheduler(settings: Settings, conversation: Conversation) -> Scheduler:
    return Scheduler(
        engine=conversation.db,
        flows=conversation.flows,
        timings=timings(settings),
        coordinator_chat_id=settings.coordinator_chat_id,
        sweep_seconds=settings.scheduler_sweep_seconds,
    )


def _scheduler(args: argparse.Namespace) -> int:
    return asyncio.run(_serve(args.once))


async def _serve(once: bool) -> int:
    settings = get_settings()
    conversation = await asyncio.to_thread(build_conversation, settings)
    scheduler = build_scheduler(settings, conversation)
    try:
        if once:
            counts = await scheduler.run_once()
            print(", ".join(f"{name}: {n}" for name, n in counts.items()))
            return 0
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await scheduler.start()
        log.info("scheduler started; Ctrl-C stops")
        await stop.wait()
        await scheduler.stop()
        return 0
    finally:
        await conversation.aclose()
