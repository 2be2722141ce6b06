"""Simulated Telegram participants against the fake Bot API: open loop and closed loop.

- Open loop (`open_loop`): messages arrive at a fixed rate R (Poisson or evenly spaced),
  whatever the bot's latency, as Telegram delivers them. Each message comes from a participant
  who is free to write: one who got the first answer to their previous message and then read
  for `think` seconds (the longest-waiting one first). When nobody is free, a new participant
  starts, so the arrival rate never waits on the bot.
- Closed loop (`closed_loop`): N participants each write, wait for the answer, think
  (uniformly 0.5-1.5 x `think`), write again: the rate follows the bot. With a short think
  time and many users this measures capacity.

Replies are timed by the fake server's `on_sent` hook (time of the sendMessage call). Which
turn a bot message belongs to is decided afterwards (`attribute`): with the bot's
processed-update marks (commit time of each turn), a message belongs to the last turn of its
chat committed before it, which is exact even when one turn's last messages arrive after the
participant's next message; without them, to the last turn sent before it (approximate).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.fake_telegram import FakeTelegram

# What people type, in the order a participant might (start, explain, answer, ask).
SCRIPT = [
    "/start",
    "ik ben mijn baan kwijt",
    "ja",
    "Sam",
    "Utrecht",
    "wat kost het",
    "mn contract word nie verlengd",
    "ik wil met een coach praten",
    "I work through an agency and they stopped calling me",
    "/stop",
]
FIRST_USER = 100_000
HOLDING_NOTICE = "Eén moment"  # flows/texts.yml one_moment (nl first)
ANSWER_TIMEOUT = 30.0  # closed loop: a participant gives up waiting and writes again


@dataclass
class Turn:
    """One participant message and, after `attribute`, what the bot did with it."""

    user_id: int
    update_id: int
    sent: float  # wall clock (time.time()), as the bot's processed marks are
    processed: float | None = None  # commit of the turn (processed mark), if known
    first: float | None = None  # first bot message of this turn arrived
    last: float | None = None
    messages: int = 0

    @property
    def reply_ms(self) -> float:
        return (self.first - self.sent) * 1000 if self.first is not None else float("inf")

    @property
    def last_reply_ms(self) -> float:
        return (self.last - self.sent) * 1000 if self.last is not None else float("inf")

    @property
    def processed_ms(self) -> float:
        return (self.processed - self.sent) * 1000 if self.processed is not None else float("inf")


@dataclass
class _Participant:
    user_id: int
    step: int
    waiting: asyncio.Future[float] | None = None
    turns: int = 0


@dataclass
class Participants:
    """The simulated people and everything they sent and received."""

    fake: FakeTelegram
    think: float
    seed: int = 1
    turns: list[Turn] = field(default_factory=list)
    received: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    lateness: list[float] = field(default_factory=list)  # open loop: arrivals sent late (s)
    notices: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._people: dict[int, _Participant] = {}
        self._free: deque[_Participant] = deque()
        self._open = False
        self.fake.on_sent = self._on_sent

    # -- bookkeeping -------------------------------------------------------------------------

    def _on_sent(self, chat_id: int, message: dict[str, Any]) -> None:
        now = time.time()
        if str(message.get("text") or "").startswith(HOLDING_NOTICE):
            # "One moment…" under overload (bot/nlu/admission.py) is no answer: people wait on.
            self.notices[chat_id].append(now)
            return
        self.received[chat_id].append(now)
        person = self._people.get(chat_id)
        if person is None or person.waiting is None or person.waiting.done():
            return
        person.waiting.set_result(now)
        if self._open:
            # Reads the answer, then is free to write again.
            asyncio.get_running_loop().call_later(self.think, self._free.append, person)
            person.waiting = None

    def _new_person(self) -> _Participant:
        n = len(self._people)
        # Start people at different points of the script, so that the mix of turns is the
        # same from the first second on (not only greetings while the pool fills up).
        person = _Participant(FIRST_USER + n, step=n % len(SCRIPT))
        self._people[person.user_id] = person
        return person

    async def _write(self, person: _Participant) -> asyncio.Future[float]:
        text = SCRIPT[person.step % len(SCRIPT)]
        person.step += 1
        person.turns += 1
        person.waiting = asyncio.get_running_loop().create_future()
        update_id = self.fake.next_update_id()
        self.turns.append(Turn(person.user_id, update_id, time.time()))
        await self.fake.send_text(person.user_id, text, first_name="Sam", update_id=update_id)
        return person.waiting

    @property
    def people(self) -> int:
        return len(self._people)

    # -- load shapes -------------------------------------------------------------------------

    async def open_loop(self, rate: float, seconds: float, *, poisson: bool = True) -> None:
        """Messages at `rate` per second for `seconds`, from whoever is free to write."""
        self._open = True
        started = time.monotonic()
        due = started
        while True:
            due += self._rng.expovariate(rate) if poisson else 1.0 / rate
            if due >= started + seconds:
                return
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                self.lateness.append(-delay)
            person = self._free.popleft() if self._free else self._new_person()
            await self._write(person)

    async def closed_loop(self, users: int, seconds: float) -> None:
        """`users` participants, each writing again after the answer and some thinking."""
        self._open = False
        stop_at = time.monotonic() + seconds

        async def one(person: _Participant) -> None:
            rng = random.Random(person.user_id)
            await asyncio.sleep(rng.uniform(0, 2 * self.think))  # spread the starts
            while time.monotonic() < stop_at:
                answered = await self._write(person)
                try:
                    await asyncio.wait_for(asyncio.shield(answered), ANSWER_TIMEOUT)
                except TimeoutError:
                    continue
                await asyncio.sleep(rng.uniform(0.5, 1.5) * self.think)

        await asyncio.gather(*(one(self._new_person()) for _ in range(users)))

    async def drain(self, patience: float) -> None:
        """Wait until every message sent has had an answer (or `patience` seconds passed)."""
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline:
            if all(p.waiting is None or p.waiting.done() for p in self._people.values()):
                return
            await asyncio.sleep(0.1)


def attribute(
    turns: list[Turn],
    received: Mapping[int, list[float]],
    processed: Mapping[int, float] | None,
) -> None:
    """Give each turn its bot messages (see the module docstring); fills the Turn fields."""
    by_chat: dict[int, list[Turn]] = defaultdict(list)
    for turn in turns:
        if processed is not None:
            turn.processed = processed.get(turn.update_id)
        by_chat[turn.user_id].append(turn)
    for chat, chat_turns in by_chat.items():
        starts: list[tuple[float, Turn]] = []
        for t in chat_turns:
            begin = t.sent if processed is None else t.processed
            if begin is not None:  # with marks, a turn that never committed gets nothing
                starts.append((begin, t))
        starts.sort(key=lambda pair: pair[0])
        messages = sorted(received.get(chat, []))
        i = 0
        for k, (begin, turn) in enumerate(starts):
            end = starts[k + 1][0] if k + 1 < len(starts) else float("inf")
            while i < len(messages) and messages[i] < begin:
                i += 1  # before any turn of ours (cannot happen with marks) or a gap
            while i < len(messages) and messages[i] < end:
                if turn.first is None:
                    turn.first = messages[i]
                turn.last = messages[i]
                turn.messages += 1
                i += 1
