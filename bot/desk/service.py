"""Coach desk operations. Each runs in the caller's transaction and returns who is told what.

Case states and who may move them:

    new (coordinator) ──assign──► assigned (coach) ──accept──► accepted ──close──► closed
                                   │  ▲   decline, coach gone            │ hand back / resume
                                   └──┴── next coach of the region, else the coordinator

Capacity is counted with the region locked, so two handoffs at once cannot both take a
coach's last place; a participant has at most one open case (the database enforces it too).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot.desk.cards import CaseCard
from bot.desk.notices import Action, CoachRef, Notice, ParticipantRef, To, Verb
from bot.flows.catalogue import Key
from storage import cases as store
from storage.coaches import coaches_for_region, get_coach, list_coaches, pick_coach
from storage.database import lock_key
from storage.models import Case, CaseEventKind, CaseStatus, Coach, utcnow

MAX_ASSIGN_BUTTONS = 5
OUTCOME_MAX = 200

# Which coach action is allowed in which state.
ALLOWED: dict[str, frozenset[str]] = {
    "accept": frozenset({CaseStatus.ASSIGNED}),
    "decline": frozenset({CaseStatus.ASSIGNED}),
    "message": frozenset({CaseStatus.ACCEPTED}),
    "hand_back": frozenset({CaseStatus.ACCEPTED}),
    "close": frozenset({CaseStatus.ASSIGNED, CaseStatus.ACCEPTED}),
    "show": frozenset({CaseStatus.NEW, CaseStatus.ASSIGNED, CaseStatus.ACCEPTED, "closed"}),
}


def coach_ref(coach: Coach) -> CoachRef:
    assert coach.id is not None
    return CoachRef(coach.id, coach.telegram_id, coach.name, coach.union)


def card_of(case: Case) -> CaseCard:
    assert case.id is not None
    return CaseCard.from_summary(
        case_id=case.id, region_code=case.region_code, status=case.status, summary=case.summary
    )


def participant_ref(session: Session, case: Case) -> ParticipantRef | None:
    participant = store.participant_of(session, case=case)
    if participant is None or participant.id is None:
        return None  # erased
    language = case.language or participant.language
    return ParticipantRef(participant.id, participant.channel, participant.external_id, language)


def _to_coach(coach: CoachRef, key: Key, case_id: int | None = None, **params: str) -> Notice:
    return Notice(To.COACH, key, params, coach=coach, case_id=case_id)


def _to_participant(session: Session, case: Case, key: Key, **params: str) -> list[Notice]:
    who = participant_ref(session, case)
    return [Notice(To.PARTICIPANT, key, params, participant=who)] if who else []


def _locked_case(session: Session, case_id: int) -> Case | None:
    lock_key(session, f"case:{case_id}")
    case = store.get_case(session, case_id=case_id)
    if case is not None:
        session.refresh(case)
    return case


# -- the handoff -------------------------------------------------------------------------------


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
    """A new request for a coach. With an open case already, it goes to that case's coach."""
    lock_key(session, f"participant:{participant_id}")
    existing = store.open_case_of_participant(session, participant_id=participant_id)
    if existing is not None:
        assert existing.id is not None
        existing.summary = summary  # the newest answers
        store.touch(existing)
        session.add(existing)
        store.add_case_event(
            session,
            case=existing,
            kind=CaseEventKind.REQUESTED_AGAIN,
            coach_id=existing.coach_id,
            detail={"topic": topic},
        )
        coach = get_coach(session, coach_id=existing.coach_id) if existing.coach_id else None
        ref = coach_ref(coach) if coach is not None else None
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
    notices = _route(session, case, exclude=set(), reason=reason)
    assert case.id is not None
    coach = get_coach(session, coach_id=case.coach_id) if case.coach_id else None
    return Handoff(case.id, coach_ref(coach) if coach else None, False, notices)


def _route(session: Session, case: Case, *, exclude: set[int], reason: str) -> list[Notice]:
    """Give the case to the least loaded coach of its region with room, else the coordinator."""
    assert case.id is not None
    coach = None
    if case.region_code:
        lock_key(session, f"region:{case.region_code}")
        coach = pick_coach(session, region_code=case.region_code, exclude=exclude)
    store.touch(case)
    if coach is not None:
        case.coach_id = coach.id
        case.status = CaseStatus.ASSIGNED
        case.assigned_at, case.coach_reminded_at = utcnow(), None  # the clock for the SLA
        session.add(case)
        store.add_case_event(session, case=case, kind=CaseEventKind.ASSIGNED, coach_id=coach.id)
        return [_card_for_coach(case, coach_ref(coach))]
    case.coach_id = None
    case.status = CaseStatus.NEW
    session.add(case)
    store.add_case_event(
        session, case=case, kind=CaseEventKind.TO_COORDINATOR, detail={"reason": reason}
    )
    return [_card_for_coordinator(session, case, reason, exclude)]


