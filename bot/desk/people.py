"""Who a case involves, as the desk passes them around: coach and participant references,
the case card, and the notices addressed to them."""

from __future__ import annotations

from sqlmodel import Session

from bot.desk.cards import CaseCard
from bot.desk.notices import CoachRef, Notice, ParticipantRef, To
from bot.flows.catalogue import Key
from storage import cases as store
from storage.models import Case, Coach


def coach_ref(coach: Coach) -> CoachRef:
    assert coach.id is not None
    return CoachRef(coach.id, coach.telegram_id, coach.name, coach.union)


def card_of(case: Case) -> CaseCard:
    assert case.id is not None
    return CaseCard.from_summary(
        case_id=case.id,
        region_code=case.region_code,
        status=case.status,
        summary=case.summary,
        language=case.language,
    )


def participant_ref(session: Session, case: Case) -> ParticipantRef | None:
    participant = store.participant_of(session, case=case)
    if participant is None or participant.id is None:
        return None  # erased
    language = case.language or participant.language
    return ParticipantRef(participant.id, participant.channel, participant.external_id, language)


def to_coach(coach: CoachRef, key: Key, case_id: int | None = None, **params: str) -> Notice:
    return Notice(To.COACH, key, params, coach=coach, case_id=case_id)


def to_participant(session: Session, case: Case, key: Key, **params: str) -> list[Notice]:
    who = participant_ref(session, case)
    return [Notice(To.PARTICIPANT, key, params, participant=who)] if who else []
