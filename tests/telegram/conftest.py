"""Telegram test fixtures live in tests/fake_telegram/fixtures.py; re-exported for this folder."""

from tests.fake_telegram.fixtures import fake_telegram, start_bot, telegram_db

__all__ = ["fake_telegram", "start_bot", "telegram_db"]
