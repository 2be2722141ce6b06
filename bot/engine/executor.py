"""The flow executor: moves through the steps of the flows on the stack until a question is
asked or no flow is left. It knows the flow language, not what the participant meant (that
is the command processor's job).
"""

from __future__ import annotations

from bot.engine.dialogue import P_AGAIN, P_FLOW, P_INTENT, P_VALUE, Dialogue
from bot.engine.effects import (
    ConsentGiven,
    ConsentWithdrawn,
    FollowUpGiven,
    HandoffRequested,
    SummaryLine,
)
from bot.engine.messages import Button
from bot.engine.render import display_value
from bot.engine.state import ConversationState, Frame, JsonScalar
from bot.flows import trace
from bot.flows.catalogue import Key
from bot.flows.conditions import compile_condition
from bot.flows.flowset import CompiledFlow, FlowSet
from bot.flows.models import (
    END,
    ActionName,
    ActionStep,
    CallStep,
    CollectStep,
    LinkStep,
    SayStep,
    SetSlotsStep,
    SlotType,
    Step,
)

MAX_STEPS_PER_TURN = 200
# A named text at least this long is a fact text: sent in full once per conversation.
LONG_TEXT = 250


def pending_step(flows: FlowSet, state: ConversationState) -> CollectStep | None:
    """The question the participant is expected to answer, if any."""
    if not state.stack:
        return None
    cf = flows.flows.get(state.stack[-1].flow)
    step = cf.step(state.stack[-1].step) if cf else None
    return step if isinstance(step, CollectStep) and step.collect in flows.slots else None


def in_intake(flows: FlowSet, state: ConversationState) -> bool:
    """A flow that ends at a coach is running: the participant is already on their way."""
    return any((cf := flows.flows.get(f.flow)) is not None and cf.hands_off for f in state.stack)


# -- starting and leaving flows ----------------------------------------------------------------


def start_welcome(d: Dialogue) -> None:
    d.state.welcomed = True
    cf = d.flows.flows[d.flows.settings.welcome_flow]
    d.state.stack = [Frame(flow=cf.id, step=cf.step_ids[0])]
    run(d)


def start_flow(d: Dialogue, cf: CompiledFlow | None) -> None:
    if cf is None:
        show_menu(d)
        return
    d.state.correcting = None
    d.state.retries = 0
    d.state.misunderstood = 0
    d.state.stack = [Frame(flow=cf.id, step=cf.step_ids[0])]
    run(d)


def digress(d: Dialogue, cf: CompiledFlow) -> None:
    """Run `cf` on top of the current flow; the pending question comes back afterwards."""
    if d.state.stack:
        d.state.stack[-1].interrupted = True
    d.state.stack.append(Frame(flow=cf.id, step=cf.step_ids[0]))
    run(d)


def answer_between(d: Dialogue, cf: CompiledFlow) -> None:
    """Run the short answer `cf` on top of the flow that goes on (its next step is not run
    yet): the answer first, then the flow's next question. With no flow left, it runs alone."""
    if not d.state.stack:
        start_flow(d, cf)
        return
    d.state.stack.append(Frame(flow=cf.id, step=cf.step_ids[0]))


def show_menu(d: Dialogue) -> None:
    d.say_key(Key.MENU_PROMPT, buttons=d.menu_buttons())


def recover(d: Dialogue) -> None:
    """The saved position no longer exists (flows were edited): start afresh, politely."""
    d.state.stack.clear()
    d.state.correcting = None
    d.say_key(Key.FLOWS_CHANGED, buttons=d.menu_buttons())


def reask_or_menu(d: Dialogue, *, with_prefix: bool = False) -> None:
    step = pending_step(d.flows, d.state)
    if step is not None:
        ask(d, step, with_prefix=with_prefix)
    elif d.state.stack:
        recover(d)
    else:
        show_menu(d)


def ask(d: Dialogue, step: CollectStep, *, with_prefix: bool) -> None:
    slot = d.flows.slots[step.collect]
    question = d.text(step.ask or slot.ask or Key.INVALID_GENERIC)
    if with_prefix:
        question = f"{d.text(Key.RESUME)}\n{question}"
    elif d.onward:
        question = f"{d.text(Key.RESUME_NEXT)}\n{question}"
    d.onward = False
    buttons: tuple[Button, ...] = ()
    if slot.type is SlotType.CHOICE:
        buttons = tuple(Button(o.label.get(d.lang), P_VALUE + o.value) for o in slot.options)
    elif slot.type is SlotType.YES_NO:
        buttons = d.yes_no_buttons()
    d.say(question, buttons)


