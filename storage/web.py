"""Tables of the web desk (bot/web/): one-time login links, sessions, private notes on cases,
the audit log of who looked at whose data, and the desk's signing secret.

Links and session ids are stored as SHA-256 digests: a copy of the database does not let
anyone log in. Nothing here holds a participant's words except the coaches' own notes, which
go when the participant's data is erased (storage/privacy.py).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Integer, Text, delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from storage.models import utcnow

LINK_LIFETIME = timedelta(minutes=10)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class WebSecret(SQLModel, table=True):
    """The key that signs session cookies, made once and shared by every web desk instance."""

    __tablename__ = "web_secret"

    name: str = Field(primary_key=True, max_length=20)
    value: str = Field(max_length=128)
    created_at: datetime = Field(default_factory=utcnow)


class WebLoginLink(SQLModel, table=True):
    __tablename__ = "web_login_links"

    token_hash: str = Field(primary_key=True, max_length=64)
    telegram_id: int = Field(sa_type=BigInteger, index=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    expires_at: datetime
    used_at: datetime | None = None


class WebSession(SQLModel, table=True):
    __tablename__ = "web_sessions"

    id_hash: str = Field(primary_key=True, max_length=64)
    telegram_id: int = Field(sa_type=BigInteger, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    seen_at: datetime = Field(default_factory=utcnow, index=True)
    flash: str | None = Field(default=None, sa_type=Text)  # one message for the next page


class CaseNote(SQLModel, table=True):
    """A coach's private note on a case: never shown to the participant."""

    __tablename__ = "case_notes"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("cases.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    author_telegram_id: int = Field(sa_type=BigInteger)
    author_name: str = Field(max_length=100)
    text: str = Field(sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow)


class AuditEntry(SQLModel, table=True):
    """Who saw or changed a participant's personal data, and when (never the data itself)."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor_telegram_id: int = Field(sa_type=BigInteger, index=True)
    actor_name: str = Field(max_length=100)
    role: str = Field(max_length=16)
    action: str = Field(max_length=32)
    case_id: int | None = Field(default=None, index=True)
    detail: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


# -- the signing secret ---------------------------------------------------------------------------


def signing_secret(session: Session) -> str:
    """The shared secret; the first instance to ask makes it (the others read the same)."""
    found = session.get(WebSecret, "session")
    if found is not None:
        return found.value
    try:
        with session.begin_nested():
            session.add(WebSecret(name="session", value=secrets.token_urlsafe(48)))
    except IntegrityError:
        pass  # another instance made it at the same moment
    made = session.get(WebSecret, "session")
    assert made is not None
    return made.value


# -- login links ------------------------------------------------------------------------------


def links_requested_since(session: Session, *, telegram_id: int, since: datetime) -> int:
    return int(
        session.exec(
            select(func.count())
            .select_from(WebLoginLink)
            .where(WebLoginLink.telegram_id == telegram_id, col(WebLoginLink.created_at) >= since)
        ).one()
    )


def new_login_link(session: Session, *, telegram_id: int) -> str:
    """A fresh one-time token (returned once, stored only as its digest)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        WebLoginLink(
            token_hash=digest(token),
            telegram_id=telegram_id,
            created_at=now,
            expires_at=now + LINK_LIFETIME,
        )
    )
    session.execute(  # spent and expired links are of no use to anyone
        delete(WebLoginLink).where(col(WebLoginLink.expires_at) < now - timedelta(days=1))
    )
    return token


def peek_login_link(session: Session, *, token: str) -> WebLoginLink | None:
    """The link if it is still good (unused, not expired), without using it."""
    link = session.get(WebLoginLink, digest(token))
    if link is None or link.used_at is not None or link.expires_at <= utcnow():
        return None
    return link


