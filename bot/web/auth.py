"""Who is asking: signed session cookies, roles looked up afresh on every request, CSRF.

A session belongs to a Telegram id. Its role is read from the coaches table and
ADMIN_TELEGRAM_IDS at every request, so a coach who is deactivated is out at once.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import timedelta

from fastapi import Request
from sqlmodel import Session

from storage import web as stored
from storage.coaches import coach_by_telegram_id, coach_regions
from storage.models import Role

COOKIE = "careerbot_desk"
PRE_COOKIE = "careerbot_pre"  # CSRF for the login form, before there is a session
IDLE = timedelta(hours=8)
TOUCH_AFTER = timedelta(minutes=1)


class NotFound(Exception):
    """404: not there, or not yours (the same answer, so nothing is learnt about other cases)."""


class LoginRequired(Exception):
    pass


class Forbidden(Exception):
    pass


@dataclass(frozen=True)
class Principal:
    telegram_id: int
    name: str
    admin: bool
    coach_id: int | None  # an active coach or coordinator row
    role: str | None  # Role of that row
    regions: tuple[str, ...] = ()
    raw_session: str = field(default="", repr=False)

    @property
    def is_coach(self) -> bool:
        return self.coach_id is not None and self.role == Role.COACH

    @property
    def is_coordinator(self) -> bool:
        return self.coach_id is not None and self.role == Role.COORDINATOR

    @property
    def role_name(self) -> str:
        if self.admin:
            return "admin"
        return self.role or "coach"

    def sees_region(self, region_code: str | None) -> bool:
        return self.admin or (self.is_coordinator and region_code in self.regions)


def sign(secret: str, value: str) -> str:
    mac = hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()
    return f"{value}.{mac}"


def unsign(secret: str, signed: str | None) -> str | None:
    if not signed or "." not in signed:
        return None
    value, _, mac = signed.rpartition(".")
    expected = hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()
    return value if hmac.compare_digest(mac, expected) else None


def csrf_token(secret: str, raw_session: str) -> str:
    return hmac.new(secret.encode(), f"csrf:{raw_session}".encode(), hashlib.sha256).hexdigest()


def who_is(session: Session, *, telegram_id: int, admins: frozenset[int]) -> Principal | None:
    """The desk rights of a Telegram id now: None when it has none (deactivated, unknown)."""
    coach = coach_by_telegram_id(session, telegram_id=telegram_id)
    active = coach if coach is not None and coach.active else None
    admin = telegram_id in admins
    if active is None and not admin:
        return None
    name = coach.name if coach is not None else "Admin"
    regions = coach_regions(session, coach_id=active.id or 0) if active is not None else ()
    return Principal(
        telegram_id=telegram_id,
        name=name,
        admin=admin,
        coach_id=active.id if active is not None else None,
        role=active.role if active is not None else None,
        regions=regions,
    )


def principal(
    request: Request, session: Session, *, secret: str, admins: frozenset[int]
) -> Principal:
    """The logged-in person of this request, or LoginRequired."""
    raw = unsign(secret, request.cookies.get(COOKIE))
    if raw is None:
        raise LoginRequired
    found = stored.live_session(session, raw_id=raw, idle=IDLE, touch_after=TOUCH_AFTER)
    if found is None:
        raise LoginRequired
    person = who_is(session, telegram_id=found.telegram_id, admins=admins)
    if person is None:  # deactivated since: every session of theirs ends now
        stored.end_sessions_of(session, telegram_id=found.telegram_id)
        raise LoginRequired
    return Principal(**{**person.__dict__, "raw_session": raw})