def _card_for_coach(case: Case, coach: CoachRef) -> Notice:
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


def _card_for_coordinator(session: Session, case: Case, reason: str, exclude: set[int]) -> Notice:
    """The case for the coordinator, with a button per coach who could take it (by load)."""
    assert case.id is not None
    options = (
        coaches_for_region(session, region_code=case.region_code, exclude=exclude)
        if case.region_code
        else []
    )
    if not options:  # nobody in the region: anyone with room, least loaded first
        options = sorted(
            (
                load
                for load in list_coaches(session, include_inactive=False)
                if load.coach.id not in exclude
                and load.coach.unreachable_since is None
                and load.open_cases < load.coach.capacity
            ),
            key=lambda load: (load.open_cases, load.coach.id or 0),
        )
    actions = tuple(
        Action(Verb.ASSIGN, case.id, coach_ref(load.coach), load.open_cases)
        for load in options[:MAX_ASSIGN_BUTTONS]
    )
    return Notice(
        To.COORDINATOR,
        Key.DESK_FOR_COORDINATOR,
        {"case": str(case.id), "reason": f"@{reason}"},
        case_id=case.id,
        card=card_of(case),
        actions=actions,
    )


# -- the coach's actions -----------------------------------------------------------------------


def _case_for(
    session: Session, coach: CoachRef, case_id: int, action: str
) -> tuple[Case | None, list[Notice]]:
    """The case if `coach` may do `action` on it now; otherwise what to tell the coach."""
    case = _locked_case(session, case_id)
    if case is None or case.coach_id != coach.id:
        return None, [_to_coach(coach, Key.DESK_NOT_YOURS, case=str(case_id))]
    if case.status not in ALLOWED[action]:
        key = {
            CaseStatus.ASSIGNED: Key.DESK_ACCEPT_FIRST,
            CaseStatus.ACCEPTED: Key.DESK_ALREADY_ACCEPTED,
            CaseStatus.CLOSED: Key.DESK_CASE_IS_CLOSED,
        }.get(CaseStatus(case.status), Key.DESK_NOT_YOURS)
        return None, [_to_coach(coach, key, case=str(case_id))]
    return case, []


def accept(session: Session, *, case_id: int, coach: CoachRef) -> list[Notice]:
    case, refusal = _case_for(session, coach, case_id, "accept")
    if case is None:
        return refusal
    case.status = CaseStatus.ACCEPTED
    case.accepted_at = utcnow()
    store.touch(case)
    session.add(case)
    store.add_case_event(session, case=case, kind=CaseEventKind.ACCEPTED, coach_id=coach.id)
    store.set_relay(session, case=case, coach_id=coach.id, active=True)
    who = participant_ref(session, case)
    card = card_of(case)
    note = (
        Key.DESK_ACCEPTED_LIVE if who and who.channel == "telegram" else Key.DESK_ACCEPTED_OFFLINE
    )
    notices = [
        Notice(
            To.COACH,
            note,
            {"case": str(case_id)},
            coach=coach,
            case_id=case_id,
            card=card,
        )
    ]
    if who is not None:
        notices.append(
            Notice(
                To.PARTICIPANT,
                Key.COACH_ACCEPTED,
                {
                    "coach": coach.first_name,
                    "union": coach.union,
                    "via": f"@via_{card.contact_method}" if card.contact_method else "",
                },
                participant=who,
            )
        )
    return notices


def decline(session: Session, *, case_id: int, coach: CoachRef) -> list[Notice]:
    case, refusal = _case_for(session, coach, case_id, "decline")
    if case is None:
        return refusal
    store.add_case_event(session, case=case, kind=CaseEventKind.DECLINED, coach_id=coach.id)
    session.flush()
    excluded = store.coaches_who_declined(session, case_id=case_id) | {coach.id}
    notices = [_to_coach(coach, Key.DESK_DECLINED, case=str(case_id))]
    return notices + _route(session, case, exclude=excluded, reason=Key.DESK_REASON_DECLINED)


