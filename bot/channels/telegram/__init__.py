"""Telegram channel: a thin adapter between python-telegram-bot 22 and the conversation core."""

import os

# PTB 22 warns on every 429 that `retry_after` will become a timedelta; opt in now (the outbox
# handles both forms).
os.environ.setdefault("PTB_TIMEDELTA", "1")
