"""The terminal chat: a channel next to Telegram, for trying the bot without a token.

Buttons are shown numbered; typing the number presses the newest ones. What a coach or the
coordinator would receive on Telegram is printed in a box.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bot.desk import render as words
from bot.desk.notices import Notice, To
from bot.engine.messages import Button, Inbound, Reply
from bot.flows.catalogue import Key
from bot.flows.flowset import FlowSet
from bot.wiring import Conversation

CHANNEL = "terminal"
EXIT_WORDS = {"exit", "quit", "/exit", "/quit", ":q"}
Write = Callable[[str], None]


def show(replies: list[Reply], write: Write = print) -> tuple[Button, ...]:
    """Print replies; return the buttons of the last reply that had any (numbered 1..n)."""
    buttons: tuple[Button, ...] = ()
    for reply in replies:
        write(
            "\n".join(
                f"bot> {line}" if i == 0 else f"     {line}"
                for i, line in enumerate(reply.text.splitlines() or [""])
            )
        )
        if reply.buttons:
            buttons = reply.buttons
            for number, button in enumerate(buttons, start=1):
                write(f"     [{number}] {button.label}")
    return buttons


def show_notices(flows: FlowSet, notices: list[Notice], write: Write = print) -> None:
    for notice in notices:
        if notice.to is To.PARTICIPANT:
            continue  # the participant here is the person at the keyboard: shown as replies
        heading = Key.TERMINAL_TO_COACH if notice.to is To.COACH else Key.TERMINAL_TO_COORDINATOR
        body = words.plain(flows, notice).replace("\n", "\n   | ")
        write(f"\n   {words.say(flows, heading, 'nl')}\n   | {body}\n")


def to_inbound(line: str, buttons: tuple[Button, ...]) -> Inbound:
    text = line.strip()
    if text.isdigit() and text.isascii() and 1 <= int(text) <= len(buttons):
        return Inbound(payload=buttons[int(text) - 1].payload)
    return Inbound(text=text)


async def chat(conversation: Conversation, user: str, *, rasa_url: str) -> int:
    service = conversation.service
    flows = service.flows
    if not await conversation.nlu.is_ready():
        print(words.say(flows, Key.TERMINAL_NLU_DOWN, "nl", {"url": rasa_url}))
    print(words.say(flows, Key.TERMINAL_HINT, "nl") + "\n")
    outcome = await service.handle(CHANNEL, user, Inbound(text="/start"))
    buttons = show(outcome.replies)
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
        outcome = await service.handle(CHANNEL, user, to_inbound(line, buttons))
        show_notices(service.flows, outcome.notices)
        buttons = show(outcome.replies)  # only the newest buttons can be pressed
