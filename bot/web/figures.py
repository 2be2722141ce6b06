"""The statistics page's figures: the same collection as `careerbot stats` (bot/stats.py),
plus the series the pictures need (cases per week, time to accept in buckets)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from bot import stats
from bot.scheduler.calendar import local
from storage.models import Case

WEEKS = 12
WAIT_BUCKETS: tuple[tuple[str, float], ...] = (
    ("< 1 u", 1),
    ("1–4 u", 4),
    ("4–24 u", 24),
    ("1–2 d", 48),
    ("2–5 d", 120),
    ("> 5 d", float("inf")),
)


@dataclass
class Figures:
    all: stats.Stats
    per_region: list[tuple[str, stats.Stats]]
    weeks: list[tuple[str, int]]  # cases created per ISO week
    waits: list[tuple[str, int]]


def collect(session: Session, *, region: str | None, now: datetime) -> Figures:
    overall = stats.collect(session, region=region)
    regions = [region] if region else sorted(code for code in overall.regions if code != "-")
    per_region = [(code, stats.collect(session, region=code)) for code in regions]
    query = select(Case.created_at, Case.accepted_at)
    if region:
        query = query.where(Case.region_code == region)
    since = now - timedelta(weeks=WEEKS)
    created: Counter[str] = Counter()
    waits: Counter[str] = Counter()
    for created_at, accepted_at in session.exec(query).all():
        if created_at >= since:
            year, week, _ = local(created_at).isocalendar()
            created[f"{year}-w{week:02d}"] += 1
        if accepted_at is not None:
            hours = (accepted_at - created_at).total_seconds() / 3600
            label = next(name for name, limit in WAIT_BUCKETS if hours < limit)
            waits[label] += 1
    weeks = []
    for back in range(WEEKS - 1, -1, -1):
        year, week, _ = local(now - timedelta(weeks=back)).isocalendar()
        key = f"{year}-w{week:02d}"
        weeks.append((f"w{week:02d}", created.get(key, 0)))
    return Figures(
        all=overall,
        per_region=per_region,
        weeks=weeks,
        waits=[(name, waits.get(name, 0)) for name, _ in WAIT_BUCKETS],
    )
