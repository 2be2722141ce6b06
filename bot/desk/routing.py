"""Who gets a case: the handoff, the least loaded coach of the region, the coordinator when
nobody can, and moving a case on when its coach declines, stops, cannot be reached or does
not answer in time.

Capacity is counted with the region locked, so two handoffs at once cannot both take a
coach's last place; a participant has at most one open case (the database enforces it too).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time

from sqlmodel import Session

from bot.desk.notices import Action, CoachRef, Notice, To, Verb
from bot.desk.people import card_of, coach_ref, participant_ref, to_participant
from bot.desk.states import locked_case, record
from bot.flows.catalogue import Key
from bot.scheduler.calendar import TZ, local
from storage import cases as store
from storage.coaches import (
    CoachLoad,
    coach_regions,
    coaches_for_region,
    get_coach,
    list_coaches,
    pick_coach,
)
from storage.database import lock_key
from storage.models import Case, CaseEventKind, CaseStatus, Coach, Role, utcnow

MAX_ASSIGN_BUTTONS = 5


@dataclass(frozen=True, slots=True)
class Handoff:
    case_id: int
    coach: CoachRef | None  # None: the coordinator has it
    existing: bool  # the participant already had an open case; the request was added to it
    notices: list[Notice]


def handoff(
    session: Session,
    *,
    participant_id: int,
    region_code: str | None,
    topic: str | None,
    language: str,
    summary: list[dict[str, str]],
) -> Handoff:
    """A new request for a coach. With an open case already, it goes to that case's coach —
    told at most once a day per case (the participant may ask as often as they like; the
    coach's chat must not fill up with it)."""
    lock_key(session, f"participant:{participant_id}")
    existing = store.open_case_of_participant(session, participant_id=participant_id)
    if existing is not None:
        assert existing.id is not None
        existing.summary = summary  # the newest answers
        today = datetime.combine(local(utcnow()).date(), time(0), tzinfo=TZ)
        asked_today = store.count_case_events(
            session, case_id=existing.id, kind=CaseEventKind.REQUESTED_AGAIN, since=today
        )
        record(
            session,
            existing,
            CaseEventKind.REQUESTED_AGAIN,
            coach=existing.coach_id,
            detail={"topic": topic},
        )
        coach = get_coach(session, coach_id=existing.coach_id) if existing.coach_id else None
        ref = coach_ref(coach) if coach is not None else None
        if asked_today:
            return Handoff(existing.id, ref, True, [])
        notice = Notice(
            To.COACH if ref else To.COORDINATOR,
            Key.DESK_REQUESTED_AGAIN,
            {"case": str(existing.id)},
            coach=ref,
            case_id=existing.id,
            card=card_of(existing),
        )
        return Handoff(existing.id, ref, True, [notice])
    case = store.create_case(
        session,
        participant_id=participant_id,
        region_code=region_code,
        topic=topic,
        language=language,
        summary=summary,
    )
    reason = Key.DESK_REASON_NO_REGION if region_code is None else Key.DESK_REASON_NO_COACH
    notices = route(session, case, exclude=set(), reason=reason)
    assert case.id is not None
    coach = get_coach(session, coach_id=case.coach_id) if case.coach_id else None
    return Handoff(case.id, coach_ref(coach) if coach else None, False, notices)


def route(session: Session, case: Case, *, exclude: set[int], reason: Key) -> list[Notice]:
    """Give the case to the least loaded coach of its region with room, else the coordinator."""
    assert case.id is not None
    coach = None
    if case.region_code:
        lock_key(session, f"region:{case.region_code}")
        coach = pick_coach(session, region_code=case.region_code, exclude=exclude)
    if coach is not None:
        _give(case, coach)
        record(session, case, CaseEventKind.ASSIGNED, coach=coach.id)
        return [card_for_coach(case, coach_ref(coach))]
    case.coach_id = None
    case.status = CaseStatus.NEW
    record(session, case, CaseEventKind.TO_COORDINATOR, detail={"reason": reason})
    return [_card_for_coordinator(session, case, reason, exclude)]


def _give(case: Case, coach: Coach) -> None:
    case.coach_id = coach.id
    case.status = CaseStatus.ASSIGNED
    case.assigned_at, case.coach_reminded_at = utcnow(), None  # the clock for the SLA


def card_for_coach(case: Case, coach: CoachRef) -> Notice:
    assert case.id is not None
    return Notice(
        To.COACH,
        Key.DESK_CASE_NEW,
        {"case": str(case.id)},
        coach=coach,
        case_id=case.id,
        card=card_of(case),
        actions=(Action(Verb.ACCEPT, case.id), Action(Verb.DECLINE, case.id)),
    )


def candidates(session: Session, case: Case, *, exclude: set[int] | None = None) -> list[CoachLoad]:
    """Coaches who could take the case, least loaded first: of its region, else anyone with
    room (the coordinator's buttons, and the web desk's suggestion)."""
    excluded = exclude if exclude is not None else set()
    if case.id is not None and exclude is None:
        excluded = store.coaches_who_declined(session, case_id=case.id)
    options = (
        coaches_for_region(session, region_code=case.region_code, exclude=excluded)
        if case.region_code
        else []
    )
    if not options:  # nobody in the region: anyone with room, least loaded first
        options = sorted(
            (
                load
                for load in list_coaches(session, include_inactive=False)
                if load.coach.id not in excluded
                and load.coach.role == Role.COACH
                and load.coach.unreachable_since is None
                and load.open_cases < load.coach.capacity
            ),
            key=lambda load: (load.open_cases, load.coach.id or 0),
        )
    return options


def _card_for_coordinator(session: Session, case: Case, reason: Key, exclude: set[int]) -> Notice:
    """The case for the coordinator, with a button per coach who could take it (by load)."""
    assert case.id is not None
    actions = tuple(
        Action(Verb.ASSIGN, case.id, coach_ref(load.coach), load.open_cases)
        for load in candidates(session, case, exclude=exclude)[:MAX_ASSIGN_BUTTONS]
    )
    return Notice(
        To.COORDINATOR,
        Key.DESK_FOR_COORDINATOR,
        {"case": str(case.id), "reason": f"@{reason}"},
        case_id=case.id,
        card=card_of(case),
        actions=actions,
    )


# -- the coordinator ---------------------------------------------------------------------------


def assign(session: Session, *, case_id: int, coach_id: int) -> list[Notice]:
    """The coordinator gives a case without a coach to a coach (the Assign buttons)."""
    case = locked_case(session, case_id)
    coach = get_coach(session, coach_id=coach_id)
    if case is None or case.status != CaseStatus.NEW:
        return [Notice(To.COORDINATOR, Key.DESK_ASSIGN_STALE, {"case": str(case_id)})]
    if coach is None or not coach.active:
        return [Notice(To.COORDINATOR, Key.DESK_ASSIGN_COACH_GONE, {"case": str(case_id)})]
    lock_key(session, f"coach:{coach_id}")
    _give(case, coach)
    record(session, case, CaseEventKind.ASSIGNED, coach=coach.id, detail={"by": "coordinator"})
    return [
        Notice(
            To.COORDINATOR,
            Key.DESK_ASSIGNED,
            {"case": str(case_id), "coach": coach.name},
            case_id=case_id,
        ),
        card_for_coach(case, coach_ref(coach)),
    ]


def reassign(session: Session, *, case_id: int, coach_id: int) -> list[Notice]:
    """The coordinator moves an open case that has a coach to another coach: the case starts
    again as assigned (the new coach accepts it), the old coach and the participant are told."""
    case = locked_case(session, case_id)
    coach = get_coach(session, coach_id=coach_id)
    if case is None or case.status not in (CaseStatus.ASSIGNED, CaseStatus.ACCEPTED):
        if case is not None and case.status == CaseStatus.NEW:
            return assign(session, case_id=case_id, coach_id=coach_id)
        return [Notice(To.COORDINATOR, Key.DESK_ASSIGN_STALE, {"case": str(case_id)})]
    if coach is None or not coach.active or coach.id == case.coach_id:
        return [Notice(To.COORDINATOR, Key.DESK_ASSIGN_COACH_GONE, {"case": str(case_id)})]
    previous = get_coach(session, coach_id=case.coach_id) if case.coach_id else None
    was = CaseStatus(case.status)
    lock_key(session, f"coach:{coach_id}")
    if previous is not None:
        store.set_relay(session, case=case, coach_id=previous.id or 0, active=False)
    _give(case, coach)
    case.accepted_at = None if was == CaseStatus.ASSIGNED else case.accepted_at
    record(
        session,
        case,
        CaseEventKind.ASSIGNED,
        coach=coach.id,
        detail={"by": "coordinator", "from": previous.id if previous else None},
    )
    notices: list[Notice] = [
        Notice(
            To.COORDINATOR,
            Key.DESK_ASSIGNED,
            {"case": str(case_id), "coach": coach.name},
            case_id=case_id,
        ),
        card_for_coach(case, coach_ref(coach)),
    ]
    if previous is not None:
        notices.append(
            Notice(
                To.COACH,
                Key.DESK_REASSIGNED_AWAY,
                {"case": str(case_id), "coach": coach.name},
                coach=coach_ref(previous),
            )
        )
        new = coach_ref(coach)
        notices += to_participant(
            session,
            case,
            Key.COACH_REPLACED,
            old=coach_ref(previous).first_name,
            coach=new.first_name,
            union=new.union,
        )
    return notices


# -- coaches who leave, or cannot be reached, or do not answer -----------------------------------


def deactivate(session: Session, *, coach: Coach) -> list[Notice]:
    """A coach stops: no more cases, the live chats end at once, every open case goes to the
    next coach or the coordinator, and the participants are told what really happens."""
    coach.active = False
    session.add(coach)
    assert coach.id is not None
    notices: list[Notice] = []
    for case in store.open_cases_of_coach(session, coach_id=coach.id):
        notices += move_on(
            session, case, coach, CaseEventKind.COACH_DEACTIVATED, Key.DESK_REASON_DEACTIVATED
        )
    return notices


def coach_changed(
    session: Session, *, coach: Coach, regions_before: Iterable[str], role_before: str
) -> list[Notice]:
    """An admin changed a coach's regions or role: the open cases the coach no longer holds
    move on like a deactivated coach's (next coach of the region, else its coordinator queue),
    each with a case event, the participant told the truth and the coach told where it went.

    A coordinator holds no cases; a coach loses the cases of the regions taken away (a case
    the coordinator gave them from a region they never covered stays: that was a choice)."""
    assert coach.id is not None
    if not coach.active:
        return []
    dropped = set(regions_before) - set(coach_regions(session, coach_id=coach.id))
    became_coordinator = coach.role != Role.COACH and role_before == Role.COACH
    notices: list[Notice] = []
    for case in store.open_cases_of_coach(session, coach_id=coach.id):
        if not (became_coordinator or case.region_code in dropped):
            continue
        assert case.id is not None
        locked_case(session, case.id)
        moved = move_on(
            session, case, coach, CaseEventKind.COACH_CHANGED, Key.DESK_REASON_COACH_CHANGED
        )
        following = get_coach(session, coach_id=case.coach_id) if case.coach_id else None
        notices += moved
        notices.append(
            Notice(
                To.COACH,
                Key.DESK_MOVED_AWAY,
                {"case": str(case.id), "to": following.name if following else "@desk_to_queue"},
                coach=coach_ref(coach),  # no case ref: the case is no longer theirs to act on
            )
        )
    return notices


def coach_unreachable(
    session: Session, *, case_id: int, coach_telegram_id: int, participant_told: bool = True
) -> list[Notice]:
    """Telegram refused a message to the coach of `case_id` (403): the coach gets no new cases
    until they write to the bot, and this case moves on. `participant_told`: False when the
    participant's "I passed your details to …" was held back for the card and never went out;
    they then hear who really has the case, as if it had been so from the start."""
    case = locked_case(session, case_id)
    if case is None or case.coach_id is None or case.status == CaseStatus.CLOSED:
        return []
    coach = get_coach(session, coach_id=case.coach_id)
    if coach is None or coach.telegram_id != coach_telegram_id:
        return []  # the case moved on already
    coach.unreachable_since = coach.unreachable_since or utcnow()
    session.add(coach)
    return move_on(
        session,
        case,
        coach,
        CaseEventKind.COACH_UNREACHABLE,
        Key.DESK_REASON_UNREACHABLE,
        participant_told=participant_told,
    )


def coach_reachable(session: Session, *, coach: Coach) -> None:
    """The coach wrote to the bot: Telegram delivers to them again."""
    if coach.unreachable_since is not None:
        coach.unreachable_since = None
        session.add(coach)


def escalate(session: Session, *, case_id: int, assigned_at: datetime) -> list[Notice]:
    """Not accepted in time: to the next coach of the region or the coordinator. Only if the
    case is still waiting on the same assignment (the scheduler's claim)."""
    case = locked_case(session, case_id)
    if (
        case is None
        or case.status != CaseStatus.ASSIGNED
        or case.assigned_at != assigned_at
        or case.coach_id is None
    ):
        return []
    coach = get_coach(session, coach_id=case.coach_id)
    if coach is None:
        return []
    return move_on(session, case, coach, CaseEventKind.ESCALATED, Key.DESK_REASON_NO_ANSWER)


def move_on(
    session: Session,
    case: Case,
    coach: Coach,
    kind: CaseEventKind,
    reason: Key,
    *,
    participant_told: bool = True,
) -> list[Notice]:
    """The case leaves `coach` (declined, stopped, unreachable, too late) for the next one."""
    assert case.id is not None and coach.id is not None
    was = CaseStatus(case.status)
    record(session, case, kind, coach=coach.id)
    store.set_relay(session, case=case, coach_id=coach.id, active=False)
    session.flush()
    excluded = store.coaches_who_declined(session, case_id=case.id) | {coach.id}
    notices = route(session, case, exclude=excluded, reason=reason)
    if was is CaseStatus.ASSIGNED and not participant_told:
        following = get_coach(session, coach_id=case.coach_id) if case.coach_id else None
        notices += handoff_confirmation(session, case, following)
    elif was in (CaseStatus.ASSIGNED, CaseStatus.ACCEPTED) and kind != CaseEventKind.DECLINED:
        # They were told (or already talked to) this coach: tell them the truth.
        following = get_coach(session, coach_id=case.coach_id) if case.coach_id else None
        old = coach_ref(coach).first_name
        if following is not None:
            new = coach_ref(following)
            notices += to_participant(
                session, case, Key.COACH_REPLACED, old=old, coach=new.first_name, union=new.union
            )
        else:
            notices += to_participant(session, case, Key.COACH_SEARCHING, old=old)
    return notices


def handoff_confirmation(session: Session, case: Case, coach: Coach | None) -> list[Notice]:
    """What the participant reads about who has their case, when they were told nothing yet."""
    who = participant_ref(session, case)
    if who is None:
        return []
    card = card_of(case)
    contact = card.by_role("contact_method")
    params = {"first_name": card.first_name, "contact_method": contact.value if contact else "–"}
    if coach is None:
        return [Notice(To.PARTICIPANT, Key.HANDOFF_COORDINATOR, params, participant=who)]
    params |= {"coach_name": coach.name, "union": coach.union}
    return [
        Notice(
            To.PARTICIPANT,
            Key.HANDOFF_ASSIGNED,
            params,
            participant=who,
            case_id=case.id,
            after_card=True,
        )
    ]