def use_login_link(session: Session, *, token: str) -> int | None:
    """Spend the link: the Telegram id it was made for, once; None when used or expired."""
    now = utcnow()
    result = session.execute(
        update(WebLoginLink)
        .where(
            col(WebLoginLink.token_hash) == digest(token),
            col(WebLoginLink.used_at).is_(None),
            col(WebLoginLink.expires_at) > now,
        )
        .values(used_at=now)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    link = session.get(WebLoginLink, digest(token))
    return link.telegram_id if link is not None else None


# -- sessions ---------------------------------------------------------------------------------


def new_session(session: Session, *, telegram_id: int) -> str:
    raw = secrets.token_urlsafe(32)
    session.add(WebSession(id_hash=digest(raw), telegram_id=telegram_id))
    return raw


def live_session(
    session: Session, *, raw_id: str, idle: timedelta, touch_after: timedelta
) -> WebSession | None:
    """The session if it was used within `idle`; its clock restarts (written at most every
    `touch_after`, so that browsing does not write on every page)."""
    found = session.get(WebSession, digest(raw_id))
    now = utcnow()
    if found is None:
        return None
    if found.seen_at <= now - idle:
        session.delete(found)
        return None
    if found.seen_at <= now - touch_after:
        found.seen_at = now
        session.add(found)
    return found


def end_session(session: Session, *, raw_id: str) -> None:
    session.execute(delete(WebSession).where(col(WebSession.id_hash) == digest(raw_id)))


def end_sessions_of(session: Session, *, telegram_id: int) -> None:
    session.execute(delete(WebSession).where(col(WebSession.telegram_id) == telegram_id))


def set_flash(session: Session, *, raw_id: str, message: str | None) -> None:
    session.execute(
        update(WebSession).where(col(WebSession.id_hash) == digest(raw_id)).values(flash=message)
    )


# -- notes and the audit log --------------------------------------------------------------------


def add_note(
    session: Session, *, case_id: int, author_telegram_id: int, author_name: str, text: str
) -> CaseNote:
    note = CaseNote(
        case_id=case_id, author_telegram_id=author_telegram_id, author_name=author_name, text=text
    )
    session.add(note)
    session.flush()
    return note


def notes_of(session: Session, *, case_id: int) -> Sequence[CaseNote]:
    return session.exec(
        select(CaseNote).where(CaseNote.case_id == case_id).order_by(col(CaseNote.id))
    ).all()


def delete_notes(session: Session, *, case_ids: Sequence[int]) -> None:
    if case_ids:
        session.execute(delete(CaseNote).where(col(CaseNote.case_id).in_(list(case_ids))))


def audit(
    session: Session,
    *,
    actor_telegram_id: int,
    actor_name: str,
    role: str,
    action: str,
    case_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEntry(
            actor_telegram_id=actor_telegram_id,
            actor_name=actor_name,
            role=role,
            action=action,
            case_id=case_id,
            detail=detail,
        )
    )


def audit_entries(session: Session, *, limit: int = 200, offset: int = 0) -> Sequence[AuditEntry]:
    return session.exec(
        select(AuditEntry).order_by(col(AuditEntry.id).desc()).offset(offset).limit(limit)
    ).all()


def live_case_keyboards(session: Session, *, case_id: int) -> list[tuple[int, int]]:
    """(chat, message) of every message about `case_id` the bot delivered with desk buttons
    (Accept / Decline / Assign) that nobody pressed yet: once the case moved on at the web
    desk, those buttons would act on a state that is gone."""
    from storage.telegram_state import OutboxStatus, TelegramOutbox, is_keyboard_pressed

    sent = session.exec(
        select(TelegramOutbox.chat_id, TelegramOutbox.message_id, TelegramOutbox.payload).where(
            TelegramOutbox.ref == f"case:{case_id}",
            TelegramOutbox.status == OutboxStatus.SENT,
            col(TelegramOutbox.message_id).is_not(None),
        )
    ).all()
    live = []
    for chat_id, message_id, payload in sent:
        if message_id is None or not _has_desk_buttons(payload):
            continue  # a plain message about the case
        if not is_keyboard_pressed(session, chat_id=chat_id, message_id=message_id):
            live.append((chat_id, message_id))
    return live


def _has_desk_buttons(payload: str) -> bool:
    markup = (json.loads(payload) or {}).get("reply_markup") or {}
    return any(
        str(button.get("callback_data", "")).startswith("c:")
        for row in markup.get("inline_keyboard", [])
        for button in row
    )
