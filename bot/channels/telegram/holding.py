"""The overload notice (README, "Overload"): a participant whose message has waited HOLD_AFTER
seconds since it arrived — in the inbox for room, or in its turn (the NLU) — gets "Eén moment,
ik ben er zo." / "One moment, I'll be right with you." once, then the answer.

Once per wait. A chat that was told is not told again until the turn of the message it was
told for (or a later one of that chat) commits, its answer in the outbox: several messages
waiting in one chat, a turn tried again after a failure, a turn that started after its notice
went out — one notice. A told chat whose turn
never commits here (given back to another worker) is forgotten after `FORGET_AFTER`.

Sent straight to the Bot API (`rawapi`), best effort, not through the outbox: it is no answer,
only a sign of life, and it must not wait behind the work it announces (under overload the
outbox holds the backlog; a row per notice would also cost a transaction exactly when the
database is busiest). The turn waits for it to be sent before committing, so it never arrives
after the answer. The price: a kill -9 after the notice and before the turn's commit may make
it go out once more after the restart (if the message waits again there); never more than once
per restart. At most HOLD_PER_SECOND a second per process (the rest skipped and counted): when
the bot's own CPU is short, a notice per waiting message would add Bot API calls.

Cheap when nothing waits: one dict entry per message while it waits for its turn, and one timer
on the event loop for the oldest (`call_later`); only a notice that is due gets a task.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

from telegram import Bot

from bot.channels.telegram import rawapi
from bot.engine.render import both_languages
from bot.flows.catalogue import Key
from bot.flows.registry import FlowSource
from bot.nlu.admission import HOLD_AFTER, NoticeBudget
from bot.ops import metrics
from storage.inbox import Claimed

log = logging.getLogger(__name__)
FORGET_AFTER = 60.0  # seconds: a told chat whose answer never committed here may be told again


class Holding:
    """One process's notices: messages waiting for their turn, and chats told to wait."""

    def __init__(
        self,
        bot: Bot,
        flows: FlowSource,
        *,
        chat_to_tell: Callable[[Claimed], int | None],
        budget: NoticeBudget | None = None,
        after: float = HOLD_AFTER,
    ) -> None:
        self._bot = bot
        self._flows = flows
        self._chat_to_tell = chat_to_tell  # whose message earns a notice (participants)
        self._budget = budget or NoticeBudget()
        self.after = after
        self._waiting: dict[int, Claimed] = {}  # inbox row id → its update, oldest first
        self._timer: asyncio.TimerHandle | None = None
        # chat → (when, the inbox row it was told for, the notice)
        self._told: dict[int, tuple[float, int, asyncio.Task[None]]] = {}

    # -- messages waiting for their turn -------------------------------------------------------

    def arrived(self, items: Iterable[Claimed]) -> None:
        """Updates this process has just stored (in arrival order): they wait for their turn."""
        for item in items:
            self._waiting[item.id] = item
        self._schedule()

    def begun(self, claimed: Claimed) -> None:
        """Its turn started: from here the turn's own hold (`hold`) watches it."""
        self._waiting.pop(claimed.id, None)

    def _schedule(self) -> None:
        if self._timer is not None or not self._waiting:
            return
        oldest = next(iter(self._waiting.values()))
        delay = max(0.0, oldest.received + self.after - time.monotonic())
        self._timer = asyncio.get_running_loop().call_later(delay, self._due)

    def _due(self) -> None:
        self._timer = None
        now = time.monotonic()
        while self._waiting:
            row_id, item = next(iter(self._waiting.items()))
            if item.received + self.after > now:
                break
            del self._waiting[row_id]
            chat_id = self._chat_to_tell(item)
            if chat_id is not None:
                self.tell(chat_id, row_id)
        self._schedule()

    # -- chats told to wait --------------------------------------------------------------------

    def tell(self, chat_id: int, row_id: int) -> None:
        """Tell this chat "Eén moment…" for inbox row `row_id`, unless told already this wait."""
        now = time.monotonic()
        told = self._told.get(chat_id)
        if told is not None and now - told[0] < FORGET_AFTER:
            return
        task = asyncio.get_running_loop().create_task(self._send(chat_id), name="one-moment")
        self._told[chat_id] = (now, row_id, task)
        if len(self._told) > 10_000:  # chats whose answer never committed here
            self._told.pop(next(iter(self._told)))

    def told(self, chat_id: int) -> asyncio.Task[None] | None:
        """This chat's notice in this wait (sent, skipped or under way), if it has one."""
        told = self._told.get(chat_id)
        return told[2] if told is not None else None

    def answered(self, chat_id: int, row_id: int) -> None:
        """The turn of inbox row `row_id` of this chat committed: once it is the one the chat
        was told for (or a later one), the chat's next wait may earn a notice again."""
        told = self._told.get(chat_id)
        if told is not None and told[1] <= row_id:
            del self._told[chat_id]

    async def _send(self, chat_id: int) -> None:
        if not self._budget.take():
            metrics.HOLDING_NOTICES_SKIPPED.inc()
            return
        metrics.HOLDING_NOTICES.inc()
        try:
            text = both_languages(self._flows.current, Key.ONE_MOMENT)
            params = {"chat_id": chat_id, "text": text}
            await asyncio.wait_for(rawapi.call(self._bot, rawapi.SEND_MESSAGE, params), 3)
        except Exception as exc:
            log.info("one-moment notice not sent (%s)", type(exc).__name__)

    def hold(self, claimed: Claimed) -> Hold:
        return Hold(self, claimed)


class Hold:
    """One turn's watch: armed for a chat when the turn may be slow (the NLU, a press); due
    HOLD_AFTER after the message arrived. A timer on the event loop, not a task per turn:
    nearly every turn ends before it is due, and a cancelled timer costs next to nothing."""

    __slots__ = ("_chat_id", "_due", "_holding", "_row", "_timer")

    def __init__(self, holding: Holding, claimed: Claimed) -> None:
        self._holding = holding
        self._row = claimed.id
        self._due = claimed.received + holding.after
        self._chat_id: int | None = None
        self._timer: asyncio.TimerHandle | None = None

    def arm(self, chat_id: int) -> None:
        """Watch this turn for `chat_id` (again after a prepare that was redone)."""
        if self._timer is not None:
            return
        self._chat_id = chat_id
        if self._holding.told(chat_id) is not None:
            return  # told while it waited for room: settle waits for that notice
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(max(0.0, self._due - time.monotonic()), self._fire)

    def _fire(self) -> None:
        self._timer = None
        assert self._chat_id is not None
        self._holding.tell(self._chat_id, self._row)

    async def settle(self) -> None:
        """Before the commit. Not due yet: never sent. Due (also when the busy loop has not run
        the timer yet) or told while waiting and under way: wait for it, so that the notice
        comes before the answer."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            if time.monotonic() < self._due:
                return
            self._fire()
        if self._chat_id is None:
            return
        sending = self._holding.told(self._chat_id)
        if sending is not None and not sending.done():
            await asyncio.gather(sending, return_exceptions=True)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
