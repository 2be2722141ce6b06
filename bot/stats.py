"""Statistics for admins: who came, what they asked, how far they got, how fast coaches took
their cases, and how participants rated it. Anonymous: erased participants still count."""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.models import (
    Case,
    CaseEvent,
    CaseEventKind,
    Direction,
    FollowUp,
    MessageLog,
    Participant,
)


@dataclass
class RegionFigures:
    cases: int = 0
    accepted: int = 0
    closed: int = 0


@dataclass
class Stats:
    participants: int = 0
    consented: int = 0
    intake_complete: int = 0  # handoffs asked for, a repeated request included
    handoffs: int = 0  # cases
    accepted: int = 0
    closed: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    intents: Counter[str] = field(default_factory=Counter)
    median_hours_to_accept: float | None = None
    ratings: Counter[int] = field(default_factory=Counter)
    regions: dict[str, RegionFigures] = field(default_factory=dict)

    @property
    def mean_rating(self) -> float | None:
        total = sum(self.ratings.values())
        return sum(r * n for r, n in self.ratings.items()) / total if total else None


def collect(session: Session, *, region: str | None = None, since: datetime | None = None) -> Stats:
    stats = Stats()
    cases_query = select(Case)
    if region:
        cases_query = cases_query.where(Case.region_code == region)
    if since:
        cases_query = cases_query.where(col(Case.created_at) >= since)
    cases = session.exec(cases_query).all()
    case_ids = [c.id for c in cases if c.id is not None]
    participants_query = select(Participant)
    if since:
        participants_query = participants_query.where(col(Participant.created_at) >= since)
    if region:  # per region, the participants are those with a case there
        participants_query = participants_query.where(
            col(Participant.id).in_({c.participant_id for c in cases})
        )
    people = session.exec(participants_query).all()
    stats.participants = len(people)
    stats.consented = sum(1 for p in people if p.consent_at is not None)
    stats.handoffs = len(cases)
    again = session.exec(
        select(func.count())
        .select_from(CaseEvent)
        .where(
            CaseEvent.kind == CaseEventKind.REQUESTED_AGAIN.value,
            col(CaseEvent.case_id).in_(case_ids),
        )
    ).one()
    stats.intake_complete = stats.handoffs + int(again)
    waits = []
    for case in cases:
        figures = stats.regions.setdefault(case.region_code or "-", RegionFigures())
        figures.cases += 1
        if case.accepted_at is not None:
            stats.accepted += 1
            figures.accepted += 1
            waits.append((case.accepted_at - case.created_at).total_seconds() / 3600)
        if case.status == "closed":
            stats.closed += 1
            figures.closed += 1
    stats.median_hours_to_accept = statistics.median(waits) if waits else None
    for detail in session.exec(
        select(CaseEvent.detail).where(
            CaseEvent.kind == CaseEventKind.CLOSED.value, col(CaseEvent.case_id).in_(case_ids)
        )
    ).all():
        stats.outcomes[str((detail or {}).get("outcome", "-"))[:60]] += 1
    intents = select(MessageLog.intent, func.count()).where(
        MessageLog.direction == Direction.IN, col(MessageLog.intent).is_not(None)
    )
    if since:
        intents = intents.where(col(MessageLog.created_at) >= since)
    if region:
        intents = intents.where(col(MessageLog.participant_id).in_([p.id for p in people]))
    for intent, count in session.exec(intents.group_by(col(MessageLog.intent))).all():
        stats.intents[str(intent)] = int(count)
    for rating in session.exec(
        select(FollowUp.rating).where(col(FollowUp.case_id).in_(case_ids))
    ).all():
        stats.ratings[int(rating)] += 1
    return stats


def funnel(stats: Stats) -> list[tuple[str, int]]:
    return [
        ("started", stats.participants),
        ("consent", stats.consented),
        ("intake complete", stats.intake_complete),
        ("handoff", stats.handoffs),
        ("accepted", stats.accepted),
        ("closed", stats.closed),
    ]


def as_text(stats: Stats) -> str:
    lines = ["Funnel:"]
    lines += [f"  {name:<16} {count:>6}" for name, count in funnel(stats)]
    hours = stats.median_hours_to_accept
    lines.append(f"Median time to accept: {f'{hours:.1f} h' if hours is not None else '-'}")
    mean = stats.mean_rating
    rated = sum(stats.ratings.values())
    lines.append(
        f"Follow-up ratings: {rated}" + (f", mean {mean:.1f} / 5" if mean is not None else "")
    )
    if stats.outcomes:
        lines.append("Outcomes: " + ", ".join(f"{o} {n}" for o, n in stats.outcomes.most_common()))
    if stats.intents:
        lines.append("Intents: " + ", ".join(f"{i} {n}" for i, n in stats.intents.most_common()))
    if stats.regions:
        lines.append("Per region (cases / accepted / closed):")
        for code, figures in sorted(stats.regions.items()):
            lines.append(
                f"  {code:<6} {figures.cases:>5} {figures.accepted:>5} {figures.closed:>5}"
            )
    return "\n".join(lines)


def as_csv(stats: Stats) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "name", "value"])
    for name, count in funnel(stats):
        writer.writerow(["funnel", name, count])
    writer.writerow(["accept", "median_hours", f"{stats.median_hours_to_accept or ''}"])
    for rating, count in sorted(stats.ratings.items()):
        writer.writerow(["rating", rating, count])
    for outcome, count in stats.outcomes.most_common():
        writer.writerow(["outcome", outcome, count])
    for intent, count in stats.intents.most_common():
        writer.writerow(["intent", intent, count])
    for code, figures in sorted(stats.regions.items()):
        writer.writerow(["region_cases", code, figures.cases])
        writer.writerow(["region_accepted", code, figures.accepted])
        writer.writerow(["region_closed", code, figures.closed])
    return out.getvalue()
