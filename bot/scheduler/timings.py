"""When scheduled work is due. Defaults follow the product brief; Settings can change them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta


@dataclass(frozen=True)
class Timings:
    """When things are due (configurable: bot.config.Settings)."""

    remind_intake_after: timedelta = timedelta(hours=24)
    remind_intake_within: timedelta = timedelta(days=7)  # older stalls are left alone
    coach_reminder_working_days: int = 1
    coach_escalation_working_days: int = 2
    follow_up_after: timedelta = timedelta(days=28)
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    digest_from: time = time(9, 0)
    digest_until: time = time(12, 0)  # a scheduler down at 9:00 still sends it this morning
    digest_every_day: bool = False
    retention: timedelta = timedelta(days=365)
    keep_sent_text: timedelta = timedelta(days=2)  # then outbox rows keep no message text
