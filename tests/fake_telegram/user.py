"""A simulated Telegram user for end-to-end tests: types, presses buttons, reads answers."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.fake_telegram.server import FakeTelegram, buttons_of


class TelegramUser:
    def __init__(
        self, fake: FakeTelegram, user_id: int, first_name: str = "Sam", *, quiet: float = 0.3
    ) -> None:
        self.fake = fake
        self.quiet = quiet  # how long nothing new means the bot has finished answering
        self.id = user_id
        self.first_name = first_name
        self.seen = 0  # messages already read

    @property
    def inbox(self) -> list[dict[str, Any]]:
        return self.fake.sent[self.id]

    async def read(
        self, *, timeout: float = 15.0, quiet: float | None = None
    ) -> list[dict[str, Any]]:
        """Wait for at least one new message, then until nothing new came for `quiet` seconds."""
        quiet = self.quiet if quiet is None else quiet
        await self.fake.wait_for(self.id, 1, since=self.seen, timeout=timeout)
        count = -1
        deadline = time.monotonic() + timeout
        while count != len(self.inbox) and time.monotonic() < deadline:
            count = len(self.inbox)
            await asyncio.sleep(quiet)
        new = self.inbox[self.seen :]
        self.seen = len(self.inbox)
        return new

    async def nothing_new(self, wait: float = 1.0) -> bool:
        await asyncio.sleep(wait)
        return len(self.inbox) == self.seen

    async def say(self, text: str, **kwargs: Any) -> list[dict[str, Any]]:
        await self.fake.send_text(self.id, text, first_name=self.first_name, **kwargs)
        return await self.read()

    async def send(self, text: str, **kwargs: Any) -> None:
        """Type without waiting for an answer (for messages that get none)."""
        await self.fake.send_text(self.id, text, first_name=self.first_name, **kwargs)

    def last_with_buttons(self) -> dict[str, Any]:
        message: dict[str, Any]
        for message in reversed(self.inbox):
            if len(buttons_of(message)) > 1 or (
                buttons_of(message) and buttons_of(message)[0]["callback_data"] != "x"
            ):
                return message
        raise AssertionError(f"no message with buttons in {self.texts()}")

    async def press(
        self, label: str, message: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        if message is None:
            try:
                message = self.last_with_buttons()
            except AssertionError:  # the rest of the answer is still on its way (a busy machine)
                await self.read(timeout=10)
                message = self.last_with_buttons()
        matches = [b for b in buttons_of(message) if label.lower() in b["text"].lower()]
        assert matches, (
            f"no button {label!r} in {[b['text'] for b in buttons_of(message)]};"
            f" last messages: {self.texts()[-4:]}"
        )
        await self.fake.press(
            self.id, message, matches[0]["callback_data"], first_name=self.first_name
        )
        return await self.read()

    def texts(self) -> list[str]:
        return self.fake.texts(self.id)

    @property
    def last_text(self) -> str:
        return self.texts()[-1] if self.texts() else ""
