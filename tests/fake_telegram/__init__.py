"""Fake Telegram Bot API server for tests (see server.py)."""

from tests.fake_telegram.server import FakeTelegram, buttons_of

__all__ = ["FakeTelegram", "buttons_of"]
