"""`careerbot chat`: talk to the bot in the terminal. Buttons are numbered; type the number."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import uuid

from bot.config import get_settings
from bot.engine.messages import Button, Inbound, Reply
from bot.flows.registry import FlowsInvalid
from bot.handoff import PrintingNotifier
from bot.wiring import build_conversation

CHANNEL = "terminal"
EXIT_WORDS = {"exit", "quit", "/exit", "/quit", ":q"}


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


def show(replies: list[Reply]) -> tuple[Button, ...]:
    """Print replies; return the buttons of the last reply that had any (numbered 1..n)."""
    buttons: tuple[Button, ...] = ()
    for reply in replies:
        print(
            "\n".join(
                f"bot> {line}" if i == 0 else f"     {line}"
                for i, line in enumerate(reply.text.splitlines() or [""])
            )
        )
        if reply.buttons:
            buttons = reply.buttons
            for number, button in enumerate(buttons, start=1):
                print(f"     [{number}] {button.label}")
    return buttons


def to_inbound(line: str, buttons: tuple[Button, ...]) -> Inbound:
    text = line.strip()
    if text.isdigit() and 1 <= int(text) <= len(buttons):
        return Inbound(payload=buttons[int(text) - 1].payload)
    return Inbound(text=text)


async def _session(user: str) -> int:
    settings = get_settings()
    conversation = build_conversation(settings, notifier=PrintingNotifier())
    watcher = asyncio.create_task(conversation.flows.watch())
    try:
        if not await conversation.nlu.is_ready():
            print(
                f"(Rasa NLU is not reachable at {settings.rasa_url}: the bot answers with "
                "buttons and keywords only. Start it with `careerbot nlu serve`.)"
            )
        print("(Type your message; a number presses a button; exit or Ctrl-D quits.)\n")
        buttons = show(await conversation.service.handle(CHANNEL, user, Inbound(text="/start")))
        while True:
            try:
                line = await asyncio.to_thread(input, "you> ")
            except EOFError:
                print()
                return 0
            if line.strip().lower() in EXIT_WORDS:
                return 0
            if not line.strip():
                continue
            replies = await conversation.service.handle(CHANNEL, user, to_inbound(line, buttons))
            buttons = show(replies)  # only the newest buttons can be pressed
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        await conversation.aclose()
