"""The conversation service every channel calls: one participant turn in, replies out.

    replies = await service.handle("telegram", str(user_id), Inbound(text="..."))

Per turn: load the state, call the NLU only when the engine needs it, run the engine, then in
one transaction save the state (optimistically locked), the message log, consent and any new
case; after the commit the handoff notifier runs. Logs carry no message text or personal data.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import Session

from bot.engine.effects import ConsentGiven, ConsentWithdrawn, HandoffRequested
from bot.engine.engine import TurnResult, needs_nlu, turn
from bot.engine.messages import Inbound, Reply
from bot.engine.render import render
from bot.engine.state import ConversationState
from bot.flows.flowset import FlowSet
from bot.flows.registry import FlowSource
from bot.gemeenten import resolve_region
from bot.handoff import CaseView, CoachView, HandoffNotifier
from bot.nlu.client import NluParser, NluResult
from storage.cases import create_case
from storage.conversations import (
    StaleConversation,
    TurnContext,
    load_turn_context,
    save_conversation,
)
from storage.database import session_scope
from storage.messages import LogEntry, log_messages
from storage.models import Direction, utcnow
from storage.participants import update_participant

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3
_T = TypeVar("_T")


@dataclass
class _Saved:
    replies: list[Reply]
    cases: list[CaseView] = field(default_factory=list)


class ConversationService:
    def __init__(
        self,
        *,
        engine: Engine,
        flows: FlowSource,
        nlu: NluParser,
        notifier: HandoffNotifier,
        coordinator_chat_id: int | None = None,
        db_in_thread: bool | None = None,
    ) -> None:
        self._db = engine
        # PostgreSQL round trips would block the event loop, so they run in a worker thread.
        # SQLite work is local and well under a millisecond: a thread hop would cost more.
        self._db_in_thread = (
            engine.dialect.name != "sqlite" if db_in_thread is None else db_in_thread
        )
        self._flows = flows
        self._nlu = nlu
        self._notifier = notifier
        self._coordinator_chat_id = coordinator_chat_id
        # Turns of one participant run one at a time within this process.
        self._locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    async def handle(self, channel: str, external_id: str, inbound: Inbound) -> list[Reply]:
        lock = self._locks.setdefault((channel, external_id), asyncio.Lock())
        async with lock:
            saved = await self._turn(channel, external_id, inbound)
        for case in saved.cases:
            try:
                await self._notifier.case_created(case)
            except (
                Exception
            ) as exc:  # the case is stored; a notifier failure must not lose the reply
                log.error(
                    "handoff notification failed for case %s: %s", case.case_id, type(exc).__name__
                )
        return saved.replies

    async def _turn(self, channel: str, external_id: str, inbound: Inbound) -> _Saved:
        flows = self._flows.current
        nlu: NluResult | None = None
        started = time.perf_counter()
        for _attempt in range(MAX_ATTEMPTS):
            loaded = await self._db_call(self._load, channel, external_id)
            state = self._state_of(loaded)
            if nlu is None and needs_nlu(flows, state, inbound) and inbound.text:
                nlu = await self._nlu.parse(inbound.text)
            try:
                result = turn(flows, state, inbound, nlu, channel=channel)
            except Exception as exc:  # a bug must cost one polite answer, not the conversation
                # Only where it failed: exception messages may quote what was typed.
                where = " < ".join(
                    f"{Path(f.filename).name}:{f.lineno} {f.name}"
                    for f in reversed(traceback.extract_tb(exc.__traceback__)[-4:])
                )
                log.error("engine failed: %s at %s", type(exc).__name__, where)
                return _Saved([Reply(render(flows, "error", state.language, {}))])
            try:
                saved = await self._db_call(
                    self._save, flows, channel, external_id, loaded, inbound, result
                )
            except StaleConversation:
                log.info("participant %s: concurrent turn, retrying", loaded.participant_id)
                continue
            log.info(
                "turn participant=%s flow=%s intent=%s confidence=%s nlu=%s replies=%d ms=%.1f",
                loaded.participant_id,
                result.state.active_flow,
                result.intent,
                f"{result.confidence:.2f}" if result.confidence is not None else "-",
                "down" if nlu is not None and not nlu.available else ("yes" if nlu else "no"),
                len(saved.replies),
                (time.perf_counter() - started) * 1000,
            )
            return saved
        log.error("participant turn abandoned after %d concurrent updates", MAX_ATTEMPTS)
        return _Saved([Reply(render(flows, "error", "nl", {}))])

    async def _db_call(self, func: Callable[..., _T], *args: Any) -> _T:
        if self._db_in_thread:
            return await asyncio.to_thread(func, *args)
        return func(*args)

    def _state_of(self, loaded: TurnContext) -> ConversationState:
        if loaded.conversation.state is None:
            return ConversationState()
        try:
            return ConversationState.model_validate(loaded.conversation.state)
        except ValidationError:
            log.warning("participant %s: unreadable state, starting afresh", loaded.participant_id)
            return ConversationState(welcomed=True)

    def _load(self, channel: str, external_id: str) -> TurnContext:
        with session_scope(self._db) as session:
            return load_turn_context(session, channel=channel, external_id=external_id)

    def _save(
        self,
        flows: FlowSet,
        channel: str,
        external_id: str,
        loaded: TurnContext,
        inbound: Inbound,
        result: TurnResult,
    ) -> _Saved:
        state = result.state
        pid = loaded.participant_id
        saved = _Saved(list(result.replies))
        with session_scope(self._db) as session:
            save_conversation(
                session,
                participant_id=pid,
                state=state.model_dump(mode="json"),
                expected_version=loaded.conversation.version,
            )
            consent_at = loaded.consent_at
            for effect in result.effects:
                if isinstance(effect, ConsentGiven):
                    consent_at = consent_at or utcnow()
                elif isinstance(effect, ConsentWithdrawn):
                    consent_at = None
                elif isinstance(effect, HandoffRequested):
                    view, reply = self._handoff(
                        session, flows, state, pid, channel, external_id, effect
                    )
                    saved.cases.append(view)
                    saved.replies.append(reply)
            if state.language != loaded.language or consent_at != loaded.consent_at:
                update_participant(
                    session, participant_id=pid, language=state.language, consent_at=consent_at
                )
            # Text is kept for audit only with consent; intent and timing always (statistics).
            keep_text = consent_at is not None
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
                    for reply in saved.replies
                ),
            ]
            log_messages(session, participant_id=pid, entries=entries)
        return saved

    def _handoff(
        self,
        session: Session,
        flows: FlowSet,
        state: ConversationState,
        participant_id: int,
        channel: str,
        external_id: str,
        effect: HandoffRequested,
    ) -> tuple[CaseView, Reply]:
        case, coach = create_case(
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
        assert case.id is not None
        region = resolve_region(effect.region_code) if effect.region_code else None
        coach_view = (
            CoachView(coach.id or 0, coach.name, coach.telegram_id, coach.union) if coach else None
        )
        view = CaseView(
            case_id=case.id,
            participant_id=participant_id,
            channel=channel,
            external_id=external_id,
            language=effect.language,
            topic=effect.topic,
            region_code=effect.region_code,
            region_name=region.name if region else None,
            coach=coach_view,
            coordinator_chat_id=self._coordinator_chat_id,
            summary=effect.summary,
            created_at=case.created_at,
            first_name=effect.first_name,
            contact_method=effect.contact_method,
        )
        extra = {"coach_name": coach.name, "union": coach.union} if coach else {}
        key = "handoff_assigned" if coach else "handoff_coordinator"
        return view, Reply(render(flows, key, state.language, state.slots, extra))
