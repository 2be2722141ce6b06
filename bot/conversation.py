"""The conversation service every channel calls: one participant turn in, replies out.

A turn has two halves, so that the slow part never holds a database transaction:

    prepared = await service.prepare(channel, user, inbound)    # reads, asks the NLU if needed
    with session_scope(db) as session:                           # the update's one transaction
        outcome = service.apply(session, prepared)               # engine, state, case, log

`apply` serialises the turns of one participant (a lock per participant, across processes) and
writes everything the turn caused in the caller's transaction: the state, the message log,
consent, a new case and the desk's notices for the coach. A channel adds its own writes (the
outbox, the inbox mark) to the same transaction. `handle` does both halves for callers without
a transaction of their own (the terminal chat, tests). Logs carry no message text.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import Session

from bot.desk import service as desk
from bot.desk.notices import Notice, To
from bot.desk.people import coach_ref
from bot.engine.bsn import remove_bsn
from bot.engine.effects import (
    CaseUpdated,
    ConsentGiven,
    ConsentWithdrawn,
    FollowUpGiven,
    HandoffRequested,
)
from bot.engine.engine import TurnResult, needs_nlu, turn
from bot.engine.messages import Inbound, Reply
from bot.engine.render import render
from bot.engine.slot_values import clean_text
from bot.engine.state import ConversationState
from bot.flows.catalogue import Key
from bot.flows.flowset import FlowSet
from bot.flows.registry import FlowSource
from bot.nlu import review
from bot.nlu.client import NluParser, NluResult
from storage.cases import open_case_of_participant
from storage.coaches import get_coach
from storage.conversations import (
    StaleConversation,
    StoredConversation,
    TurnContext,
    load_turn_context,
    peek_turn_context,
    save_conversation,
)
from storage.database import call, runs_in_thread, session_scope
from storage.follow_ups import record_follow_up
from storage.messages import LogEntry, log_messages
from storage.models import Direction, utcnow
from storage.nlu_review import delete_for_participant as forget_review_items
from storage.participants import update_participant
from storage.senders import Sender, remember_turn, remembered

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3
_T = TypeVar("_T")


class NeedsNlu(Exception):
    """The state changed since `prepare` and the turn now needs the NLU: prepare again."""


@dataclass(frozen=True, slots=True)
class Prepared:
    channel: str
    external_id: str
    inbound: Inbound
    nlu: NluResult | None
    asked_nlu: bool


@dataclass
class TurnOutcome:
    replies: list[Reply]
    notices: list[Notice] = field(default_factory=list)  # for coaches / the coordinator
    language: str = "nl"
    case_id: int | None = None  # a case this turn created or added to
    # The last reply says which coach got the new case `confirms_case`: only true once the
    # coach's card is delivered (a channel may hold it until then).
    confirms_case: int | None = None


@dataclass(frozen=True, slots=True)
class Remembered:
    """Who sent it and, for a participant, their state: a hint (`ConversationService.remembered`)."""

    sender: Sender
    state: ConversationState | None  # None: no participant, or not known here


class TurnService(Protocol):
    """What a channel needs from the conversation: the two halves of a turn."""

    def peek(self, session: Session, channel: str, external_id: str) -> ConversationState | None:
        """The stored state, read in the caller's transaction (reads only; None: not needed
        or nobody yet). The channel reads it together with who sent the update."""
        ...

    async def prepare(
        self,
        channel: str,
        external_id: str,
        inbound: Inbound,
        state: ConversationState | None = None,
    ) -> Prepared: ...

    def apply(self, session: Session, prepared: Prepared) -> TurnOutcome: ...

    def remembered(self, channel: str, telegram_id: int) -> Remembered | None:
        """Who sent it and their state as this process last knew them (a hint; None: not
        known here)."""
        ...


class ConversationService:
    def __init__(
        self,
        *,
        engine: Engine,
        flows: FlowSource,
        nlu: NluParser,
        db_in_thread: bool | None = None,
    ) -> None:
        self._db = engine
        # PostgreSQL round trips would block the event loop, so they run in a worker thread.
        # SQLite work is local and well under a millisecond: a thread hop would cost more.
        self._db_in_thread = runs_in_thread(engine) if db_in_thread is None else db_in_thread
        self._flows = flows
        self._nlu = nlu

    @property
    def flows(self) -> FlowSet:
        return self._flows.current

    # -- the two halves ------------------------------------------------------------------------

    def peek(self, session: Session, channel: str, external_id: str) -> ConversationState | None:
        loaded = peek_turn_context(session, channel=channel, external_id=external_id)
        return ConversationState() if loaded is None else self._state_of(loaded)

    def remembered(self, channel: str, telegram_id: int) -> Remembered | None:
        """Who sent it and their state as this process last knew them, without the database:
        the hint that can replace the read before a turn (storage/senders.py `Remembered`:
        the turn's transaction reads again and decides). None: nothing known here yet."""
        known = remembered(self._db, channel=channel, telegram_id=telegram_id)
        if known is None:
            return None
        state = self._state_of(known.context) if known.context is not None else None
        return Remembered(known.sender, state)

    async def prepare(
        self,
        channel: str,
        external_id: str,
        inbound: Inbound,
        state: ConversationState | None = None,
    ) -> Prepared:
        """Everything slow, outside any transaction: the NLU, when this turn needs it. `state`:
        as the caller just read it (`peek`), else read here."""
        if inbound.text is not None:
            inbound = Inbound(text=clean_text(inbound.text), payload=inbound.payload)
        if not inbound.text or inbound.payload is not None:
            return Prepared(channel, external_id, inbound, None, asked_nlu=False)
        if state is None:
            state = await self.db_call(self._peek_state, channel, external_id)
        if not needs_nlu(self.flows, state, inbound):
            return Prepared(channel, external_id, inbound, None, asked_nlu=False)
        said = remove_bsn(inbound.text)  # a BSN is never sent anywhere (bot/engine/bsn.py)
        nlu = await self._nlu.parse(said) if said else None
        return Prepared(channel, external_id, inbound, nlu, asked_nlu=True)

    def apply(self, session: Session, prepared: Prepared) -> TurnOutcome:
        """The turn, in the caller's transaction. Raises `NeedsNlu` or `StaleConversation` when
        it must be prepared again (the caller retries)."""
        flows = self.flows
        # No lock: two turns of one participant that race (a takeover, two callers of `handle`)
        # are told apart by the conversation's version — the later save fails and its turn runs
        # again on the fresh state. (A Telegram chat's updates are in order by the inbox anyway.)
        # The context may come with the read of who sent the update (storage/senders.py).
        loaded = load_turn_context(
            session, channel=prepared.channel, external_id=prepared.external_id
        )
        state = self._state_of(loaded)
        if state.handed_off and not open_case_of_participant(
            session, participant_id=loaded.participant_id
        ):
            state.handed_off = False  # the coach closed it: asking again starts a new request
        inbound = prepared.inbound
        if not prepared.asked_nlu and needs_nlu(flows, state, inbound):
            raise NeedsNlu
        nlu = prepared.nlu if needs_nlu(flows, state, inbound) else None
        started = time.perf_counter()
        try:
            result = turn(flows, state, inbound, nlu, channel=prepared.channel)
        except Exception as exc:  # a bug must cost one polite answer, not the conversation
            # Only where it failed: exception messages may quote what was typed.
            where = " < ".join(
                f"{Path(f.filename).name}:{f.lineno} {f.name}"
                for f in reversed(traceback.extract_tb(exc.__traceback__)[-4:])
            )
            log.error("engine failed: %s at %s", type(exc).__name__, where)
            return TurnOutcome([Reply(render(flows, Key.ERROR, state.language, {}))])
        if inbound.text:
            inbound = Inbound(text=remove_bsn(inbound.text), payload=inbound.payload)  # nor kept
        outcome, saved = self._save(session, flows, loaded, inbound, result, nlu, state.active_flow)
        remember_turn(
            session, channel=prepared.channel, external_id=prepared.external_id, context=saved
        )
        log.info(
            "turn participant=%s flow=%s intent=%s confidence=%s nlu=%s replies=%d ms=%.1f",
            loaded.participant_id,
            result.state.active_flow,
            result.intent,
            f"{result.confidence:.2f}" if result.confidence is not None else "-",
            "down" if nlu is not None and not nlu.available else ("yes" if nlu else "no"),
            len(outcome.replies),
            (time.perf_counter() - started) * 1000,
        )
        return outcome

    async def handle(self, channel: str, external_id: str, inbound: Inbound) -> TurnOutcome:
        """Both halves, in a transaction of its own."""
        for _attempt in range(MAX_ATTEMPTS):
            prepared = await self.prepare(channel, external_id, inbound)
            try:
                return await self.db_call(self._apply_in_transaction, prepared)
            except (NeedsNlu, StaleConversation):
                continue
        log.error("participant turn abandoned after %d attempts", MAX_ATTEMPTS)
        return TurnOutcome([Reply(render(self.flows, Key.ERROR, "nl", {}))])

    def _apply_in_transaction(self, prepared: Prepared) -> TurnOutcome:
        with session_scope(self._db) as session:
            return self.apply(session, prepared)

    async def db_call(self, func: Callable[..., _T], *args: Any) -> _T:
        return await call(func, *args, in_thread=self._db_in_thread)

    # -- inside the transaction ----------------------------------------------------------------

    def _peek_state(self, channel: str, external_id: str) -> ConversationState:
        with session_scope(self._db) as session:
            state = self.peek(session, channel, external_id)
        return state if state is not None else ConversationState()

    def _state_of(self, loaded: TurnContext) -> ConversationState:
        if loaded.conversation.state is None:
            return ConversationState()
        try:
            return ConversationState.model_validate(loaded.conversation.state)
        except ValidationError:
            log.warning("participant %s: unreadable state, starting afresh", loaded.participant_id)
            return ConversationState(welcomed=True)

    def _save(
        self,
        session: Session,
        flows: FlowSet,
        loaded: TurnContext,
        inbound: Inbound,
        result: TurnResult,
        nlu: NluResult | None = None,
        flow_before: str | None = None,
    ) -> tuple[TurnOutcome, TurnContext]:
        """Everything the turn caused; with the participant's context as it now stands."""
        state = result.state
        pid = loaded.participant_id
        outcome = TurnOutcome(list(result.replies), language=state.language)
        stored = state.model_dump(mode="json")
        version = save_conversation(
            session,
            participant_id=pid,
            state=stored,
            expected_version=loaded.conversation.version,
        )
        consent_at = loaded.consent_at
        for effect in result.effects:
            if isinstance(effect, ConsentGiven):
                consent_at = consent_at or utcnow()
            elif isinstance(effect, ConsentWithdrawn):
                consent_at = None
            elif isinstance(effect, HandoffRequested):
                outcome.replies.append(self._handoff(session, flows, state, pid, effect, outcome))
            elif isinstance(effect, CaseUpdated):
                outcome.notices.extend(_case_updated(session, pid, effect))
            elif isinstance(effect, FollowUpGiven):
                record_follow_up(
                    session, participant_id=pid, rating=effect.rating, remark=effect.remark
                )
        if state.language != loaded.language or consent_at != loaded.consent_at:
            update_participant(
                session, participant_id=pid, language=state.language, consent_at=consent_at
            )
        # Text is kept for audit only with consent; intent and timing always (statistics).
        keep_text = consent_at is not None
        if keep_text and inbound.text:
            # Messages the model was unsure about, masked, for an admin to label.
            review.queue_if_unsure(
                session,
                participant_id=pid,
                text=inbound.text,
                nlu=nlu,
                commands=result.commands,
                flow_before=flow_before,
            )
        elif loaded.consent_at is not None and consent_at is None:
            forget_review_items(session, participant_id=pid)
        inbound_text = inbound.text if inbound.text is not None else f"[{inbound.payload}]"
        flow = state.active_flow
        entries = [
            LogEntry(
                Direction.IN,
                inbound_text if keep_text else None,
                result.intent,
                result.confidence,
                flow,
            ),
            *(
                LogEntry(Direction.OUT, reply.text if keep_text else None, flow=flow)
                for reply in outcome.replies
            ),
        ]
        log_messages(session, participant_id=pid, entries=entries)
        saved = TurnContext(pid, state.language, consent_at, StoredConversation(stored, version))
        return outcome, saved

    def _handoff(
        self,
        session: Session,
        flows: FlowSet,
        state: ConversationState,
        participant_id: int,
        effect: HandoffRequested,
        outcome: TurnOutcome,
    ) -> Reply:
        handoff = desk.handoff(
            session,
            participant_id=participant_id,
            region_code=effect.region_code,
            topic=effect.topic,
            language=effect.language,
            summary=[
                {
                    "slot": line.slot,
                    "label": line.label,
                    "value": line.value,
                    "raw": line.raw,
                    "role": line.role or "",
                }
                for line in effect.summary
            ],
        )
        outcome.notices.extend(handoff.notices)
        outcome.case_id = handoff.case_id
        slots = state.known()
        if handoff.existing:
            who = (
                handoff.coach.first_name
                if handoff.coach
                else render(flows, Key.OUR_TEAM, state.language, {})
            )
            return Reply(
                render(flows, Key.REQUEST_ALREADY_OPEN, state.language, slots, {"who": who})
            )
        if handoff.coach is not None:
            outcome.confirms_case = handoff.case_id
            extra = {"coach_name": handoff.coach.name, "union": handoff.coach.union}
            return Reply(render(flows, Key.HANDOFF_ASSIGNED, state.language, slots, extra))
        return Reply(render(flows, Key.HANDOFF_COORDINATOR, state.language, slots))


def _case_updated(session: Session, participant_id: int, effect: CaseUpdated) -> list[Notice]:
    """New contact details after the handoff: into the open case's summary, and one short line
    to whoever has the case (no second card)."""
    case = open_case_of_participant(session, participant_id=participant_id)
    if case is None or case.id is None:
        return []
    new = {line.slot: line for line in effect.lines}
    summary = [
        {**item, "value": new[item["slot"]].value, "raw": new[item["slot"]].raw}
        if item.get("slot") in new
        else item
        for item in case.summary
    ]
    had = {item.get("slot") for item in case.summary}
    summary += [
        {"slot": x.slot, "label": x.label, "value": x.value, "raw": x.raw, "role": x.role or ""}
        for x in effect.lines
        if x.slot not in had
    ]
    case.summary = summary  # a new list: the JSON column sees the change
    session.add(case)
    coach = get_coach(session, coach_id=case.coach_id) if case.coach_id else None
    fields = "; ".join(f"{line.label.lower()} {line.value}" for line in effect.lines)
    return [
        Notice(
            To.COACH if coach is not None else To.COORDINATOR,
            Key.DESK_CASE_UPDATED,
            {"case": str(case.id), "fields": fields},
            coach=coach_ref(coach) if coach is not None else None,
            case_id=case.id,
        )
    ]