# -- running steps -----------------------------------------------------------------------------


def next_of(d: Dialogue, cf: CompiledFlow, sid: str) -> str:
    """Where step `sid` goes: the first of its links (links.py) that holds, else END."""
    known, context = d.state.known(), d.context()
    chosen = cf.next_link(sid, lambda source: compile_condition(source).evaluate(known, context))
    if chosen is None:
        return END
    index, link = chosen
    trace.took(cf.id, sid, index)
    return link.target


def advance(d: Dialogue, step: Step) -> None:
    frame = d.state.stack[-1]
    cf = d.flows.flows[frame.flow]
    target = next_of(d, cf, frame.step)
    if target == END:
        end_flow(d)
    else:
        frame.step = target


def end_flow(d: Dialogue) -> None:
    ended = d.state.stack.pop()
    if ended.flow == d.flows.settings.welcome_flow and not d.state.stack:
        deferred = d.flows.flows.get(d.state.deferred_flow or "")
        d.state.deferred_flow = None
        if deferred is not None:
            d.state.stack.append(Frame(flow=deferred.id, step=deferred.step_ids[0]))
        else:
            show_menu(d)


def run(d: Dialogue) -> None:
    """Execute steps until a question is asked or no flow is left."""
    for _ in range(MAX_STEPS_PER_TURN):
        if not d.state.stack:
            return
        frame = d.state.stack[-1]
        cf = d.flows.flows.get(frame.flow)
        step = cf.step(frame.step) if cf else None
        if cf is None or step is None:
            recover(d)
            return
        trace.reached(cf.id, frame.step)
        if isinstance(step, CollectStep):
            if _collect(d, frame, step):
                return
        elif isinstance(step, SayStep):
            if d.state.correcting is None:
                _say(d, cf, step)
            advance(d, step)
        elif isinstance(step, ActionStep):
            _action(d, step)
        elif isinstance(step, SetSlotsStep):
            d.remember(step.set_slots)
            advance(d, step)
        elif isinstance(step, CallStep):
            if frame.called:
                frame.called = False
                advance(d, step)
            else:
                frame.called = True
                child = d.flows.flows[step.call]
                d.state.stack.append(Frame(flow=child.id, step=child.step_ids[0]))
        elif isinstance(step, LinkStep):
            target = d.flows.flows[step.link]
            d.state.stack[-1] = Frame(flow=target.id, step=target.step_ids[0])
        else:
            advance(d, step)
    # A flow that loops without asking anything: stop it rather than hang the bot.
    d.state.stack.clear()
    d.say_key(Key.ERROR, buttons=d.menu_buttons())


def is_long(d: Dialogue, key: str) -> bool:
    text = d.flows.texts.get(key)
    return text is not None and len(text.nl) >= LONG_TEXT


def _say(d: Dialogue, cf: CompiledFlow, step: SayStep) -> None:
    """Say a step's text; a long text this person has already read becomes one line with a
    button to read it again (the agency rules are not sent three times)."""
    key = step.say if isinstance(step.say, str) else None
    if key is not None and is_long(d, key):
        if key in d.state.shown:
            topic = cf.flow.label.get(d.lang) if cf.flow.label else None
            d.say(
                d.text(Key.ALREADY_TOLD_TOPIC, {"topic": topic})
                if topic
                else d.text(Key.ALREADY_TOLD),
                (Button(d.text(Key.READ_AGAIN), P_AGAIN + key),),
            )
            return
        d.state.shown.append(key)
    buttons = tuple(
        Button(b.label.get(d.lang), P_FLOW + b.flow if b.flow else P_INTENT + (b.intent or ""))
        for b in step.buttons
    )
    d.say(d.text(step.say), buttons)


