"""Working days (Dutch public holidays from the `holidays` package) and quiet hours, in the
Europe/Amsterdam time zone whatever the server's zone is."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

TZ = ZoneInfo("Europe/Amsterdam")


@lru_cache(maxsize=8)
def _holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("NL", years=year))


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year)


def local(moment: datetime) -> datetime:
    return moment.astimezone(TZ)


def add_working_days(start: datetime, days: int) -> datetime:
    """The same time of day `days` working days later (weekends and holidays skipped).

    Assigned on Friday 15:00 with 1 working day: Monday 15:00 (Tuesday after Easter Monday).
    """
    moment = local(start)
    day = moment.date()
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return datetime.combine(day, moment.timetz())


def quiet(moment: datetime, *, start: time, end: time) -> bool:
    """Within the quiet hours (e.g. 21:00-08:00): no scheduled message to a participant."""
    now = local(moment).time()
    if start <= end:
        return start <= now < end
    return now >= start or now < end


def next_morning(moment: datetime, *, end: time) -> datetime:
    """When the quiet hours that contain `moment` end."""
    at = local(moment)
    morning = datetime.combine(at.date(), end, tzinfo=TZ)
    return morning if morning > at else morning + timedelta(days=1)
