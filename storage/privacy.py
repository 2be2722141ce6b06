"""What the AVG asks of storage: everything about one participant, and erasing it.

Erasing keeps a participant row as an anonymous stub (its external id replaced by a random
token) and keeps cases, case events, follow-up ratings and the intents of the message log
without anything that identifies the person, so statistics stay right. Everything else that
holds their id, words or answers is deleted or blanked.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Engine, delete, update
from sqlmodel import Session, col, select

from storage import senders, web
from storage.models import (
    Case,
    CaseEvent,
    CaseRelay,
    Conversation,
    FollowUp,
    InboxUpdate,
    MessageLog,
    NluReviewItem,
    Participant,
    utcnow,
)
from storage.telegram_state import Outgoing, TelegramKeyboardPress, TelegramOutbox, enqueue


def participant_data(session: Session, *, participant: Participant) -> dict[str, Any]:
    """Everything held about one participant, as plain JSON-ready data."""
    assert participant.id is not None
    conversation = session.get(Conversation, participant.id)
    messages = session.exec(
        select(MessageLog)
        .where(MessageLog.participant_id == participant.id)
        .order_by(col(MessageLog.id))
    ).all()
    cases = session.exec(
        select(Case).where(Case.participant_id == participant.id).order_by(col(Case.id))
    ).all()
    reviews = session.exec(
        select(NluReviewItem)
        .where(NluReviewItem.participant_id == participant.id)
        .order_by(col(NluReviewItem.id))
    ).all()
    return {
        "participant": {
            "channel": participant.channel,
            "id": participant.external_id,
            "language": participant.language,
            "consent_given_at": _at(participant.consent_at),
            "first_contact": _at(participant.created_at),
        },
        "conversation": (conversation.state if conversation else None),
        "messages": [
            {
                "at": _at(m.created_at),
                "direction": m.direction,
                "text": m.text,
                "understood_as": m.intent,
            }
            for m in messages
        ],
        "cases": [_case(session, case) for case in cases],
        "messages_kept_to_improve_understanding": [
            {"at": _at(r.created_at), "text": r.text, "understood_as": r.intent} for r in reviews
        ],
    }


def _case(session: Session, case: Case) -> dict[str, Any]:
    events = session.exec(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(col(CaseEvent.id))
    ).all()
    follow_ups = session.exec(select(FollowUp).where(FollowUp.case_id == case.id)).all()
    return {
        "case": case.id,
        "status": case.status,
        "topic": case.topic,
        "region": case.region_code,
        "what_the_coach_got": [
            {"field": line["label"], "value": line["value"]} for line in case.summary
        ],
        "steps": [{"at": _at(e.created_at), "step": e.kind, "detail": e.detail} for e in events],
        "follow_ups": [
            {"at": _at(f.created_at), "rating": f.rating, "remark": f.remark} for f in follow_ups
        ],
    }


def _at(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None


# The Bot API call that replaces what a message said; storage keeps no channel code.
_EDIT_TEXT = "editMessageText"


def anonymise(session: Session, *, participant: Participant, blanked: str | None = None) -> None:
    """Erase everything that identifies `participant` (see the module docstring). `blanked`:
    what the bot's own messages about their cases in other chats (the coach's card, relayed
    messages) are edited to say, through the outbox in this same transaction."""
    pid = participant.id
    assert pid is not None
    channel, external_id = participant.channel, participant.external_id
    case_ids = [
        case_id
        for case_id in session.exec(select(Case.id).where(Case.participant_id == pid)).all()
        if case_id is not None
    ]
    if case_ids:
        session.exec(
            update(Case).where(col(Case.id).in_(case_ids)).values(summary=[], updated_at=utcnow())
        )
        # What coaches were sent about these cases (cards, relayed messages) held the data too.
        refs = [f"case:{case_id}" for case_id in case_ids]
        if blanked is not None:
            _blank_sent(session, refs=refs, own_chat=external_id, text=blanked)
        session.exec(
            delete(TelegramOutbox).where(
                col(TelegramOutbox.ref).in_(refs), col(TelegramOutbox.status) != "sent"
            )
        )
        session.exec(
            update(TelegramOutbox).where(col(TelegramOutbox.ref).in_(refs)).values(payload="{}")
        )
        session.exec(
            update(FollowUp).where(col(FollowUp.case_id).in_(case_ids)).values(remark=None)
        )
        session.exec(delete(CaseRelay).where(col(CaseRelay.case_id).in_(case_ids)))
        web.delete_notes(session, case_ids=case_ids)  # the coaches' notes about them
    session.exec(update(MessageLog).where(col(MessageLog.participant_id) == pid).values(text=None))
    session.exec(delete(NluReviewItem).where(col(NluReviewItem.participant_id) == pid))
    session.exec(delete(Conversation).where(col(Conversation.participant_id) == pid))
    session.exec(
        update(InboxUpdate)
        .where(col(InboxUpdate.channel) == channel, col(InboxUpdate.chat_key) == external_id)
        .values(chat_key="erased", payload=None)
    )
    if channel == "telegram" and external_id.lstrip("-").isdigit():
        chat = int(external_id)
        session.exec(delete(TelegramOutbox).where(col(TelegramOutbox.chat_id) == chat))
        session.exec(
            delete(TelegramKeyboardPress).where(col(TelegramKeyboardPress.chat_id) == chat)
        )
    senders.forget(session, channel=channel, external_id=external_id)
    # The stub keeps only what statistics count (when they came, whether they consented).
    participant.external_id = f"erased:{uuid.uuid4().hex}"
    participant.language = "nl"
    participant.erased_at = participant.updated_at = utcnow()
    session.add(participant)


def _blank_sent(session: Session, *, refs: list[str], own_chat: str, text: str) -> None:
    """Queue an edit of every delivered message about these cases in someone else's chat."""
    sent = session.exec(
        select(TelegramOutbox.chat_id, TelegramOutbox.message_id).where(
            col(TelegramOutbox.ref).in_(refs),
            col(TelegramOutbox.status) == "sent",
            col(TelegramOutbox.method) == "sendMessage",
            col(TelegramOutbox.message_id).is_not(None),
            col(TelegramOutbox.chat_id) != (int(own_chat) if own_chat.lstrip("-").isdigit() else 0),
        )
    ).all()
    enqueue(
        session,
        outgoing=[
            # "ephemeral": deleted once sent; an edit refused (too old, gone) moves no case
            Outgoing(chat, _EDIT_TEXT, {"message_id": mid, "text": text}, kind="ephemeral")
            for chat, mid in sorted(set(sent))
            if mid is not None
        ],
    )


def checkpoint(engine: Engine) -> None:
    """SQLite, after the erasing transaction committed: move the WAL into the database file
    (where secure_delete zeroed the freed space) and empty it, so no old page with erased data
    stays behind. PostgreSQL reclaims dead rows with VACUUM (see the README)."""
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()
    try:
        raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()
