"""The live chat between a coach and a participant: while the coach has an accepted case, the
participant's messages go to the coach and the bot stays quiet; the coach writes back from
Telegram or the web (through the same outbox); /stop brings the participant back to the bot."""

from __future__ import annotations

from sqlmodel import Session

from bot.desk.coach_actions import case_for
from bot.desk.notices import CoachRef, Notice, To
from bot.desk.people import card_of, coach_ref, participant_ref, to_coach, to_participant
from bot.desk.states import record
from bot.engine.bsn import contains_bsn, remove_bsn
from bot.flows.catalogue import Key
from storage import cases as store
from storage.models import Case, CaseEventKind


def live_chat(session: Session, *, participant_id: int) -> tuple[Case, CoachRef] | None:
    found = store.active_relay_of_participant(session, participant_id=participant_id)
    return (found[0], coach_ref(found[1])) if found else None


def message_participant(
    session: Session, *, case_id: int, coach: CoachRef, text: str
) -> list[Notice]:
    """The coach writes to the participant (the live chat resumes if it was handed back)."""
    case, refusal = case_for(session, coach, case_id, "message")
    if case is None:
        return refusal
    who = participant_ref(session, case)
    if who is None or who.channel != "telegram":
        return [to_coach(coach, Key.DESK_NOT_REACHABLE_HERE, case=str(case_id))]
    if store.set_relay(session, case=case, coach_id=coach.id, active=True):
        record(session, case, CaseEventKind.RELAY_RESUMED, coach=coach)
    return [
        Notice(
            To.PARTICIPANT,
            Key.FROM_COACH,
            {"coach": coach.first_name, "union": coach.union},
            participant=who,
            quote=text,
        )
    ]


def relay_to_coach(session: Session, *, participant_id: int, text: str) -> list[Notice] | None:
    """While a coach has the case, the participant's message goes to the coach (None: no live
    chat, the bot answers)."""
    found = live_chat(session, participant_id=participant_id)
    if found is None:
        return None
    case, coach = found
    assert case.id is not None
    card = card_of(case)
    # A BSN is never passed on (bot/engine/bsn.py); nothing else said: nothing to pass on
    told = to_participant(session, case, Key.BSN_NOT_KEPT) if contains_bsn(text) else []
    text = remove_bsn(text)
    relayed = Notice(
        To.COACH,
        Key.DESK_FROM_PARTICIPANT,
        {"case": str(case.id), "name": card.first_name},
        coach=coach,
        case_id=case.id,
        quote=text,
    )
    return [*([relayed] if text else []), *told]


def participant_leaves(session: Session, *, participant_id: int) -> list[Notice] | None:
    """/stop during the live chat: back to the bot; the coach is told and keeps the case."""
    found = live_chat(session, participant_id=participant_id)
    if found is None:
        return None
    case, coach = found
    assert case.id is not None
    store.set_relay(session, case=case, coach_id=coach.id, active=False)
    record(session, case, CaseEventKind.PARTICIPANT_LEFT, coach=coach)
    return [
        to_coach(coach, Key.DESK_PARTICIPANT_LEFT, case.id, case=str(case.id)),
        *to_participant(session, case, Key.LEFT_LIVE_CHAT, coach=coach.first_name),
    ]