def message_participant(
    session: Session, *, case_id: int, coach: CoachRef, text: str
) -> list[Notice]:
    case, refusal = _case_for(session, coach, case_id, "message")
    if case is None:
        return refusal
    who = participant_ref(session, case)
    if who is None or who.channel != "telegram":
        return [_to_coach(coach, Key.DESK_NOT_REACHABLE_HERE, case=str(case_id))]
    if store.set_relay(session, case=case, coach_id=coach.id, active=True):
        store.add_case_event(
            session, case=case, kind=CaseEventKind.RELAY_RESUMED, coach_id=coach.id
        )
    return [
        Notice(
            To.PARTICIPANT,
            Key.FROM_COACH,
            {"coach": coach.first_name, "union": coach.union},
            participant=who,
            quote=text,
        )
    ]


def hand_back(session: Session, *, case_id: int, coach: CoachRef) -> list[Notice]:
    case, refusal = _case_for(session, coach, case_id, "hand_back")
    if case is None:
        return refusal
    if not store.set_relay(session, case=case, coach_id=coach.id, active=False):
        return [_to_coach(coach, Key.DESK_ALREADY_WITH_BOT, case=str(case_id))]
    store.add_case_event(session, case=case, kind=CaseEventKind.HANDED_BACK, coach_id=coach.id)
    return [
        _to_coach(coach, Key.DESK_HANDED_BACK, case=str(case_id)),
        *_to_participant(session, case, Key.HANDED_BACK, coach=coach.first_name),
    ]


def close(session: Session, *, case_id: int, coach: CoachRef, outcome: str) -> list[Notice]:
    case, refusal = _case_for(session, coach, case_id, "close")
    if case is None:
        return refusal
    outcome = " ".join(outcome.split())[:OUTCOME_MAX]
    if not outcome:
        return [_to_coach(coach, Key.DESK_CLOSE_USAGE, case=str(case_id))]
    was_accepted = case.status == CaseStatus.ACCEPTED
    now = utcnow()
    case.status = CaseStatus.CLOSED
    case.updated_at = case.closed_at = now
    session.add(case)
    store.add_case_event(
        session,
        case=case,
        kind=CaseEventKind.CLOSED,
        coach_id=coach.id,
        detail={"outcome": outcome},
    )
    store.set_relay(session, case=case, coach_id=coach.id, active=False)
    told = Key.CASE_CLOSED if was_accepted else Key.CASE_REQUEST_CLOSED
    return [
        _to_coach(coach, Key.DESK_CLOSED, case=str(case_id), outcome=outcome),
        *_to_participant(session, case, told, coach=coach.first_name),
    ]


def show_case(session: Session, *, case_id: int, coach: CoachRef) -> list[Notice]:
    case, refusal = _case_for(session, coach, case_id, "show")
    if case is None:
        return refusal
    return [
        Notice(
            To.COACH,
            Key.DESK_CASE,
            {"case": str(case_id)},
            coach=coach,
            case_id=case_id,
            card=card_of(case),
        )
    ]


def list_open(session: Session, *, coach: CoachRef) -> list[CaseCard]:
    return [card_of(case) for case in store.open_cases_of_coach(session, coach_id=coach.id)]


# -- the coordinator ---------------------------------------------------------------------------


def assign(session: Session, *, case_id: int, coach_id: int) -> list[Notice]:
    """The coordinator gives a case without a coach to a coach (the Assign buttons)."""
    case = _locked_case(session, case_id)
    coach = get_coach(session, coach_id=coach_id)
    if case is None or case.status != CaseStatus.NEW:
        return [Notice(To.COORDINATOR, Key.DESK_ASSIGN_STALE, {"case": str(case_id)})]
    if coach is None or not coach.active:
        return [Notice(To.COORDINATOR, Key.DESK_ASSIGN_COACH_GONE, {"case": str(case_id)})]
    lock_key(session, f"coach:{coach_id}")
    ref = coach_ref(coach)
    case.coach_id = coach.id
    case.status = CaseStatus.ASSIGNED
    case.assigned_at, case.coach_reminded_at = utcnow(), None
    store.touch(case)
    session.add(case)
    store.add_case_event(
        session,
        case=case,
        kind=CaseEventKind.ASSIGNED,
        coach_id=coach.id,
        detail={"by": "coordinator"},
    )
    return [
        Notice(
            To.COORDINATOR,
            Key.DESK_ASSIGNED,
            {"case": str(case_id), "coach": coach.name},
            case_id=case_id,
        ),
        _card_for_coach(case, ref),
    ]


# -- coaches who leave, or cannot be reached ----------------------------------------------------


def deactivate(session: Session, *, coach: Coach) -> list[Notice]:
    """A coach stops: no more cases, the live chats end at once, every open case goes to the
    next coach or the coordinator, and the participants are told what really happens."""
    coach.active = False
    session.add(coach)
    return _reassign_all(
        session, coach, CaseEventKind.COACH_DEACTIVATED, Key.DESK_REASON_DEACTIVATED
    )


