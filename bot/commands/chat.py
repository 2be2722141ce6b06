"""`careerbot chat`: talk to the bot in the terminal (bot/channels/terminal.py)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import uuid

from bot.channels import terminal
from bot.config import get_settings
from bot.flows.registry import FlowsInvalid
from bot.tasks import cancel_and_wait
from bot.wiring import build_conversation


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    chat = subparsers.add_parser("chat", help="chat with the bot in this terminal")
    chat.add_argument(
        "--user", default="local", help="who you are (a conversation is kept per user)"
    )
    chat.add_argument("--new", action="store_true", help="start as a brand-new participant")
    chat.set_defaults(func=_chat)


def _chat(args: argparse.Namespace) -> int:
    if not args.verbose:
        # Turn logs would interleave with the conversation; the NLU state is shown once.
        logging.getLogger().setLevel(logging.WARNING)
        logging.getLogger("bot.nlu.client").setLevel(logging.ERROR)
        logging.getLogger("alembic").setLevel(logging.WARNING)
    user = f"local-{uuid.uuid4().hex[:8]}" if args.new else args.user
    try:
        return asyncio.run(_session(user))
    except FlowsInvalid as exc:
        print(
            f"careerbot: {exc}\nFix the flows (careerbot flows check) and try again.",
            file=sys.stderr,
        )
        return 1


async def _session(user: str) -> int:
    settings = get_settings()
    conversation = build_conversation(settings)
    watcher = asyncio.create_task(conversation.flows.watch())
    try:
        return await terminal.chat(conversation, user, rasa_url=settings.rasa_url)
    finally:
        await cancel_and_wait(watcher)
        await conversation.aclose()
