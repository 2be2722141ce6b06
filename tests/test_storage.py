"""Storage functions on SQLite and on the real PostgreSQL (never skipped)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, inspect
from sqlmodel import select

from storage.coaches import CoachExists, add_coach, coach_regions
from storage.conversations import StaleConversation, load_conversation, save_conversation
from storage.database import create_db_engine, session_scope, upgrade
from storage.messages import LogEntry, log_messages
from storage.models import Direction, MessageLog, Union
from storage.participants import get_or_create_participant, get_participant

TABLES = {
    "participants",
    "conversations",
    "message_log",
    "coaches",
    "coach_regions",
    "cases",
    "case_events",
}


def roundtrip(engine: Engine) -> None:
    assert set(inspect(engine).get_table_names()) >= TABLES
    with session_scope(engine) as session:
        participant = get_or_create_participant(session, channel="telegram", external_id="42")
        again = get_or_create_participant(session, channel="telegram", external_id="42")
        assert participant.id == again.id
        pid = participant.id or 0
        assert load_conversation(session, participant_id=pid).version == 0
        assert (
            save_conversation(
                session, participant_id=pid, state={"slots": {"a": 1}}, expected_version=0
            )
            == 1
        )
        log_messages(session, participant_id=pid, entries=[LogEntry(Direction.IN, None, "greet")])
    with session_scope(engine) as session:
        stored = load_conversation(session, participant_id=pid)
        assert stored.state == {"slots": {"a": 1}} and stored.version == 1
        assert save_conversation(session, participant_id=pid, state={}, expected_version=1) == 2
    with pytest.raises(StaleConversation), session_scope(engine) as session:
        save_conversation(session, participant_id=pid, state={"x": 1}, expected_version=1)
    with pytest.raises(StaleConversation), session_scope(engine) as session:
        save_conversation(session, participant_id=pid, state={"x": 1}, expected_version=0)
    with session_scope(engine) as session:
        assert load_conversation(session, participant_id=pid).state == {}
        [message] = session.exec(select(MessageLog)).all()
        assert message.intent == "greet" and message.created_at.tzinfo is not None
        assert get_participant(session, channel="terminal", external_id="42") is None
        coach = add_coach(
            session, name="Anna", telegram_id=10**12, union=Union.FNV, regions=["AM18", "AM13"]
        )
        assert coach_regions(session, coach_id=coach.id or 0) == ("AM13", "AM18")
    with pytest.raises(CoachExists), session_scope(engine) as session:
        add_coach(session, name="Twin", telegram_id=10**12, union=Union.CNV, regions=["AM01"])


def racing_saves(engine: Engine) -> None:
    """Two workers save the same version at once: exactly one wins."""
    with session_scope(engine) as session:
        pid = get_or_create_participant(session, channel="t", external_id="race").id or 0
        save_conversation(session, participant_id=pid, state={}, expected_version=0)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def worker(n: int) -> None:
        try:
            with session_scope(engine) as session:
                barrier.wait()
                save_conversation(session, participant_id=pid, state={"n": n}, expected_version=1)
            outcomes.append("won")
        except StaleConversation:
            outcomes.append("stale")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["stale", "won"]
    with session_scope(engine) as session:
        assert load_conversation(session, participant_id=pid).version == 2


def test_sqlite_roundtrip(sqlite_url):
    roundtrip(create_db_engine(sqlite_url))


def test_sqlite_racing_saves(sqlite_url):
    racing_saves(create_db_engine(sqlite_url))


def test_upgrade_is_idempotent_and_creates_the_data_dir(tmp_path):
    url = f"sqlite:///{tmp_path / 'nested' / 'dir' / 'bot.db'}"
    upgrade(url)
    upgrade(url)
    assert set(inspect(create_db_engine(url)).get_table_names()) >= TABLES


@pytest.mark.postgres
def test_postgres_roundtrip(postgres_schema_url):
    roundtrip(create_db_engine(postgres_schema_url))


@pytest.mark.postgres
def test_postgres_racing_saves(postgres_schema_url):
    racing_saves(create_db_engine(postgres_schema_url))


@pytest.mark.postgres
async def test_postgres_conversation_survives_restart(postgres_schema_url):
    from tests.conversation_helpers import DEFAULT_RULES, Chat, FakeNlu, make_service

    service, _ = make_service(postgres_schema_url, FakeNlu(DEFAULT_RULES))
    chat = Chat(service)
    await chat.say("ik ben mijn baan kwijt")
    await chat.press("Ja")
    await chat.say("Ik ben Sanne")
    assert chat.asked("woonplaats")
    restarted, _ = make_service(postgres_schema_url, FakeNlu(DEFAULT_RULES))
    resumed = Chat(restarted)
    await resumed.say("/start")
    assert resumed.asked("woonplaats")


def test_migrations_match_the_models(sqlite_url):
    from alembic import command

    from storage.database import alembic_config

    command.check(alembic_config(sqlite_url))  # raises when a model changed without a revision


@pytest.mark.postgres
def test_migrations_match_the_models_postgres(postgres_schema_url):
    from alembic import command

    from storage.database import alembic_config

    command.check(alembic_config(postgres_schema_url))
