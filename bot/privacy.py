"""The participant's rights under the AVG (GDPR): see everything held, and have it erased.

On every channel and for admins (`careerbot participant export|erase`). Erasing also closes
an open case and tells its coach; the retention job erases participants inactive too long.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlmodel import Session, col, select

from bot.desk import service as desk
from bot.desk.notices import Notice, To
from bot.flows.catalogue import Key
from storage import privacy
from storage.cases import add_case_event, open_case_of_participant, set_relay
from storage.coaches import get_coach
from storage.models import Case, CaseEventKind, CaseStatus, Conversation, Participant, utcnow
from storage.participants import get_participant

# What the bot's own messages about the case (card, relayed messages) in a coach's chat say
# afterwards: the desk speaks Dutch (bot/desk/render.py COACH_LANGUAGE).
ERASED_FOR_COACH = "(gegevens verwijderd op verzoek van de deelnemer)"


def find(session: Session, *, channel: str, external_id: str) -> Participant | None:
    participant = get_participant(session, channel=channel, external_id=external_id)
    return participant if participant is not None and participant.erased_at is None else None


def export_json(session: Session, *, participant: Participant) -> str:
    return json.dumps(
        privacy.participant_data(session, participant=participant), ensure_ascii=False, indent=2
    )


def erase(session: Session, *, participant: Participant, reason: str) -> list[Notice]:
    """Erase a participant everywhere; an open case is closed and its coach told."""
    notices: list[Notice] = []
    assert participant.id is not None
    case = open_case_of_participant(session, participant_id=participant.id)
    if case is not None and case.id is not None:
        if case.coach_id is not None:
            coach = get_coach(session, coach_id=case.coach_id)
            if coach is not None:
                notices.append(
                    Notice(
                        To.COACH,
                        Key.DESK_PARTICIPANT_ERASED,
                        {"case": str(case.id)},
                        coach=desk.coach_ref(coach),
                        case_id=case.id,
                    )
                )
            set_relay(session, case=case, coach_id=case.coach_id, active=False)
        case.status = CaseStatus.CLOSED
        case.closed_at = case.updated_at = utcnow()
        session.add(case)
        add_case_event(
            session,
            case=case,
            kind=CaseEventKind.CLOSED,
            coach_id=case.coach_id,
            detail={"outcome": "participant erased"},
        )
    for kept in session.exec(select(Case).where(Case.participant_id == participant.id)).all():
        add_case_event(session, case=kept, kind=CaseEventKind.ERASED, detail={"why": reason})
    privacy.anonymise(session, participant=participant, blanked=ERASED_FOR_COACH)
    return notices


def inactive_since(session: Session, *, before: datetime, limit: int) -> list[Participant]:
    """Participants whose last message is older than `before` (for the retention purge)."""
    last_seen = Conversation.updated_at
    rows = session.exec(
        select(Participant)
        .outerjoin(Conversation, col(Conversation.participant_id) == col(Participant.id))
        .where(
            col(Participant.erased_at).is_(None),
            (col(last_seen) < before)
            | (col(last_seen).is_(None) & (col(Participant.updated_at) < before)),
        )
        .limit(limit)
    ).all()
    return list(rows)
