"""The reads and writes of a turn, on SQLite and on the real PostgreSQL: who sent it and their
turn context in one statement, kept for that transaction only; a keyboard pressed once in one
statement; a poll's updates stored at once; and the hint this process keeps for the read
before a turn (`remembered`), corrected by the turn's own read."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, event
from sqlmodel import Session, select

from bot.conversation import ConversationService
from bot.engine.messages import Inbound
from bot.flows.registry import FlowRegistry
from storage import inbox, senders
from storage import telegram_state as outbox
from storage.coaches import add_coach
from storage.conversations import (
    StaleConversation,
    StoredConversation,
    load_turn_context,
    peek_turn_context,
    save_conversation,
)
from storage.database import create_db_engine, session_scope
from storage.inbox import Incoming
from storage.models import Union
from storage.participants import create_participant, get_or_create_participant, get_participant
from storage.privacy import anonymise
from storage.telegram_state import OutboxStatus, TelegramOutbox
from tests.conversation_helpers import DEFAULT_RULES, FLOWS_DIR, FakeNlu


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> Engine:
    if request.param == "sqlite":
        return create_db_engine(request.getfixturevalue("sqlite_url"))
    return create_db_engine(request.getfixturevalue("postgres_schema_url"))


@contextmanager
def counted(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(conn: object, cursor: object, sql: str, *args: object) -> None:
        statements.append(sql.split(None, 1)[0].upper())

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _participant(engine: Engine, telegram_id: int, state: dict[str, object]) -> int:
    with session_scope(engine) as session:
        pid = get_or_create_participant(
            session, channel="telegram", external_id=str(telegram_id)
        ).id
        assert pid is not None
        save_conversation(session, participant_id=pid, state=state, expected_version=0)
    return pid


def test_who_sent_it_brings_the_turn_context_in_the_same_statement(engine: Engine) -> None:
    pid = _participant(engine, 501, {"turns": 3})
    with session_scope(engine) as session, counted(engine) as statements:
        sender = senders.sender_of(session, channel="telegram", telegram_id=501)
        context = load_turn_context(session, channel="telegram", external_id="501")
        assert statements == ["SELECT"]  # one read for both
        assert sender.participant_id == pid and sender.coach_id is None
        assert context.participant_id == pid
        assert context.conversation.state == {"turns": 3} and context.conversation.version == 1
        # Good for one use: the next read of the context goes to the database again.
        again = peek_turn_context(session, channel="telegram", external_id="501")
        assert again == context and statements == ["SELECT", "SELECT"]


def test_someone_unknown_is_read_as_nobody(engine: Engine) -> None:
    with session_scope(engine) as session:
        add_coach(session, name="Anna", telegram_id=777, union=Union.FNV, regions=["AM01"])
    with session_scope(engine) as session:
        coach = senders.sender_of(session, channel="telegram", telegram_id=777)
        nobody = senders.sender_of(session, channel="telegram", telegram_id=778)
        assert coach.coach_id is not None and coach.participant_id is None
        assert nobody == senders.Sender(None, None, None)
        assert peek_turn_context(session, channel="telegram", external_id="778") is None


def test_a_kept_context_never_outlives_its_transaction(engine: Engine) -> None:
    pid = _participant(engine, 502, {"turns": 1})
    with Session(engine, expire_on_commit=False) as session:
        senders.sender_of(session, channel="telegram", telegram_id=502)
        session.commit()  # the same session, a new transaction
        with session_scope(engine) as other:  # meanwhile another turn saved
            save_conversation(other, participant_id=pid, state={"turns": 2}, expected_version=1)
        context = peek_turn_context(session, channel="telegram", external_id="502")
        assert context is not None
        assert context.conversation.state == {"turns": 2} and context.conversation.version == 2


def test_a_keyboard_is_pressed_once_in_one_statement(engine: Engine) -> None:
    with session_scope(engine) as session, counted(engine) as statements:
        assert outbox.press_keyboard(session, chat_id=9, message_id=4)
        assert statements == ["INSERT"]
        assert not outbox.press_keyboard(session, chat_id=9, message_id=4)
        assert outbox.is_keyboard_pressed(session, chat_id=9, message_id=4)
        assert not outbox.is_keyboard_pressed(session, chat_id=9, message_id=5)
        outbox.mark_keyboard_pressed(session, chat_id=9, message_id=5)  # idempotent too
        outbox.mark_keyboard_pressed(session, chat_id=9, message_id=5)
        assert outbox.is_keyboard_pressed(session, chat_id=9, message_id=5)


def test_a_polls_updates_are_stored_in_one_statement(engine: Engine) -> None:
    batch = [Incoming(11, "1", "{}"), Incoming(12, "2", "{}"), Incoming(11, "1", "{}")]
    with session_scope(engine) as session, counted(engine) as statements:
        stored = inbox.store(session, channel="telegram", items=batch, claim_for="w1")
        assert statements == ["INSERT"]
    assert [(item.update_id, item.attempts) for item in stored] == [(11, 1), (12, 1)]
    with session_scope(engine) as session:  # re-delivered with a new one
        again = inbox.store(
            session, channel="telegram", items=[Incoming(12, "2", "{}"), Incoming(13, "2", "{}")]
        )
    assert [(item.update_id, item.attempts) for item in again] == [(13, 0)]
    assert len({item.id for item in [*stored, *again]}) == 3


async def test_the_remembered_hint_follows_the_turns_and_is_corrected_by_a_read(
    engine: Engine,
) -> None:
    service = ConversationService(
        engine=engine, flows=FlowRegistry(FLOWS_DIR), nlu=FakeNlu(DEFAULT_RULES)
    )
    assert service.remembered("telegram", 503) is None  # nothing known in this process yet
    await service.handle("telegram", "503", Inbound(text="/start"))
    with session_scope(engine) as session:
        stored = load_turn_context(session, channel="telegram", external_id="503")
        senders.sender_of(session, channel="telegram", telegram_id=503)
    known = service.remembered("telegram", 503)
    assert known is not None and known.sender.participant_id == stored.participant_id
    assert known.state is not None and known.state.turns == stored.conversation.state["turns"]
    # The next turn saves: the hint is the state it saved (no read needed).
    await service.handle("telegram", "503", Inbound(text="/menu"))
    known = service.remembered("telegram", 503)
    assert known is not None and known.state is not None
    assert known.state.turns == stored.conversation.state["turns"] + 1
    # Another process made them a coach: the hint is wrong until the next read corrects it.
    with session_scope(engine) as session:
        add_coach(session, name="Bo", telegram_id=503, union=Union.CNV, regions=["AM01"])
    known = service.remembered("telegram", 503)
    assert known is not None and known.sender.coach_id is None
    with session_scope(engine) as session:
        senders.sender_of(session, channel="telegram", telegram_id=503)
    known = service.remembered("telegram", 503)
    assert known is not None and known.sender.coach_id is not None


def test_a_batch_settle_records_and_deletes_in_one_go(engine: Engine) -> None:
    def msg(text: str, kind: str | None = None) -> outbox.Outgoing:
        return outbox.Outgoing(21, "sendMessage", {"text": text}, kind=kind)

    with session_scope(engine) as session:
        rows = outbox.enqueue_claimed(
            session, outgoing=[msg("a"), msg("b", "ephemeral"), msg("c")], worker_id="w1"
        ).claimed
    a, b, c = (row.id or 0 for row in rows)
    with session_scope(engine) as session:
        outbox.settle_many(session, sent=[(a, 100), (c, 102)], gone=[b], worker_id="w1")
        # Rows another worker took over meanwhile are left alone.
        outbox.settle_many(session, sent=[], gone=[a], worker_id="w2")
    with Session(engine) as session:
        left = {
            row.id: (row.status, row.message_id) for row in session.exec(select(TelegramOutbox))
        }
    assert left == {a: (OutboxStatus.SENT, 100), c: (OutboxStatus.SENT, 102)}


def test_the_hint_is_forgotten_when_the_person_is_erased(engine: Engine) -> None:
    _participant(engine, 504, {"turns": 1, "slots": {"first_name": "Sanne"}})
    with session_scope(engine) as session:
        senders.sender_of(session, channel="telegram", telegram_id=504)
    assert senders.remembered(engine, channel="telegram", telegram_id=504) is not None
    with session_scope(engine) as session:
        person = get_participant(session, channel="telegram", external_id="504")
        assert person is not None
        anonymise(session, participant=person)
    assert senders.remembered(engine, channel="telegram", telegram_id=504) is None


def test_a_first_contact_is_created_in_one_statement_and_saved_in_another(
    engine: Engine,
) -> None:
    with session_scope(engine) as session, counted(engine) as statements:
        context = load_turn_context(session, channel="telegram", external_id="505")
        assert statements == ["SELECT", "INSERT"]  # nobody yet; created
        assert context.language == "nl" and context.consent_at is None
        assert context.conversation == StoredConversation(None, 0)
        assert (
            save_conversation(
                session,
                participant_id=context.participant_id,
                state={"turns": 1},
                expected_version=0,
            )
            == 1
        )
        assert statements == ["SELECT", "INSERT", "INSERT"]
        # A second first message that raced this one: it exists now, nothing is created.
        assert create_participant(session, channel="telegram", external_id="505") is None
        with pytest.raises(StaleConversation):
            save_conversation(
                session, participant_id=context.participant_id, state={}, expected_version=0
            )
    with session_scope(engine) as session:
        again = load_turn_context(session, channel="telegram", external_id="505")
        assert again.participant_id == context.participant_id
        assert again.conversation == StoredConversation({"turns": 1}, 1)