def coach_unreachable(session: Session, *, case_id: int, coach_telegram_id: int) -> list[Notice]:
    """Telegram refused a message to the coach of `case_id` (403): the coach gets no new cases
    until they write to the bot, and this case moves on."""
    case = _locked_case(session, case_id)
    if case is None or case.coach_id is None or case.status == CaseStatus.CLOSED:
        return []
    coach = get_coach(session, coach_id=case.coach_id)
    if coach is None or coach.telegram_id != coach_telegram_id:
        return []  # the case moved on already
    coach.unreachable_since = coach.unreachable_since or utcnow()
    session.add(coach)
    return _move_on(
        session, case, coach, CaseEventKind.COACH_UNREACHABLE, Key.DESK_REASON_UNREACHABLE
    )


def escalate(session: Session, *, case_id: int, assigned_at: datetime) -> list[Notice]:
    """Not accepted in time: to the next coach of the region or the coordinator. Only if the
    case is still waiting on the same assignment (the scheduler's claim)."""
    case = _locked_case(session, case_id)
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
    return _move_on(session, case, coach, CaseEventKind.ESCALATED, Key.DESK_REASON_NO_ANSWER)


def coach_reachable(session: Session, *, coach: Coach) -> None:
    """The coach wrote to the bot: Telegram delivers to them again."""
    if coach.unreachable_since is not None:
        coach.unreachable_since = None
        session.add(coach)


def _reassign_all(session: Session, coach: Coach, kind: CaseEventKind, reason: str) -> list[Notice]:
    assert coach.id is not None
    notices: list[Notice] = []
    for case in store.open_cases_of_coach(session, coach_id=coach.id):
        notices += _move_on(session, case, coach, kind, reason)
    return notices


def _move_on(
    session: Session, case: Case, coach: Coach, kind: CaseEventKind, reason: str
) -> list[Notice]:
    assert case.id is not None and coach.id is not None
    was = CaseStatus(case.status)
    store.add_case_event(session, case=case, kind=kind, coach_id=coach.id)
    store.set_relay(session, case=case, coach_id=coach.id, active=False)
    session.flush()
    excluded = store.coaches_who_declined(session, case_id=case.id) | {coach.id}
    notices = _route(session, case, exclude=excluded, reason=reason)
    if was in (CaseStatus.ASSIGNED, CaseStatus.ACCEPTED):
        # They were told (or already talked to) this coach: tell them the truth.
        following = get_coach(session, coach_id=case.coach_id) if case.coach_id else None
        old = coach.name.split()[0]
        if following is not None:
            new = coach_ref(following)
            notices += _to_participant(
                session, case, Key.COACH_REPLACED, old=old, coach=new.first_name, union=new.union
            )
        else:
            notices += _to_participant(session, case, Key.COACH_SEARCHING, old=old)
    return notices


# -- the participant ---------------------------------------------------------------------------


def live_chat(session: Session, *, participant_id: int) -> tuple[Case, CoachRef] | None:
    found = store.active_relay_of_participant(session, participant_id=participant_id)
    return (found[0], coach_ref(found[1])) if found else None


def relay_to_coach(session: Session, *, participant_id: int, text: str) -> list[Notice] | None:
    """While a coach has the case, the participant's message goes to the coach (None: no live
    chat, the bot answers)."""
    found = live_chat(session, participant_id=participant_id)
    if found is None:
        return None
    case, coach = found
    assert case.id is not None
    card = card_of(case)
    return [
        Notice(
            To.COACH,
            Key.DESK_FROM_PARTICIPANT,
            {"case": str(case.id), "name": card.first_name},
            coach=coach,
            case_id=case.id,
            quote=text,
        )
    ]


def participant_leaves(session: Session, *, participant_id: int) -> list[Notice] | None:
    """/stop during the live chat: back to the bot; the coach is told and keeps the case."""
    found = live_chat(session, participant_id=participant_id)
    if found is None:
        return None
    case, coach = found
    assert case.id is not None
    store.set_relay(session, case=case, coach_id=coach.id, active=False)
    store.add_case_event(session, case=case, kind=CaseEventKind.PARTICIPANT_LEFT, coach_id=coach.id)
    return [
        _to_coach(coach, Key.DESK_PARTICIPANT_LEFT, case.id, case=str(case.id)),
        *_to_participant(session, case, Key.LEFT_LIVE_CHAT, coach=coach.first_name),
    ]
