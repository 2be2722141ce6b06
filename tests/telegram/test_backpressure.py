"""Back-pressure (README, "Overload"): a turn starts only while turns under way plus the outbox's
messages in hand leave room, the oldest waiting update first. When the Bot API stops answering,
the outbox fills and no new turn begins; the waiting updates stay stored in the inbox; once the
sends go through, every turn runs, in order of arrival, each answered once."""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.conversation import Prepared, TurnOutcome
from bot.engine.messages import Inbound, Reply
from storage.models import InboxUpdate
from tests.fake_telegram import FakeTelegram

PEOPLE = [8101, 8102, 8103, 8104, 8105, 8106, 8107]
ROOM = 3


class RecordingConversation:
    """Answers each message with one reply; records the order in which turns began."""

    def __init__(self) -> None:
        self.began: list[int] = []

    def peek(self, session: Session, channel: str, external_id: str) -> None:
        return None

    def remembered(self, channel: str, telegram_id: int) -> None:
        return None

    async def prepare(
        self, channel: str, external_id: str, inbound: Inbound, state: object = None
    ) -> Prepared:
        self.began.append(int(external_id))
        return Prepared(channel, external_id, inbound, None, asked_nlu=False)

    def apply(self, session: Session, prepared: Prepared) -> TurnOutcome:
        return TurnOutcome([Reply(f"Je schreef: {prepared.inbound.text}")])


def unprocessed(engine: Engine) -> int:
    with Session(engine) as session:
        return len(session.exec(select(InboxUpdate).where(InboxUpdate.status == "new")).all())


async def test_a_full_outbox_starts_no_new_turn_and_the_waiting_ones_run_oldest_first_after(
    fake_telegram: FakeTelegram, start_bot, telegram_db: Engine
):
    conversation = RecordingConversation()
    bot = await start_bot(conversation, turn_room=ROOM)
    fake_telegram.hold("sendMessage")  # Telegram stops answering: sends stay under way
    for person in PEOPLE:
        await fake_telegram.send_text(person, f"hallo van {person}")
    await fake_telegram.wait_until(lambda: fake_telegram.held >= ROOM, timeout=10)
    await asyncio.sleep(1.0)  # time enough for any further turn to begin (none may)

    # The outbox holds ROOM messages: no turn beyond those began; the rest wait, stored.
    assert conversation.began == PEOPLE[:ROOM]
    assert fake_telegram.held == ROOM
    assert bot.drainer.depth() == ROOM
    assert bot.dispatcher.waiting() == len(PEOPLE) - ROOM
    assert unprocessed(telegram_db) == len(PEOPLE) - ROOM

    fake_telegram.release()  # the sends go through: room again
    for person in PEOPLE:
        await fake_telegram.wait_for(person, 1, timeout=10)
    assert conversation.began == PEOPLE  # the oldest waiting update first
    await asyncio.sleep(0.5)
    for person in PEOPLE:
        assert fake_telegram.texts(person) == [f"Je schreef: hallo van {person}"]  # once
    assert unprocessed(telegram_db) == 0


async def test_room_counts_turns_under_way_too(fake_telegram: FakeTelegram, start_bot):
    """With an empty outbox, at most ROOM turns run at once."""

    class Slow(RecordingConversation):
        def __init__(self) -> None:
            super().__init__()
            self.now = 0
            self.most = 0

        async def prepare(
            self, channel: str, external_id: str, inbound: Inbound, state: object = None
        ) -> Prepared:
            self.now += 1
            self.most = max(self.most, self.now)
            try:
                await asyncio.sleep(0.3)
                return await super().prepare(channel, external_id, inbound, state)
            finally:
                self.now -= 1

    conversation = Slow()
    await start_bot(conversation, turn_room=ROOM)
    for person in PEOPLE:
        await fake_telegram.send_text(person, "hoi")
    for person in PEOPLE:
        await fake_telegram.wait_for(person, 1, timeout=15)
    assert conversation.most == ROOM
