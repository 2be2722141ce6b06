"""Coach assignment: region, fewest open cases, capacity, active; else the coordinator."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from storage.cases import create_case, list_case_events, set_case_status
from storage.coaches import add_coach, list_coaches, pick_coach, set_coach_active
from storage.database import create_db_engine, session_scope
from storage.models import CaseStatus, Union
from storage.participants import get_or_create_participant


def new_case(engine: Engine, region: str | None, user: str = "p") -> tuple[int, str | None]:
    with session_scope(engine) as session:
        participant = get_or_create_participant(session, channel="test", external_id=user)
        case, coach = create_case(
            session,
            participant_id=participant.id or 0,
            region_code=region,
            topic="job_loss",
            language="nl",
            summary=[{"slot": "first_name", "label": "Voornaam", "value": "Jan"}],
        )
        return case.id or 0, coach.name if coach else None


def register(engine: Engine, name: str, telegram_id: int, regions: list[str], capacity: int = 10):
    with session_scope(engine) as session:
        add_coach(
            session,
            name=name,
            telegram_id=telegram_id,
            union=Union.CNV,
            regions=regions,
            capacity=capacity,
        )


def assignment_rules(engine: Engine) -> None:
    register(engine, "Anna", 1, ["AM18"], capacity=2)
    register(engine, "Bram", 2, ["AM18", "AM13"])
    register(engine, "Cees", 3, ["AM13"])
    # Fewest open cases wins; ties go to the coach registered first.
    assert [new_case(engine, "AM18", f"p{i}")[1] for i in range(4)] == [
        "Anna",
        "Bram",
        "Anna",
        "Bram",
    ]
    # Anna is at capacity (2): Bram gets the next ones although he has as many open cases.
    assert new_case(engine, "AM18", "p4")[1] == "Bram"
    # Only coaches covering the region are considered.
    assert new_case(engine, "AM13", "p5")[1] == "Cees"
    # A closed case frees capacity.
    with session_scope(engine) as session:
        from storage.cases import get_case

        case = get_case(session, case_id=1)
        assert case is not None
        set_case_status(session, case=case, status=CaseStatus.CLOSED)
    assert new_case(engine, "AM18", "p6")[1] == "Anna"
    # Inactive coaches get nothing; with nobody left the coordinator takes it.
    with session_scope(engine) as session:
        for load in list_coaches(session):
            if load.coach.name in {"Bram"}:
                set_coach_active(session, coach=load.coach, active=False)
    case_id, coach = new_case(engine, "AM18", "p7")
    assert coach is None
    assert new_case(engine, None, "p8")[1] is None  # no region known
    assert new_case(engine, "AM01", "p9")[1] is None  # nobody covers it
    with session_scope(engine) as session:
        kinds = [e.kind for e in list_case_events(session, case_id=case_id)]
        assert kinds == ["created", "to_coordinator"]
        assert pick_coach(session, region_code="AM13") is not None
        loads = {load.coach.name: load.open_cases for load in list_coaches(session)}
        assert loads == {"Anna": 2, "Bram": 3, "Cees": 1}


def test_assignment_rules_sqlite(sqlite_url):
    assignment_rules(create_db_engine(sqlite_url))


@pytest.mark.postgres
def test_assignment_rules_postgres(postgres_schema_url):
    assignment_rules(create_db_engine(postgres_schema_url))
