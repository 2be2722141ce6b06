"""The coach desk (bot/desk): assignment, capacity under concurrency, one open case per
participant, who may do what, coaches who stop or cannot be reached, the coordinator.

Every rule runs on SQLite and on the real PostgreSQL.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from bot.desk import service as desk
from bot.desk.notices import Notice, To, Verb
from storage.cases import get_case, list_case_events
from storage.coaches import add_coach, coach_by_telegram_id, list_coaches
from storage.database import create_db_engine, session_scope
from storage.models import Case, CaseRelay, CaseStatus, Union
from storage.participants import get_or_create_participant

SUMMARY = [
    {"slot": "first_name", "label": "Voornaam", "value": "Jan", "raw": "Jan", "role": "first_name"}
]


def request(engine: Engine, region: str | None, user: str = "p") -> desk.Handoff:
    with session_scope(engine) as session:
        participant = get_or_create_participant(session, channel="telegram", external_id=user)
        return desk.handoff(
            session,
            participant_id=participant.id or 0,
            region_code=region,
            topic="job_loss",
            language="nl",
            summary=SUMMARY,
        )


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


def coach(engine: Engine, telegram_id: int) -> desk.CoachRef:
    with session_scope(engine) as session:
        found = coach_by_telegram_id(session, telegram_id=telegram_id)
        assert found is not None
        return desk.coach_ref(found)


def status(engine: Engine, case_id: int) -> tuple[str, int | None]:
    with Session(engine) as session:
        case = get_case(session, case_id=case_id)
        assert case is not None
        return case.status, case.coach_id


def act(engine: Engine, operation, **kwargs) -> list[Notice]:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return list(operation(session, **kwargs))


def name_of(handoff: desk.Handoff) -> str | None:
    return handoff.coach.name if handoff.coach else None


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest) -> Engine:
    if request.param == "sqlite":
        return create_db_engine(request.getfixturevalue("sqlite_url"))
    return create_db_engine(request.getfixturevalue("postgres_schema_url"))


def test_assignment_region_load_capacity_and_coordinator(db):
    register(db, "Anna", 1, ["AM18"], capacity=2)
    register(db, "Bram", 2, ["AM18", "AM13"])
    register(db, "Cees", 3, ["AM13"])
    # Fewest open cases wins; ties go to the coach registered first.
    assert [name_of(request(db, "AM18", f"p{i}")) for i in range(4)] == [
        "Anna",
        "Bram",
        "Anna",
        "Bram",
    ]
    assert name_of(request(db, "AM18", "p4")) == "Bram"  # Anna is at capacity (2)
    assert name_of(request(db, "AM13", "p5")) == "Cees"  # only coaches of the region
    first = request(db, "AM01", "p6")  # nobody covers it: the coordinator, with buttons
    assert first.coach is None
    [card] = first.notices
    assert card.to is To.COORDINATOR and card.case_id == first.case_id
    assert [a.verb for a in card.actions] and all(a.verb is Verb.ASSIGN for a in card.actions)
    assert (
        card.actions[0].coach is not None and card.actions[0].coach.name == "Cees"
    )  # least loaded
    with session_scope(db) as session:
        kinds = [e.kind for e in list_case_events(session, case_id=first.case_id)]
        assert kinds == ["created", "to_coordinator"]
        loads = {load.coach.name: load.open_cases for load in list_coaches(session)}
        assert loads == {"Anna": 2, "Bram": 3, "Cees": 1}


def test_one_open_case_per_participant_a_new_request_goes_to_its_coach(db):
    register(db, "Anna", 1, ["AM18"])
    register(db, "Bram", 2, ["AM18"])
    first = request(db, "AM18", "same")
    again = request(db, "AM18", "same")
    assert again.existing and again.case_id == first.case_id
    [notice] = again.notices
    assert notice.to is To.COACH and notice.coach == first.coach
    assert notice.key == "desk_requested_again"
    with Session(db) as session:
        assert len(session.exec(Case.__table__.select()).all()) == 1  # type: ignore[attr-defined]


def test_repeated_requests_tell_the_coach_once_a_day(db):
    """Issue 21, finding 5: a participant asking again and again (19 times in the audit) gives
    the coach one notice a day per case; every request is still recorded."""
    register(db, "Anna", 1, ["AM18"])
    first = request(db, "AM18", "insistent")
    notices = [notice for _ in range(5) for notice in request(db, "AM18", "insistent").notices]
    assert [notice.key for notice in notices] == ["desk_requested_again"]
    with Session(db) as session:
        kinds = [e.kind for e in list_case_events(session, case_id=first.case_id)]
    assert kinds.count("requested_again") == 5


def test_who_may_do_what_in_which_state(db):
    register(db, "Anna", 1, ["AM18"])
    register(db, "Bram", 2, ["AM18"])
    handoff = request(db, "AM18", "p1")
    anna, bram = coach(db, 1), coach(db, 2)
    case_id = handoff.case_id
    # Someone else's case looks like a case that does not exist.
    [refused] = act(db, desk.accept, case_id=case_id, coach=bram)
    assert refused.key == "desk_not_yours"
    [refused] = act(db, desk.message_participant, case_id=case_id, coach=anna, text="hoi")
    assert refused.key == "desk_accept_first"
    notices = act(db, desk.accept, case_id=case_id, coach=anna)
    assert [n.to for n in notices] == [To.COACH, To.PARTICIPANT]
    assert status(db, case_id) == (CaseStatus.ACCEPTED, anna.id)
    [refused] = act(db, desk.decline, case_id=case_id, coach=anna)
    assert refused.key == "desk_already_accepted"
    [to_participant] = act(db, desk.message_participant, case_id=case_id, coach=anna, text="hoi")
    assert to_participant.to is To.PARTICIPANT and to_participant.quote == "hoi"
    notices = act(db, desk.close, case_id=case_id, coach=anna, outcome="werk gevonden")
    assert [n.key for n in notices] == ["desk_closed", "case_closed"]
    [refused] = act(db, desk.close, case_id=case_id, coach=anna, outcome="nog eens")
    assert refused.key == "desk_case_is_closed"


def test_closing_a_never_accepted_case_tells_the_participant(db):
    register(db, "Anna", 1, ["AM18"])
    handoff = request(db, "AM18", "p1")
    notices = act(db, desk.close, case_id=handoff.case_id, coach=coach(db, 1), outcome="dubbel")
    assert [n.key for n in notices] == ["desk_closed", "case_request_closed"]


def test_decline_goes_to_the_next_coach_then_the_coordinator(db):
    register(db, "Anna", 1, ["AM18"])
    register(db, "Bram", 2, ["AM18"])
    case_id = request(db, "AM18", "p1").case_id
    notices = act(db, desk.decline, case_id=case_id, coach=coach(db, 1))
    assert [n.key for n in notices] == ["desk_declined", "desk_case_new"]
    assert status(db, case_id) == (CaseStatus.ASSIGNED, coach(db, 2).id)
    notices = act(db, desk.decline, case_id=case_id, coach=coach(db, 2))
    assert notices[-1].to is To.COORDINATOR and notices[-1].actions == ()  # nobody left
    assert status(db, case_id) == (CaseStatus.NEW, None)


def test_the_coordinator_assigns_by_button(db):
    register(db, "Anna", 1, ["AM13"])
    handoff = request(db, "AM01", "p1")  # nobody in AM01
    [card] = handoff.notices
    anna = card.actions[0].coach
    assert anna is not None
    notices = act(db, desk.assign, case_id=handoff.case_id, coach_id=anna.id)
    assert [n.to for n in notices] == [To.COORDINATOR, To.COACH]
    assert notices[1].actions[0].verb is Verb.ACCEPT
    assert status(db, handoff.case_id) == (CaseStatus.ASSIGNED, anna.id)
    [stale] = act(db, desk.assign, case_id=handoff.case_id, coach_id=anna.id)
    assert stale.key == "desk_assign_stale"


def test_a_deactivated_coach_loses_the_live_chat_and_the_cases(db):
    register(db, "Anna de Vries", 1, ["AM18"])
    register(db, "Bram", 2, ["AM18"])
    case_id = request(db, "AM18", "p1").case_id
    act(db, desk.accept, case_id=case_id, coach=coach(db, 1))
    with session_scope(db) as session:
        pid = get_or_create_participant(session, channel="telegram", external_id="p1").id or 0
        assert desk.live_chat(session, participant_id=pid) is not None
        anna = coach_by_telegram_id(session, telegram_id=1)
        assert anna is not None
        notices = desk.deactivate(session, coach=anna)
    # The live chat ended at once; the case went to Bram (who must accept it).
    with Session(db) as session:
        relay = session.get(CaseRelay, case_id)
        assert relay is not None and relay.active is False
        assert desk.live_chat(session, participant_id=pid) is None
        assert desk.relay_to_coach(session, participant_id=pid, text="06 12345678") is None
    assert status(db, case_id) == (CaseStatus.ASSIGNED, coach(db, 2).id)
    told = [n for n in notices if n.to is To.PARTICIPANT]
    assert [n.key for n in told] == ["coach_replaced"]
    assert told[0].params == {"old": "Anna", "coach": "Bram", "union": "CNV"}


def test_an_unreachable_coach_is_passed_over(db):
    register(db, "Anna", 1, ["AM18"])
    register(db, "Bram", 2, ["AM18"])
    case_id = request(db, "AM18", "p1").case_id
    notices = act(db, desk.coach_unreachable, case_id=case_id, coach_telegram_id=1)
    assert status(db, case_id) == (CaseStatus.ASSIGNED, coach(db, 2).id)
    assert [n.key for n in notices] == ["desk_case_new", "coach_replaced"]
    # Anna gets no new cases until she writes to the bot again.
    assert name_of(request(db, "AM18", "p2")) == "Bram"
    with session_scope(db) as session:
        anna = coach_by_telegram_id(session, telegram_id=1)
        assert anna is not None
        desk.coach_reachable(session, coach=anna)
    assert name_of(request(db, "AM18", "p3")) == "Anna"


def test_participant_can_always_leave_the_live_chat(db):
    register(db, "Anna", 1, ["AM18"])
    case_id = request(db, "AM18", "p1").case_id
    act(db, desk.accept, case_id=case_id, coach=coach(db, 1))
    with session_scope(db) as session:
        pid = get_or_create_participant(session, channel="telegram", external_id="p1").id or 0
        notices = desk.participant_leaves(session, participant_id=pid)
    assert notices is not None and [n.key for n in notices] == [
        "desk_participant_left",
        "left_live_chat",
    ]
    assert status(db, case_id) == (CaseStatus.ACCEPTED, coach(db, 1).id)  # still her case


@pytest.mark.postgres
def test_capacity_holds_when_handoffs_race(postgres_schema_url):
    """Eight handoffs at the same moment for a region with room for three: exactly three."""
    engine = create_db_engine(postgres_schema_url, pool_size=10)
    register(engine, "Anna", 1, ["AM18"], capacity=2)
    register(engine, "Bram", 2, ["AM18"], capacity=1)
    barrier = threading.Barrier(8)
    results: list[str | None] = []

    def one(n: int) -> None:
        barrier.wait()
        results.append(name_of(request(engine, "AM18", f"race{n}")))

    threads = [threading.Thread(target=one, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r or "-" for r in results) == ["-"] * 5 + ["Anna", "Anna", "Bram"]
    with Session(engine) as session:
        loads = {load.coach.name: load.open_cases for load in list_coaches(session)}
    assert loads == {"Anna": 2, "Bram": 1}


@pytest.mark.postgres
def test_one_open_case_when_requests_race(postgres_schema_url):
    engine = create_db_engine(postgres_schema_url, pool_size=10)
    register(engine, "Anna", 1, ["AM18"])
    barrier = threading.Barrier(5)
    ids: list[int] = []

    def one() -> None:
        barrier.wait()
        ids.append(request(engine, "AM18", "twice").case_id)

    threads = [threading.Thread(target=one) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(ids)) == 1


def test_the_coordinator_reassigns_an_accepted_case_and_everyone_is_told(db):
    register(db, "Anna de Vries", 1, ["AM13"])
    register(db, "Bram Jansen", 2, ["AM13"])
    handoff = request(db, "AM13", "p1")
    anna, bram = coach(db, 1), coach(db, 2)
    act(db, desk.accept, case_id=handoff.case_id, coach=anna)
    notices = act(db, desk.reassign, case_id=handoff.case_id, coach_id=bram.id)
    assert status(db, handoff.case_id) == (CaseStatus.ASSIGNED, bram.id)
    told = {(n.to, n.key) for n in notices}
    assert (To.COACH, "desk_case_new") in told  # Bram gets the card with Accept / Decline
    assert (To.COACH, "desk_reassigned_away") in told  # Anna hears where it went
    assert (To.PARTICIPANT, "coach_replaced") in told  # the participant is told the truth
    with session_scope(db) as session:
        relay = session.get(CaseRelay, handoff.case_id)
        assert relay is not None and not relay.active  # Anna's live chat ended
    # Bram cannot be given the case he already has; a closed case cannot be moved.
    [refused] = act(db, desk.reassign, case_id=handoff.case_id, coach_id=bram.id)
    assert refused.key == "desk_assign_coach_gone"
    act(db, desk.close, case_id=handoff.case_id, coach=bram, outcome="werk gevonden")
    [stale] = act(db, desk.reassign, case_id=handoff.case_id, coach_id=anna.id)
    assert stale.key == "desk_assign_stale"


def edit_coach(db: Engine, telegram_id: int, *, regions: list[str], role: str) -> list[Notice]:
    """What the admin page does when it saves a coach: new regions and role, then the cases
    the coach no longer holds move on."""
    from storage.coaches import coach_regions, set_regions

    with session_scope(db) as session:
        found = coach_by_telegram_id(session, telegram_id=telegram_id)
        assert found is not None and found.id is not None
        before = coach_regions(session, coach_id=found.id)
        role_before = found.role
        found.role = role
        session.add(found)
        set_regions(session, coach_id=found.id, regions=regions)
        return desk.coach_changed(
            session, coach=found, regions_before=before, role_before=role_before
        )


def test_a_coach_whose_regions_or_role_change_strands_no_case(db):
    register(db, "Anna de Vries", 1, ["AM13", "AM18"])
    register(db, "Bram Jansen", 2, ["AM18"])
    utrecht = request(db, "AM13", "p1").case_id  # Anna: the only coach of AM13
    eindhoven = request(db, "AM18", "p2").case_id  # Bram: Anna has one open case already
    assert status(db, eindhoven) == (CaseStatus.ASSIGNED, coach(db, 2).id)  # least loaded
    other = request(db, "AM18", "p3").case_id  # one each: the first registered, Anna
    anna = coach(db, 1)
    act(db, desk.accept, case_id=utrecht, coach=anna)
    assert status(db, other)[1] == anna.id

    # Anna no longer covers AM13: her accepted Utrecht case has nobody else in its region, so
    # it goes back to the region's queue (the coordinator), the live chat ends, the
    # participant hears the truth, Anna hears where it went; her AM18 case stays hers.
    notices = edit_coach(db, 1, regions=["AM18"], role="coach")
    assert status(db, utrecht) == (CaseStatus.NEW, None)
    assert status(db, other) == (CaseStatus.ASSIGNED, anna.id)
    with Session(db) as session:
        relay = session.get(CaseRelay, utrecht)
        assert relay is not None and not relay.active
        kinds = [e.kind for e in list_case_events(session, case_id=utrecht)]
    assert kinds[-2:] == ["coach_changed", "to_coordinator"]
    told = {(n.to, n.key) for n in notices}
    assert told == {
        (To.COORDINATOR, "desk_for_coordinator"),
        (To.PARTICIPANT, "coach_searching"),
        (To.COACH, "desk_moved_away"),
    }
    moved = next(n for n in notices if n.key == "desk_moved_away")
    assert moved.params == {"case": str(utrecht), "to": "@desk_to_queue"}

    # Anna becomes a coordinator: she holds no case any more; Bram (AM18, with room) gets it.
    notices = edit_coach(db, 1, regions=["AM18"], role="coordinator")
    assert status(db, other) == (CaseStatus.ASSIGNED, coach(db, 2).id)
    assert {(n.to, n.key) for n in notices} == {
        (To.COACH, "desk_case_new"),  # Bram's card, with Accept / Decline
        (To.PARTICIPANT, "coach_replaced"),
        (To.COACH, "desk_moved_away"),
    }
    # A change that takes nothing away moves nothing.
    assert edit_coach(db, 2, regions=["AM18", "AM13"], role="coach") == []
