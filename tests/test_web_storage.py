"""The web desk's storage rules, on SQLite and PostgreSQL: a login link works once and only for
10 minutes, a session ends after 8 hours idle, a deactivated coach has no rights, the signing
key is made once and shared, and erasing a participant deletes the coaches' notes about them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from bot import privacy
from bot.web.auth import IDLE, TOUCH_AFTER, sign, unsign, who_is
from storage import web
from storage.coaches import add_coach
from storage.database import create_db_engine, session_scope
from storage.models import Union, utcnow
from storage.participants import get_or_create_participant
from storage.web import CaseNote, WebLoginLink, WebSession


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest) -> Engine:
    name = "sqlite_url" if request.param == "sqlite" else "postgres_schema_url"
    return create_db_engine(request.getfixturevalue(name))


def test_a_login_link_works_once_and_only_for_ten_minutes(db: Engine) -> None:
    with session_scope(db) as session:
        token = web.new_login_link(session, telegram_id=7001)
        stale = web.new_login_link(session, telegram_id=7001)
        assert (
            web.links_requested_since(
                session, telegram_id=7001, since=utcnow() - timedelta(minutes=10)
            )
            == 2
        )
    with session_scope(db) as session:
        stored = session.exec(select(WebLoginLink.token_hash)).all()
        assert token not in stored and web.digest(token) in stored  # only the digest is kept
        assert web.peek_login_link(session, token=token) is not None  # looking spends nothing
        assert web.use_login_link(session, token=token) == 7001
    with session_scope(db) as session:
        assert web.use_login_link(session, token=token) is None  # twice: refused
        assert web.peek_login_link(session, token=token) is None
        session.exec(  # type: ignore[call-overload]
            update(WebLoginLink)
            .where(col(WebLoginLink.token_hash) == web.digest(stale))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    with session_scope(db) as session:
        assert web.use_login_link(session, token=stale) is None  # expired
        assert web.use_login_link(session, token="not-a-token") is None


def test_a_session_ends_after_eight_hours_idle_and_on_logout(db: Engine) -> None:
    with session_scope(db) as session:
        raw = web.new_session(session, telegram_id=7001)
        other = web.new_session(session, telegram_id=7001)
    with session_scope(db) as session:
        assert web.live_session(session, raw_id=raw, idle=IDLE, touch_after=TOUCH_AFTER)
        session.exec(  # type: ignore[call-overload]
            update(WebSession)
            .where(col(WebSession.id_hash) == web.digest(raw))
            .values(seen_at=utcnow() - IDLE + timedelta(minutes=5))
        )
    with session_scope(db) as session:  # used within 8 hours: alive, and its clock restarts
        assert web.live_session(session, raw_id=raw, idle=IDLE, touch_after=TOUCH_AFTER)
    with session_scope(db) as session:
        found = session.get(WebSession, web.digest(raw))
        assert found is not None and found.seen_at > utcnow() - timedelta(minutes=1)
        found.seen_at = utcnow() - IDLE - timedelta(seconds=1)
        session.add(found)
    with session_scope(db) as session:
        assert web.live_session(session, raw_id=raw, idle=IDLE, touch_after=TOUCH_AFTER) is None
    with session_scope(db) as session:
        assert session.get(WebSession, web.digest(raw)) is None  # gone, not just refused
        web.end_session(session, raw_id=other)
    with session_scope(db) as session:
        assert web.live_session(session, raw_id=other, idle=IDLE, touch_after=TOUCH_AFTER) is None


def test_rights_follow_the_coaches_table_and_the_signing_key_is_shared(db: Engine) -> None:
    with session_scope(db) as session:
        coach = add_coach(
            session, name="Anna de Vries", telegram_id=7001, union=Union.FNV, regions=["AM13"]
        )
        assert who_is(session, telegram_id=7001, admins=frozenset()) is not None
        assert who_is(session, telegram_id=7999, admins=frozenset()) is None
        assert who_is(session, telegram_id=7999, admins=frozenset({7999})) is not None
        coach.active = False
        session.add(coach)
        assert who_is(session, telegram_id=7001, admins=frozenset()) is None
        first = web.signing_secret(session)
    with session_scope(db) as session:
        assert web.signing_secret(session) == first  # another instance reads the same key
    cookie = sign(first, "abc")
    assert unsign(first, cookie) == "abc"
    assert unsign(first, cookie[:-1] + ("0" if cookie[-1] != "0" else "1")) is None
    assert unsign("another key", cookie) is None


def test_erasing_a_participant_deletes_the_notes_about_them(db: Engine) -> None:
    from bot.desk import service as desk

    with session_scope(db) as session:
        add_coach(
            session, name="Anna de Vries", telegram_id=7001, union=Union.FNV, regions=["AM13"]
        )
        person = get_or_create_participant(session, channel="telegram", external_id="5001")
        handoff = desk.handoff(
            session,
            participant_id=person.id or 0,
            region_code="AM13",
            topic="job_loss",
            language="nl",
            summary=[],
        )
        web.add_note(
            session,
            case_id=handoff.case_id,
            author_telegram_id=7001,
            author_name="Anna",
            text="belt ma",
        )
    with session_scope(db) as session:
        found = privacy.find(session, channel="telegram", external_id="5001")
        assert found is not None
        privacy.erase(session, participant=found, reason="request")
    with Session(db) as session:
        assert session.exec(select(CaseNote)).all() == []