def _collect(d: Dialogue, frame: Frame, step: CollectStep) -> bool:
    """True when the question was asked and the turn should wait for an answer."""
    slot = d.flows.slots[step.collect]
    consent_flow = d.flows.settings.consent_flow
    if slot.personal and not d.state.consent:
        if frame.flow == consent_flow or frame.called:
            # The consent flow ran and consent was not given: personal data is never asked.
            frame.called = False
            d.state.stack.clear()
            show_menu(d)
            return True
        frame.called = True
        cf = d.flows.flows[consent_flow]
        d.state.stack.append(Frame(flow=cf.id, step=cf.step_ids[0]))
        return False
    frame.called = False
    if d.state.slots.get(step.collect) is not None and not step.ask_before_filling:
        advance(d, step)
        return False
    if d.state.handed_off and step.collect == d.flows.settings.roles.coach_offer:
        # "Shall a coach contact you?" while a coach has the request already: no second
        # request, the person is told their coach will talk it through (person trial, 6 Dec)
        d.say_key(Key.CASE_OPEN_NOTE)
        end_flow(d)
        return False
    if d.state.correcting != step.collect:
        d.state.correcting = None  # back where the correction started: texts are shown again
    ask(d, step, with_prefix=frame.interrupted)
    frame.interrupted = False
    return True


def _action(d: Dialogue, step: ActionStep) -> None:
    name = step.action
    state = d.state
    if name is ActionName.RECORD_CONSENT:
        if not state.consent:
            d.effects.append(ConsentGiven())
        state.consent = True
        # What was said before consent may now be kept (and is not asked again).
        for slot, value in state.heard.items():
            state.slots.setdefault(slot, value)
        state.heard.clear()
    elif name is ActionName.REFUSE_CONSENT:
        state.heard.clear()
    elif name is ActionName.WITHDRAW_CONSENT:
        state.consent = False
        state.heard.clear()
        state.slots = {
            k: v
            for k, v in state.slots.items()
            if not d.flows.slots.get(k) or not d.flows.slots[k].personal
        }
        d.effects.append(ConsentWithdrawn())
    elif name is ActionName.SHOW_MENU:
        show_menu(d)
    elif name is ActionName.RESET_SLOTS:
        for slot in step.slots:
            state.slots.pop(slot, None)
    elif name is ActionName.STOP_FLOWS:
        state.stack.clear()
        return
    elif name is ActionName.HANDOFF:
        d.effects.append(_handoff(d, step))
        state.handed_off = True
    elif name is ActionName.RECORD_FOLLOW_UP:
        rating = str(state.slots.get(step.slots[0], "")) if step.slots else ""
        remark = state.slots.get(step.slots[1]) if len(step.slots) > 1 else None
        if rating[-1:].isdigit() and rating[-1:].isascii():
            text = str(remark) if remark else None
            d.effects.append(FollowUpGiven(int(rating[-1]), text))
    advance(d, step)


def summary_line(d: Dialogue, name: str, value: JsonScalar) -> SummaryLine:
    """One line of the coach's card (in Dutch: coaches read Dutch)."""
    flows = d.flows
    role_of = {slot: role for role, slot in flows.settings.roles.model_dump().items() if slot}
    slot = flows.slots[name]
    label = slot.label.nl if slot.label else name
    shown = display_value(flows, slot, value, "nl", d.state.slots)
    return SummaryLine(name, label, shown, str(value), role_of.get(name))


def _handoff(d: Dialogue, step: ActionStep) -> HandoffRequested:
    flows, slots = d.flows, d.state.slots
    roles = flows.settings.roles
    lines = []
    for name in step.slots:
        value = slots.get(name)
        if value in (None, ""):
            continue  # the coach only sees what is known
        lines.append(summary_line(d, name, value))
    region = next(
        (
            value
            for name, value in slots.items()
            if isinstance(value, str)
            and name in flows.slots
            and flows.slots[name].type is SlotType.REGION
        ),
        None,
    )
    topic, first_name, contact = (
        slots.get(r) for r in (roles.topic, roles.first_name, roles.contact_method)
    )
    return HandoffRequested(
        flow=d.state.stack[0].flow,
        topic=str(topic) if topic is not None else None,
        region_code=region,
        language=d.lang,
        summary=tuple(lines),
        first_name=str(first_name) if first_name else None,
        contact_method=str(contact) if contact else None,
    )
