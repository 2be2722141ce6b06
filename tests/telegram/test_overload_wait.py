"""The overload policy for a message that waits (README, "Overload"), through PTB's real HTTP
path and the fake Bot API, with the real admission (bot/nlu/admission.py) in front of an HTTP
server that answers like Rasa:

- a message that waited for room longer than its NLU budget is still parsed by Rasa (the
  budget counts from the turn's start, not from the message's arrival);
- a message that waits for room hears "Eén moment…" while it waits, once, then its answer;
- a turn that fails after its notice and runs again does not announce itself twice;
- a message that did not wait gets its answer alone.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlmodel import Session

from bot.conversation import Prepared, TurnOutcome
from bot.engine.messages import Inbound, Reply
from bot.nlu.admission import Admission
from bot.nlu.client import NluClient
from tests.fake_telegram import FakeTelegram
from tests.test_nlu_admission import slow_rasa

__all__ = ["slow_rasa"]  # the fixture, used by name below

FIRST, WAITING = 6101, 6102
ONE_MOMENT = "Eén moment, ik ben er zo."


class UnderstandingConversation:
    """A participant's turn as the service runs it: the text through the admission (Rasa, or
    keywords when the admission sheds it). Turns of `blocked` wait until `go` is set."""

    def __init__(self, admission: Admission, blocked: int | None = None) -> None:
        self.admission = admission
        self.blocked = blocked
        self.go = asyncio.Event()
        self.began: list[int] = []
        self.fail_once: set[int] = set()

    def peek(self, session: Session, channel: str, external_id: str) -> None:
        return None

    def remembered(self, channel: str, telegram_id: int) -> None:
        return None

    async def prepare(
        self, channel: str, external_id: str, inbound: Inbound, state: object = None
    ) -> Prepared:
        person = int(external_id)
        self.began.append(person)
        if person == self.blocked:
            await self.go.wait()
        result = await self.admission.parse(inbound.text)
        return Prepared(channel, external_id, inbound, result, asked_nlu=True)

    def apply(self, session: Session, prepared: Prepared) -> TurnOutcome:
        person = int(prepared.external_id)
        if person in self.fail_once:
            self.fail_once.discard(person)
            raise RuntimeError("a bug in this turn, once")
        how = "Rasa" if prepared.nlu is not None and prepared.nlu.available else "trefwoorden"
        return TurnOutcome([Reply(f"{how}: {prepared.inbound.text}")])


async def _client(slow_rasa: dict[str, Any]) -> NluClient:
    return NluClient(slow_rasa["url"], timeout=1.0)


async def test_a_message_that_waited_past_its_budget_is_parsed_by_rasa_after_one_notice(
    fake_telegram: FakeTelegram, start_bot, slow_rasa
):
    client = await _client(slow_rasa)
    # Budget 1 s: the waiting message's notice (2 s after it arrived) shows it waited longer.
    conversation = UnderstandingConversation(Admission(client, budget=1.0), blocked=FIRST)
    await start_bot(conversation, turn_room=1)  # one turn at a time: the second one waits
    await fake_telegram.send_text(FIRST, "ik ben mijn baan kwijt")
    await fake_telegram.wait_until(lambda: conversation.began == [FIRST])
    await fake_telegram.send_text(WAITING, "mijn contract stopt")

    # It hears "Eén moment…" while it waits for room: its turn has not begun.
    notice = await fake_telegram.wait_for(WAITING, 1, timeout=10)
    assert notice[0]["text"].startswith(ONE_MOMENT) and "One moment" in notice[0]["text"]
    assert conversation.began == [FIRST]

    conversation.go.set()
    await fake_telegram.wait_for(WAITING, 2, timeout=10)
    await fake_telegram.wait_for(FIRST, 2, timeout=10)
    await asyncio.sleep(0.5)  # anything sent twice would be in by now
    # One notice, then the answer, which Rasa understood although the wait outlasted the budget.
    assert fake_telegram.texts(WAITING)[1:] == ["Rasa: mijn contract stopt"]
    assert fake_telegram.texts(FIRST)[0].startswith(ONE_MOMENT)  # its own turn was slow
    # (its own turn outlasted its budget, so keywords answered it: not what this test is about)
    assert len(fake_telegram.texts(FIRST)) == 2
    await client.aclose()


async def test_a_turn_that_fails_after_its_notice_does_not_announce_itself_twice(
    fake_telegram: FakeTelegram, start_bot, slow_rasa
):
    client = await _client(slow_rasa)
    conversation = UnderstandingConversation(Admission(client, budget=1.0), blocked=FIRST)
    conversation.fail_once.add(FIRST)
    await start_bot(conversation)
    await fake_telegram.send_text(FIRST, "ik zoek werk")
    await fake_telegram.wait_for(FIRST, 1, timeout=10)  # the notice: the turn is slow
    conversation.go.set()  # it fails once, then runs again (with the go still set)
    await fake_telegram.wait_for(FIRST, 2, timeout=10)
    await asyncio.sleep(0.5)
    texts = fake_telegram.texts(FIRST)
    assert len(texts) == 2 and texts[0].startswith(ONE_MOMENT)
    assert texts[1].endswith(": ik zoek werk")
    await client.aclose()


async def test_a_message_that_did_not_wait_gets_its_answer_alone(
    fake_telegram: FakeTelegram, start_bot, slow_rasa
):
    client = await _client(slow_rasa)
    conversation = UnderstandingConversation(Admission(client, budget=1.0))
    await start_bot(conversation, turn_room=1)
    for person in (FIRST, WAITING):  # the second waits for room, but only a moment
        await fake_telegram.send_text(person, "hallo")
    await fake_telegram.wait_for(WAITING, 1, timeout=10)
    await asyncio.sleep(2.5)  # past the notice's time: none was due, none comes late
    assert fake_telegram.texts(FIRST) == ["Rasa: hallo"]
    assert fake_telegram.texts(WAITING) == ["Rasa: hallo"]
    await client.aclose()
