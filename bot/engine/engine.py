"""One turn: (state, message, NLU result, flows) → new state, replies and effects. Pure.

    message ──understand──► commands ──processor──► flow executor ──► replies, effects

The caller asks `needs_nlu` first so that the NLU server is only called when the answer
matters (not for button presses, nor for a phone number typed where one was asked).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.engine.bsn import contains_bsn, remove_bsn
from bot.engine.commands import Command
from bot.engine.dialogue import P_AGAIN, P_CMD, P_FLOW, P_INTENT, Dialogue
from bot.engine.effects import Effect, HandoffRequested
from bot.engine.executor import ask, pending_step, reask_or_menu, recover, start_flow
from bot.engine.messages import NUMBERED_CHANNELS, Inbound, Reply
from bot.engine.processor import execute
from bot.engine.state import ConversationState
from bot.engine.understand import needs_nlu, understand
from bot.flows import trace
from bot.flows.catalogue import Key
from bot.flows.flowset import FlowSet
from bot.nlu.client import NluResult

__all__ = ["TurnResult", "begin", "needs_nlu", "remind", "turn"]


@dataclass
class TurnResult:
    state: ConversationState
    replies: list[Reply]
    effects: list[Effect] = field(default_factory=list)
    intent: str | None = None  # for the message log
    confidence: float | None = None
    commands: list[Command] = field(default_factory=list)  # what the message was taken to mean


def turn(
    flows: FlowSet,
    state: ConversationState,
    inbound: Inbound,
    nlu: NluResult | None,
    *,
    channel: str,
) -> TurnResult:
    """Run one turn. Never raises for any input; always returns at least one reply."""
    d = Dialogue(flows, state.model_copy(deep=True), channel)
    d.state.turns += 1
    if not _position_exists(flows, d.state):
        recover(d)  # the flows were edited under a running conversation: start afresh
    if inbound.text and contains_bsn(inbound.text):
        # Never understood nor kept (bot/engine/bsn.py): said once; what else was said counts
        d.say_key(Key.BSN_NOT_KEPT)
        inbound = Inbound(text=remove_bsn(inbound.text), payload=inbound.payload)
    if inbound.text == "":
        commands: list[Command] = []
        reask_or_menu(d)
    else:
        commands = understand(flows, d.state, inbound, nlu, numbered=channel in NUMBERED_CHANNELS)
    if trace.active():
        trace.understood([type(c).__name__ for c in commands], _pending_id(flows, d.state))
    if inbound.text and len(inbound.text.split()) >= 3:
        d.state.language_heard = True  # from now on only a clear switch changes the language
    execute(d, commands)
    # The service adds the "what happens next" message after a handoff.
    if not d.replies and not any(isinstance(e, HandoffRequested) for e in d.effects):
        d.say_key(Key.MENU_PROMPT, buttons=d.menu_buttons())
    buttons = [b for r in d.replies for b in r.buttons]
    one = len(buttons) == 1 and buttons[0].payload.startswith((P_FLOW, P_INTENT, P_AGAIN))
    skip = next((b.payload for b in buttons if b.payload == P_CMD + "skip"), None)
    # "ja" / "nog een keer" typed to "Wil je het nog een keer lezen?" is its button, also when
    # the pending question's buttons follow it (person trial, 6 Dec)
    again = next((b.payload for b in buttons if b.payload.startswith(P_AGAIN)), None)
    # "ja" / "overslaan" typed to "Zullen we deze vraag overslaan?" is its first button
    d.state.offered = buttons[0].payload if one else (again or skip)
    return TurnResult(
        d.state,
        d.replies,
        d.effects,
        nlu.intent if nlu is not None else None,
        nlu.confidence if nlu is not None else None,
        commands,
    )


def _pending_id(flows: FlowSet, state: ConversationState) -> str | None:
    step = pending_step(flows, state)
    return f"{state.stack[-1].flow}.{state.stack[-1].step}" if step is not None else None


def _position_exists(flows: FlowSet, state: ConversationState) -> bool:
    for frame in state.stack:
        cf = flows.flows.get(frame.flow)
        if cf is None or frame.step not in cf.index_by_id:
            return False
    return True


def remind(flows: FlowSet, state: ConversationState, *, channel: str) -> list[Reply]:
    """An unfinished conversation's reminder: a short note, then the pending question again
    (with its buttons). Nothing changes: the person simply answers, as if never gone."""
    if not _position_exists(flows, state):
        return []
    d = Dialogue(flows, state.model_copy(deep=True), channel)
    step = pending_step(flows, d.state)
    if step is None:
        return []
    d.say_key(Key.REMINDER_INTAKE)
    ask(d, step, with_prefix=False)
    return d.replies


def begin(
    flows: FlowSet, state: ConversationState, flow_id: str, *, channel: str
) -> TurnResult | None:
    """Start a flow the participant did not ask for (the follow-up). None while they are in
    the middle of something: it must not take over a question they are answering."""
    cf = flows.flows.get(flow_id)
    if cf is None or (state.stack and _position_exists(flows, state)):
        return None
    d = Dialogue(flows, state.model_copy(deep=True), channel)
    start_flow(d, cf)
    return TurnResult(d.state, d.replies, d.effects)
