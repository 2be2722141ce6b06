"""Telegram channel: a thin adapter between python-telegram-bot 22 and the conversation core."""
