"""The channel's tables on SQLite and on the real PostgreSQL: dedupe, ordering, leases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine
from sqlmodel import Session, SQLModel

from storage import telegram_state as state
from storage.telegram_state import Outgoing

BIG_CHAT = -1001234567890  # supergroup ids do not fit in 32 bits


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 's.db'}")
    else:
        engine = create_engine(request.getfixturevalue("postgres_url"))
    names = (
        "telegram_processed_update",
        "telegram_keyboard_press",
        "telegram_callback_payload",
        "telegram_outbox",
    )
    tables = [SQLModel.metadata.tables[name] for name in names]
    SQLModel.metadata.drop_all(engine, tables=tables)
    SQLModel.metadata.create_all(engine, tables=tables)
    try:
        yield engine
    finally:
        SQLModel.metadata.drop_all(engine, tables=tables)
        engine.dispose()


def _msg(chat: int, text: str) -> Outgoing:
    return Outgoing(chat_id=chat, method="sendMessage", params={"text": text})


def test_update_recorded_once_with_its_replies(engine: Engine) -> None:
    with Session(engine) as session:
        ids = state.record_update(
            session=session, update_id=2**40, outgoing=[_msg(BIG_CHAT, "a"), _msg(BIG_CHAT, "b")]
        )
        assert ids is not None and len(ids) == 2
        assert state.is_update_processed(session=session, update_id=2**40)
        # The duplicate writes nothing at all, not even its replies.
        assert (
            state.record_update(session=session, update_id=2**40, outgoing=[_msg(1, "c")]) is None
        )
        assert state.chats_with_pending(session=session) == [BIG_CHAT]


def test_keyboard_pressed_once(engine: Engine) -> None:
    with Session(engine) as session:
        assert state.record_update(session=session, update_id=1, outgoing=[], pressed=(5, 9)) == []
        assert state.is_keyboard_pressed(session=session, chat_id=5, message_id=9)
        assert (
            state.record_update(session=session, update_id=2, outgoing=[], pressed=(5, 9)) is None
        )
        assert not state.is_update_processed(session=session, update_id=2)


def test_claims_only_the_head_of_a_chat_in_order(engine: Engine) -> None:
    lease = timedelta(seconds=30)
    with Session(engine) as session:
        state.enqueue(session=session, outgoing=[_msg(7, "1"), _msg(7, "2"), _msg(8, "x")])
        first = state.claim_next(session=session, chat_id=7, lease=lease)
        assert first is not None and first.params() == {"text": "1"}
        # Leased: nobody else gets chat 7 (not even its second message) until it is settled.
        assert state.claim_next(session=session, chat_id=7, lease=lease) is None
        assert state.claim_next(session=session, chat_id=8, lease=lease) is not None
        assert first.id is not None
        state.mark_sent(session=session, outbox_id=first.id, message_id=11)
        second = state.claim_next(session=session, chat_id=7, lease=lease)
        assert second is not None and second.params() == {"text": "2"}
        assert second.id is not None
        state.mark_retry(
            session=session, outbox_id=second.id, not_before=state.utcnow(), error="NetworkError"
        )
        again = state.claim_next(session=session, chat_id=7, lease=lease)
        assert again is not None and again.id == second.id and again.attempts == 1


def test_expired_lease_is_claimable(engine: Engine) -> None:
    with Session(engine) as session:
        state.enqueue(session=session, outgoing=[_msg(7, "1")])
        assert state.claim_next(session=session, chat_id=7, lease=timedelta(seconds=-1))
        assert state.claim_next(session=session, chat_id=7, lease=timedelta(seconds=30))


def test_ref_lookup(engine: Engine) -> None:
    with Session(engine) as session:
        (outbox_id,) = state.enqueue(
            session=session,
            outgoing=[Outgoing(chat_id=3, method="sendMessage", params={}, ref="case:4")],
        )
        state.mark_sent(session=session, outbox_id=outbox_id, message_id=99)
        assert state.ref_of_message(session=session, chat_id=3, message_id=99) == "case:4"
        assert state.ref_of_message(session=session, chat_id=3, message_id=98) is None
        assert state.message_ids_for_ref(session=session, ref="case:4") == [(3, 99)]


def test_long_payload_roundtrip(engine: Engine) -> None:
    with Session(engine) as session:
        key = state.store_callback_payload(session=session, payload="p" * 300)
        assert key == state.store_callback_payload(session=session, payload="p" * 300)
        assert state.load_callback_payload(session=session, key=key) == "p" * 300


def test_purge_processed_updates(engine: Engine) -> None:
    with Session(engine) as session:
        state.record_update(session=session, update_id=1, outgoing=[])
        assert state.purge_processed_updates(session=session, older_than=timedelta(days=7)) == 0
        assert state.purge_processed_updates(session=session, older_than=timedelta(seconds=-1)) == 1
        assert not state.is_update_processed(session=session, update_id=1)
