"""The inbox, the outbox and worker claims on SQLite and on the real PostgreSQL: dedupe, order
per chat, claims that die with their worker, outcomes recorded only by the claiming worker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from storage import inbox, workers
from storage import telegram_state as outbox
from storage.database import create_db_engine, session_scope
from storage.inbox import Incoming
from storage.models import utcnow
from storage.telegram_state import OutboxStatus, Outgoing, TelegramOutbox

BIG_CHAT = -1001234567890  # supergroup ids do not fit in 32 bits


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> Engine:
    if request.param == "sqlite":
        return create_db_engine(request.getfixturevalue("sqlite_url"))
    return create_db_engine(request.getfixturevalue("postgres_schema_url"))


def _msg(chat: int, text: str) -> Outgoing:
    return Outgoing(chat_id=chat, method="sendMessage", params={"text": text})


def test_an_update_is_stored_once_and_processed_in_order(engine: Engine) -> None:
    with session_scope(engine) as session:
        stored = inbox.store(
            session,
            channel="telegram",
            items=[Incoming(2**40, "7", "{}"), Incoming(2**40 + 1, "7", "{}")],
        )
        assert [(item.update_id, item.chat_key) for item in stored] == [
            (2**40, "7"),
            (2**40 + 1, "7"),
        ]
    with session_scope(engine) as session:  # re-delivered: ignored
        assert inbox.store(session, channel="telegram", items=[Incoming(2**40, "7", "{}")]) == []
    with session_scope(engine) as session:
        head = inbox.head(session, channel="telegram", chat_key="7")
        assert head is not None and head.update_id == 2**40
        assert inbox.claim(session, row=head, worker_id="w1", alive={"w1", "w2"})
        head_id = head.id or 0
    with session_scope(engine) as session:
        head = inbox.head(session, channel="telegram", chat_key="7")
        assert head is not None and head.id == head_id  # the same head: order per chat
        assert not inbox.claim(session, row=head, worker_id="w2", alive={"w1", "w2"})
        # The claim of a dead worker is void.
        assert inbox.claim(session, row=head, worker_id="w2", alive={"w2"})
    with session_scope(engine) as session:
        assert not inbox.finish(session, row_id=head_id, worker_id="w1")  # taken over
        assert inbox.finish(session, row_id=head_id, worker_id="w2")
    with session_scope(engine) as session:
        following = inbox.head(session, channel="telegram", chat_key="7")
        assert following is not None and following.update_id == 2**40 + 1
        assert inbox.pending_chats(session, channel="telegram") == ["7"]


def test_an_update_stored_claimed_is_done_only_after_its_chats_older_ones(engine: Engine) -> None:
    with session_scope(engine) as session:  # left by a worker that died
        (old,) = inbox.store(session, channel="telegram", items=[Incoming(5, "7", "{}")])
    with session_scope(engine) as session:
        (new,) = inbox.store(
            session, channel="telegram", items=[Incoming(6, "7", "{}")], claim_for="w2"
        )
        (other,) = inbox.store(
            session, channel="telegram", items=[Incoming(7, "8", "{}")], claim_for="w2"
        )
        assert new.attempts == 1
    with session_scope(engine) as session:
        assert not inbox.finish(session, row_id=new.id, worker_id="w2")  # out of turn
        assert inbox.finish(session, row_id=other.id, worker_id="w2")  # another chat: fine
        inbox.release(session, row_ids=[new.id], worker_id="w2")
    with session_scope(engine) as session:
        head = inbox.head(session, channel="telegram", chat_key="7")
        assert head is not None and head.id == old.id
        assert inbox.claim(session, row=head, worker_id="w2", alive={"w2"})  # its worker died
        assert inbox.finish(session, row_id=old.id, worker_id="w2")
    with session_scope(engine) as session:
        head = inbox.head(session, channel="telegram", chat_key="7")
        assert head is not None and head.id == new.id and head.holder.claimed_by is None


def test_outbox_rows_are_born_claimed_unless_the_chat_has_unsent_ones(engine: Engine) -> None:
    with session_scope(engine) as session:
        first = outbox.enqueue_claimed(
            session, outgoing=[_msg(7, "1"), _msg(7, "2")], worker_id="w1"
        )
        assert [row.params()["text"] for row in first.claimed] == ["1", "2"]
        assert first.waiting == []
    with session_scope(engine) as session:
        # Chat 7 has unsent rows: the new one queues behind them; chat 8 is free.
        second = outbox.enqueue_claimed(
            session, outgoing=[_msg(7, "3"), _msg(8, "x")], worker_id="w1"
        )
        assert [row.chat_id for row in second.claimed] == [8]
        assert second.waiting == [7]
    with session_scope(engine) as session:
        # Nobody else claims a chat's head while a live worker holds it.
        assert outbox.claim_head(session, chat_id=7, worker_id="w2", alive={"w1", "w2"}).row is None
        outbox.release(session, outbox_ids=[first.claimed[1].id or 0], worker_id="w1")
        assert outbox.mark_sent(
            session, outbox_id=first.claimed[0].id or 0, worker_id="w1", message_id=1
        )
    with session_scope(engine) as session:
        head = outbox.claim_head(session, chat_id=7, worker_id="w2", alive={"w1", "w2"}).row
        assert head is not None and head.params() == {"text": "2"}


def test_outbox_order_per_chat_and_claims(engine: Engine) -> None:
    with session_scope(engine) as session:
        outbox.enqueue(session, outgoing=[_msg(7, "1"), _msg(7, "2"), _msg(BIG_CHAT, "x")])
        assert sorted(outbox.chats_with_pending(session)) == sorted([7, BIG_CHAT])
    with session_scope(engine) as session:
        first = outbox.claim_head(session, chat_id=7, worker_id="w1", alive={"w1", "w2"}).row
        assert first is not None and first.params() == {"text": "1"}
    with session_scope(engine) as session:
        # While a live worker sends the head, nobody sends the next one of that chat.
        assert outbox.claim_head(session, chat_id=7, worker_id="w2", alive={"w1", "w2"}).row is None
        assert outbox.claim_head(session, chat_id=BIG_CHAT, worker_id="w2", alive={"w1", "w2"}).row
    with session_scope(engine) as session:
        assert outbox.mark_sent(session, outbox_id=first.id or 0, worker_id="w1", message_id=11)
        second = outbox.claim_head(session, chat_id=7, worker_id="w1", alive={"w1"}).row
        assert second is not None and second.params() == {"text": "2"}
    later = utcnow() + timedelta(seconds=60)
    with session_scope(engine) as session:
        assert outbox.mark_retry(
            session, outbox_id=second.id or 0, worker_id="w1", not_before=later, error="X"
        )
    with session_scope(engine) as session:
        waiting = outbox.claim_head(session, chat_id=7, worker_id="w1", alive={"w1"})
        assert waiting.row is None and waiting.retry_at is not None


def test_a_send_left_by_a_dead_worker_is_taken_over_and_recorded_once(engine: Engine) -> None:
    with session_scope(engine) as session:
        (row_id,) = outbox.enqueue(session, outgoing=[_msg(9, "hoi")])
    with session_scope(engine) as session:
        assert outbox.claim_head(session, chat_id=9, worker_id="dead", alive={"dead"}).row
    with session_scope(engine) as session:
        taken = outbox.claim_head(session, chat_id=9, worker_id="w2", alive={"w2"}).row
        assert taken is not None and taken.id == row_id
    with session_scope(engine) as session:
        # The dead worker's late outcome does not count; the live worker's does.
        assert not outbox.mark_sent(session, outbox_id=row_id, worker_id="dead", message_id=1)
        assert outbox.mark_sent(session, outbox_id=row_id, worker_id="w2", message_id=2)
    with Session(engine) as session:
        row = session.get(TelegramOutbox, row_id)
        assert row is not None and row.status == OutboxStatus.SENT and row.message_id == 2


def test_refs_keyboards_and_long_payloads(engine: Engine) -> None:
    with session_scope(engine) as session:
        (row_id,) = outbox.enqueue(
            session,
            outgoing=[
                Outgoing(chat_id=3, method="sendMessage", params={"text": "c"}, ref="case:4")
            ],
        )
        outbox.claim_head(session, chat_id=3, worker_id="w", alive={"w"})
    with session_scope(engine) as session:
        outbox.mark_sent(session, outbox_id=row_id, worker_id="w", message_id=99)
    with session_scope(engine) as session:
        assert outbox.ref_of_message(session, chat_id=3, message_id=99) == "case:4"
        assert outbox.ref_of_message(session, chat_id=3, message_id=98) is None
        outbox.mark_keyboard_pressed(session, chat_id=BIG_CHAT, message_id=9)
        assert outbox.is_keyboard_pressed(session, chat_id=BIG_CHAT, message_id=9)
        key = outbox.store_callback_payload(session, payload="p" * 300)
        assert key == outbox.store_callback_payload(session, payload="p" * 300)
        assert outbox.load_callback_payload(session, key=key) == "p" * 300


def test_workers_alive_by_heartbeat(engine: Engine) -> None:
    with session_scope(engine) as session:
        workers.register(session, worker_id="a")
        workers.register(session, worker_id="b")
    with session_scope(engine) as session:
        assert workers.alive(session) == {"a", "b"}
        later = workers.DEAD_AFTER + timedelta(seconds=1)
        assert workers.alive(session, later=later) == set()
        workers.unregister(session, worker_id="b")
        assert workers.alive(session) == {"a"}


def test_a_flooded_chats_older_replies_give_way_to_the_newest(engine: Engine) -> None:
    def reply(text: str) -> Outgoing:
        return Outgoing(7, "sendMessage", {"text": text}, kind=outbox.REPLY_KIND)

    with session_scope(engine) as session:
        older = [reply(str(n)) for n in range(outbox.FLOOD_BACKLOG - 1)]
        outbox.enqueue(session, outgoing=[*older, _msg(7, "from the coach"), _msg(8, "other")])
    with session_scope(engine) as session:
        outbox.enqueue_claimed(session, outgoing=[reply("newest")], worker_id="w1")
    with Session(engine) as session:
        rows = session.exec(select(TelegramOutbox).order_by(col(TelegramOutbox.id))).all()
    status = {row.id: row.status for row in rows}
    assert [status[row.id] for row in rows[: len(older)]] == [OutboxStatus.SUPERSEDED] * len(older)
    assert all(row.payload == "{}" for row in rows[: len(older)])  # no text kept
    assert [row.params()["text"] for row in rows if row.status == OutboxStatus.PENDING] == [
        "from the coach",
        "other",
        "newest",
    ]


def test_a_held_message_waits_for_the_card_of_its_case(engine: Engine) -> None:
    def held(ref: str) -> Outgoing:
        return Outgoing(5, "sendMessage", {"text": "aan Anna"}, ref=ref, held=True)

    with session_scope(engine) as session:
        outbox.enqueue_claimed(session, outgoing=[held("case:3")], worker_id="w1")
        assert outbox.chats_with_pending(session) == []  # nobody sends it yet
    with session_scope(engine) as session:
        assert outbox.release_held(session, ref="case:3") == [5]  # the card went out
        assert outbox.chats_with_pending(session) == [5]
    with session_scope(engine) as session:
        outbox.enqueue(session, outgoing=[held("case:4")])
        assert outbox.drop_held(session, ref="case:4")  # the card was refused
        assert not outbox.drop_held(session, ref="case:4")
