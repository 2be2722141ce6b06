"""What a coach does with a case, on any desk (Telegram or the web): accept, decline, hand
back, close, look at it. Each runs in the caller's transaction, checks that the case is the
coach's and that the action fits its state (bot/desk/states.py), and returns who is told what.
"""

from __future__ import annotations

from sqlmodel import Session

from bot.desk.cards import CaseCard
from bot.desk.notices import CoachRef, Notice, To
from bot.desk.people import card_of, participant_ref, to_coach, to_participant
from bot.desk.routing import move_on
from bot.desk.states import NOT_YOURS, REFUSAL, allowed, locked_case, record
from bot.flows.catalogue import Key
from storage import cases as store
from storage.coaches import get_coach
from storage.models import Case, CaseEventKind, CaseStatus, utcnow

OUTCOME_MAX = 200


def case_for(
    session: Session, coach: CoachRef, case_id: int, action: str
) -> tuple[Case | None, list[Notice]]:
    """The case if `coach` may do `action` on it now; otherwise what to tell the coach.

    A case of someone else and one that does not exist get the same answer."""
    case = locked_case(session, case_id)
    if case is None or case.coach_id != coach.id:
        return None, [to_coach(coach, NOT_YOURS, case=str(case_id))]
    if not allowed(action, case.status):
        key = REFUSAL.get(case.status, NOT_YOURS)
        return None, [to_coach(coach, key, case=str(case_id))]
    return case, []


def accept(session: Session, *, case_id: int, coach: CoachRef) -> list[Notice]:
    case, refusal = case_for(session, coach, case_id, "accept")
    if case is None:
        return refusal
    case.status = CaseStatus.ACCEPTED
    case.accepted_at = utcnow()
    record(session, case, CaseEventKind.ACCEPTED, coach=coach)
    store.set_relay(session, case=case, coach_id=coach.id, active=True)
    who = participant_ref(session, case)
    card = card_of(case)
    note = (
        Key.DESK_ACCEPTED_LIVE if who and who.channel == "telegram" else Key.DESK_ACCEPTED_OFFLINE
    )
    notices = [
        Notice(To.COACH, note, {"case": str(case_id)}, coach=coach, case_id=case_id, card=card)
    ]
    if who is not None:
        via = f"@via_{card.contact_method}" if card.contact_method else ""
        notices.append(
            Notice(
                To.PARTICIPANT,
                Key.COACH_ACCEPTED,
                {"coach": coach.first_name, "union": coach.union, "via": via},
                participant=who,
            )
        )
    return notices


def decline(session: Session, *, case_id: int, coach: CoachRef) -> list[Notice]:
    """The case goes to the next coach of the region (never back to one who declined it), else
    to the coordinator. The participant was told nothing yet, so is told nothing now."""
    case, refusal = case_for(session, coach, case_id, "decline")
    if case is None:
        return refusal
    me = get_coach(session, coach_id=coach.id)
    assert me is not None
    moved = move_on(session, case, me, CaseEventKind.DECLINED, Key.DESK_REASON_DECLINED)
    # "to a colleague" only when one got the card: else it waits in the coordinator's queue
    said = Key.DESK_DECLINED if case.coach_id is not None else Key.DESK_DECLINED_NO_COLLEAGUE
    return [to_coach(coach, said, case=str(case_id)), *moved]


def hand_back(session: Session, *, case_id: int, coach: CoachRef) -> list[Notice]:
    """The participant talks to the bot again; the coach keeps the case."""
    case, refusal = case_for(session, coach, case_id, "hand_back")
    if case is None:
        return refusal
    if not store.set_relay(session, case=case, coach_id=coach.id, active=False):
        return [to_coach(coach, Key.DESK_ALREADY_WITH_BOT, case=str(case_id))]
    record(session, case, CaseEventKind.HANDED_BACK, coach=coach)
    return [
        to_coach(coach, Key.DESK_HANDED_BACK, case=str(case_id)),
        *to_participant(session, case, Key.HANDED_BACK, coach=coach.first_name),
    ]


def close(session: Session, *, case_id: int, coach: CoachRef, outcome: str) -> list[Notice]:
    case, refusal = case_for(session, coach, case_id, "close")
    if case is None:
        return refusal
    outcome = " ".join(outcome.split())[:OUTCOME_MAX]
    if not outcome:
        return [to_coach(coach, Key.DESK_CLOSE_USAGE, case=str(case_id))]
    was_accepted = case.status == CaseStatus.ACCEPTED
    case.status = CaseStatus.CLOSED
    case.closed_at = utcnow()
    record(session, case, CaseEventKind.CLOSED, coach=coach, detail={"outcome": outcome})
    store.set_relay(session, case=case, coach_id=coach.id, active=False)
    told = Key.CASE_CLOSED if was_accepted else Key.CASE_REQUEST_CLOSED
    return [
        to_coach(coach, Key.DESK_CLOSED, case=str(case_id), outcome=outcome),
        *to_participant(session, case, told, coach=coach.first_name),
    ]


def show_case(session: Session, *, case_id: int, coach: CoachRef) -> list[Notice]:
    case, refusal = case_for(session, coach, case_id, "show")
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
