"""The command processor: applies what the participant meant (commands) to the dialogue.

Commands come from the understanding step; the flow executor then moves the flows on. Every
command ends with the participant knowing what to do next: a question, or the menu.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.engine import executor
from bot.engine.commands import (
    Acknowledge,
    AnswerQuestion,
    Cancel,
    CannotHandle,
    Clarify,
    Command,
    ConfirmValue,
    CorrectSlots,
    HumanHandoff,
    InvalidAnswer,
    Narrow,
    NluDown,
    NumberTyped,
    OffTopic,
    PickLanguage,
    Reask,
    ResolveDoubt,
    Retry,
    SetLanguage,
    SetSlots,
    ShowAgain,
    ShowMenu,
    StaleButton,
    StartCorrection,
    StartFlow,
    UpdateCase,
    WayForward,
    Welcome,
)
from bot.engine.dialogue import P_CMD, P_DOUBT, P_FIX, P_FLOW, P_LANG, P_VALUE, Dialogue
from bot.engine.effects import CaseUpdated
from bot.engine.messages import Button
from bot.engine.render import display_value
from bot.engine.state import Doubt, JsonScalar
from bot.flows.catalogue import Key, invalid_key
from bot.flows.conditions import compile_condition
from bot.flows.flowset import CompiledFlow
from bot.flows.models import CollectStep, SlotType, TextName


def execute(d: Dialogue, commands: Sequence[Command]) -> None:
    doubt_before = d.state.doubt
    for command in commands:
        _apply(d, command)
    # A check-back question is only open for the very next message.
    if d.state.doubt is doubt_before:
        d.state.doubt = None


def _apply(d: Dialogue, command: Command) -> None:
    match command:
        case SetLanguage(language, chosen):
            d.state.language = "en" if language == "en" else "nl"
            d.state.language_heard = True
            if chosen:
                d.state.language_chosen = True
                d.say_key(Key.LANGUAGE_SET)
                if not d.state.welcomed:
                    executor.start_welcome(d)
                else:
                    executor.reask_or_menu(d)
        case PickLanguage():
            d.say_key(
                Key.LANGUAGE_PICK,
                buttons=(Button("Nederlands", P_LANG + "nl"), Button("English", P_LANG + "en")),
            )
        case Welcome(then):
            d.state.deferred_flow = then
            executor.start_welcome(d)
        case SetSlots(values, answers, then) if answers is not None:
            _answer(d, values, answers, then)
        case SetSlots(values, _, _, noted):
            d.remember(values)
            if noted:
                _say_noted(d, tuple(values))
        case CorrectSlots(values):
            _correct(d, values)
        case StartCorrection(slot):
            _start_correction(d, slot)
        case ConfirmValue(slot, value, extra, options, check, shown_as):
            d.state.doubt = Doubt(slot=slot, value=value, extra=extra, options=list(options))
            definition = d.flows.slots[slot]
            shown = {k: str(v) for k, v in extra.items() if v is not None}
            shown["value"] = shown_as or str(value)
            question = check or definition.doubt or Key.DOUBT
            d.say(d.text(question, shown), d.yes_no_buttons(P_DOUBT))
        case ResolveDoubt(keep):
            _resolve_doubt(d, keep)
        case InvalidAnswer(slot, reason, suggestions):
            _invalid(d, slot, reason, suggestions)
        case AnswerQuestion(flow) | OffTopic(flow):
            _digress(d, d.flows.flows.get(flow or ""))
        case StartFlow(flow):
            _start(d, d.flows.flows.get(flow))
        case HumanHandoff():
            _human(d)
        case UpdateCase(values):
            _update_case(d, values)
        case Narrow(slot, options):
            _narrow(d, slot, options)
        case Cancel():
            _cancel(d)
        case Clarify(options):
            _misunderstood(d, options)
        case CannotHandle(question):
            if executor.pending_step(d.flows, d.state) is not None:
                d.say_key(Key.QUESTION_UNKNOWN if question else Key.INVALID_GENERIC)
                executor.reask_or_menu(d)
            else:
                _misunderstood(d, ())
        case NluDown():
            if executor.pending_step(d.flows, d.state) is not None:
                d.say_key(Key.NLU_UNAVAILABLE)
                executor.reask_or_menu(d)
            else:
                d.say_key(Key.NLU_UNAVAILABLE, buttons=d.menu_buttons())
        case Reask(noted, heard_topic):
            if noted:
                _say_noted(d, noted)
            if heard_topic:
                d.say_key(Key.TOPIC_HEARD)
            executor.reask_or_menu(d)
        case ShowMenu():
            d.state.stack.clear()
            d.state.correcting = None
            executor.show_menu(d)
        case Retry():
            if d.state.stack:
                executor.run(d)
            else:
                executor.show_menu(d)
        case ShowAgain(key):
            d.say(d.text(TextName(key)))
            executor.reask_or_menu(
                d, with_prefix=executor.pending_step(d.flows, d.state) is not None
            )
        case WayForward(how):
            _way_forward(d, how)
        case StaleButton():
            d.say_key(Key.STALE_BUTTON)
            executor.reask_or_menu(d)
        case Acknowledge(thanks):
            d.say_key(Key.ACK_THANKS if thanks else Key.ACK_OK)
        case NumberTyped(slot, count):
            step = executor.pending_step(d.flows, d.state)
            if count is None:
                d.say_key(Key.NUMBER_NOT_SHOWN)
            else:
                d.say_key(Key.NUMBER_OUT_OF_RANGE, count=str(count))
            if step is not None and step.collect == slot:
                executor.ask(d, step, with_prefix=False)
            else:
                executor.reask_or_menu(d)


# -- answers -----------------------------------------------------------------------------------


def _answer(
    d: Dialogue, values: dict[str, JsonScalar], slot_name: str, then: Command | None = None
) -> None:
    step = executor.pending_step(d.flows, d.state)
    if step is None or step.collect != slot_name:
        d.remember(values)
        executor.reask_or_menu(d)
        return
    value = values.get(slot_name)
    if step.corrections and value is False:
        _offer_corrections(d, step)
        return
    candidate = {**d.state.known(), **values}
    for rejection in step.rejections:
        if compile_condition(rejection.if_).evaluate(candidate, d.context()):
            d.state.retries += 1
            d.say(d.text(rejection.text))
            executor.ask(d, step, with_prefix=False)
            return
    d.remember(values)
    d.state.retries = 0
    d.state.misunderstood = 0
    executor.advance(d, step)
    if then is not None:
        _in_between(d, then)
    executor.run(d)


def _in_between(d: Dialogue, then: Command) -> None:
    """The question asked together with the answer just stored: answered now, and the next
    question comes with one short line back to the questions (executor.ask)."""
    d.onward = True
    match then:
        case AnswerQuestion(flow) | OffTopic(flow) if cf := d.flows.flows.get(flow or ""):
            executor.answer_between(d, cf)
        case HumanHandoff() if executor.in_intake(d.flows, d.state):
            d.say_key(Key.HUMAN_IN_INTAKE)
        case _:
            d.say_key(Key.QUESTION_UNKNOWN)


def _resolve_doubt(d: Dialogue, keep: bool) -> None:
    doubt = d.state.doubt
    d.state.doubt = None
    step = executor.pending_step(d.flows, d.state)
    if doubt is None or step is None or step.collect != doubt.slot:
        d.say_key(Key.STALE_BUTTON)
        executor.reask_or_menu(d)
        return
    if keep:
        _answer(d, {doubt.slot: doubt.value, **doubt.extra}, doubt.slot)
    elif doubt.options:
        buttons = tuple(Button(option, P_VALUE + option[:60]) for option in doubt.options)
        d.say_key(Key.PLACE_WHICH_MUNICIPALITY, buttons=buttons)
    else:
        d.say_key(Key.DOUBT_RETRY)
        executor.ask(d, step, with_prefix=False)


def _invalid(d: Dialogue, slot_name: str, reason: str | None, suggestions: tuple[str, ...]) -> None:
    step = executor.pending_step(d.flows, d.state)
    if step is None or step.collect != slot_name:
        executor.reask_or_menu(d)
        return
    slot = d.flows.slots[slot_name]
    if reason == "narrow" and suggestions:
        _narrow(d, slot_name, suggestions)  # a fair answer that leaves two open: no retry
        return
    d.state.retries += 1
    limit = step.retries if step.retries is not None else slot.retries
    if limit is None:
        limit = d.flows.settings.default_retries
    if d.state.retries > limit:
        d.state.retries = 0
        if executor.in_intake(d.flows, d.state):
            _offer_way_forward(d, step)
            return
        d.say_key(
            Key.OFFER_HUMAN,
            buttons=(d.human_button(), Button(d.text(Key.TRY_AGAIN), P_CMD + "retry")),
        )
        return
    specific = invalid_key(slot.type.value, reason)
    text = step.invalid or (specific if specific in d.flows.texts else None) or slot.invalid
    if suggestions:
        d.say(
            d.text(text or Key.INVALID_GENERIC),
            tuple(Button(s, P_VALUE + s[:60]) for s in suggestions),
        )
        return
    d.say(d.text(text or Key.INVALID_GENERIC))
    executor.ask(d, step, with_prefix=False)


# -- corrections -------------------------------------------------------------------------------


def _offer_corrections(d: Dialogue, step: CollectStep) -> None:
    buttons = []
    for name in step.corrections:
        label = d.flows.slots[name].label
        buttons.append(Button(label.get(d.lang) if label else name, P_FIX + name))
    buttons.append(Button(d.text(Key.CORRECTION_DONE_BUTTON), P_VALUE + "yes"))
    d.say_key(Key.CHOOSE_CORRECTION, buttons=tuple(buttons))


def _start_correction(d: Dialogue, slot_name: str) -> None:
    """Ask `slot_name` again, then carry on to the question that was pending (or the summary):
    the answers in between are kept, so nothing else is asked twice."""
    if _reopen(d, slot_name):
        executor.run(d)


def _narrow(d: Dialogue, slot_name: str, options: Sequence[str]) -> None:
    """ "overdag": "Liever ochtend of middag?" with those buttons; at a summary that question
    is opened again (as the fix button does) and asked this way."""
    step = executor.pending_step(d.flows, d.state)
    if step is None or (step.collect != slot_name and not _reopen(d, slot_name)):
        return
    slot = d.flows.slots[slot_name]
    labels = {o.value: o.label.get(d.lang) for o in slot.options}
    buttons = tuple(Button(labels.get(v, v), P_VALUE + v) for v in options)
    joined = d.text(Key.OR).join(b.label.lower() for b in buttons)
    d.say_key(Key.CHOOSE_NARROW, buttons=buttons, options=joined)


def _reopen(d: Dialogue, slot_name: str) -> bool:
    """Go back to the question of `slot_name` (its answer forgotten); False when it cannot
    (then the stale-button line and the pending question are said)."""
    step = executor.pending_step(d.flows, d.state)
    frame = d.state.stack[-1] if d.state.stack else None
    cf = d.flows.flows.get(frame.flow) if frame else None
    target = cf.collect_step_for(slot_name) if cf else None
    if (
        step is None
        or frame is None
        or cf is None
        or target is None
        or cf.index_by_id[target] > cf.index_by_id.get(frame.step, 0)
    ):
        d.say_key(Key.STALE_BUTTON)
        executor.reask_or_menu(d)
        return False
    slot = d.flows.slots[slot_name]
    d.state.slots.pop(slot_name, None)
    for linked in (slot.region_slot, slot.place_slot):
        if linked:
            d.state.slots.pop(linked, None)
    d.state.correcting = slot_name
    d.state.retries = 0
    frame.step = target
    return True


def _correct(d: Dialogue, values: dict[str, JsonScalar]) -> None:
    """Apply new values for slots that had one, say so, and go back to where the changed slot
    is asked (so that what depends on it, like which contact detail, follows), or re-ask."""
    d.remember(values)
    linked = {s for slot in d.flows.slots.values() for s in (slot.region_slot, slot.place_slot)}
    shown = [
        name
        for name in values
        if name in d.flows.slots
        and d.flows.slots[name].type is not SlotType.REGION
        and name not in linked  # the town is shown with its municipality
    ]
    for name in shown:
        slot = d.flows.slots[name]
        d.say_key(
            Key.CORRECTED,
            label=slot.label.get(d.lang) if slot.label else name,
            value=display_value(d.flows, slot, values[name], d.lang, d.state.known()),
        )
    frame = d.state.stack[-1] if d.state.stack else None
    cf = d.flows.flows.get(frame.flow) if frame else None
    if frame is None or cf is None:
        executor.show_menu(d)
        return
    current = cf.index_by_id.get(frame.step, 0)
    earlier = [
        cf.index_by_id[sid]
        for name in shown
        if (sid := cf.collect_step_for(name)) is not None and cf.index_by_id[sid] < current
    ]
    if earlier:
        d.state.retries = 0
        frame.step = cf.step_ids[min(earlier)]
        executor.run(d)
    else:
        executor.reask_or_menu(d)


# -- leaving the question ----------------------------------------------------------------------


def _digress(d: Dialogue, cf: CompiledFlow | None) -> None:
    if cf is None:
        executor.reask_or_menu(d)
    elif d.state.stack:
        executor.digress(d, cf)
    else:
        executor.start_flow(d, cf)


def _start(d: Dialogue, cf: CompiledFlow | None) -> None:
    if cf is None:
        d.say_key(Key.STALE_BUTTON)
        executor.reask_or_menu(d)
        return
    if not d.state.welcomed:
        d.state.deferred_flow = cf.id
        executor.start_welcome(d)
        return
    if not d.state.stack and cf.off_topic:
        _cannot_help(d, cf)
        return
    d.state.misunderstood = 0
    welcome = d.flows.settings.welcome_flow
    if d.state.stack and d.state.stack[0].flow == welcome and not cf.flow.digression:
        d.state.deferred_flow = cf.id  # after the consent question
        d.say_key(Key.CONSENT_FIRST)
        executor.reask_or_menu(d)
    elif cf.id == d.flows.settings.human_flow:
        _human(d)
    elif cf.flow.digression and d.state.stack:
        executor.digress(d, cf)
    else:
        executor.start_flow(d, cf)


def _cannot_help(d: Dialogue, cf: CompiledFlow) -> None:
    """Off-topic at the menu ("hoe maak ik pannenkoeken") counts with the messages not
    understood (nonsense the model also reads as off-topic never gets here: understand.py):
    after the same number in a row, a person is offered instead of "I cannot help with that"
    once more."""
    settings = d.flows.settings
    d.state.misunderstood += 1
    if d.state.misunderstood > settings.max_misunderstood:
        d.state.misunderstood = 0
        d.say_key(Key.OFFER_HUMAN, buttons=(d.human_button(), *d.menu_buttons()))
        return
    count = d.state.misunderstood
    executor.start_flow(d, cf)
    d.state.misunderstood = count


def _human(d: Dialogue) -> None:
    """Asking for a person: an intake already ends at a coach, so it simply goes on; at the
    "shall a coach contact you?" question it means yes; otherwise the short intake starts."""
    flows, state = d.flows, d.state
    if executor.in_intake(flows, state):
        d.say_key(Key.HUMAN_IN_INTAKE)
        executor.reask_or_menu(d)
        return
    if state.handed_off:
        # The request is with the desk already: a second intake would only send the coach
        # the same case again (person trial, 6 Dec).
        d.say_key(Key.CASE_ALREADY_OPEN)
        if executor.pending_step(flows, state) is not None:
            executor.reask_or_menu(d)
        return
    step = executor.pending_step(flows, state)
    offer = flows.settings.roles.coach_offer
    if step is not None and offer is not None and step.collect == offer:
        _answer(d, {offer: True}, offer)
        return
    executor.start_flow(d, flows.flows.get(flows.settings.human_flow))


def _say_noted(d: Dialogue, names: Sequence[str]) -> None:
    """ "Genoteerd: Woonplaats: Riel (gemeente Goirle, regio Midden-Brabant)." """
    linked = {s for slot in d.flows.slots.values() for s in (slot.region_slot, slot.place_slot)}
    known = d.state.known()
    shown = "; ".join(
        f"{_label(d, name).lower()} {display_value(d.flows, d.flows.slots[name], known[name], d.lang, known)}"
        for name in names
        if name in d.flows.slots
        and name not in linked
        and d.flows.slots[name].type is not SlotType.REGION
        and known.get(name) not in (None, "")
    )
    if shown:
        d.say_key(Key.NOTED, fields=shown)


def _update_case(d: Dialogue, values: dict[str, JsonScalar]) -> None:
    """A phone number or e-mail address after the handoff: kept, and passed on to the open
    case (the conversation service tells its coach)."""
    known = d.state.known()
    changed = {name: value for name, value in values.items() if value != known.get(name)}
    d.remember(values)
    if not changed:
        d.say_key(Key.CASE_DETAILS_KNOWN)
        return
    lines = tuple(executor.summary_line(d, name, value) for name, value in changed.items())
    d.effects.append(CaseUpdated(lines))
    shown = "; ".join(
        f"{label}: {display_value(d.flows, d.flows.slots[line.slot], line.raw, d.lang)}"
        for line in lines
        if (label := _label(d, line.slot))
    )
    d.say_key(Key.CASE_DETAILS_UPDATED, fields=shown)


def _label(d: Dialogue, name: str) -> str:
    label = d.flows.slots[name].label
    return label.get(d.lang) if label else name


def _offer_way_forward(d: Dialogue, step: CollectStep) -> None:
    """Repeated misunderstanding inside an intake that already ends at a coach: skip this
    question, be contacted through this chat (at a phone or e-mail question), or hand over
    what is known now; or try once more."""
    contact = d.flows.settings.roles.contact_method
    buttons = [Button(d.text(Key.SKIP_QUESTION), P_CMD + "skip")]
    if step.collect != contact and _asks_contact_detail(d, step):
        buttons.append(Button(d.text(Key.CONTACT_BY_CHAT), P_CMD + "chat"))
    if _summary_step(d) is not None:
        buttons.append(Button(d.text(Key.HAND_OVER_NOW), P_CMD + "handover"))
    buttons.append(Button(d.text(Key.TRY_AGAIN), P_CMD + "retry"))
    d.say_key(Key.WAY_FORWARD, buttons=tuple(buttons))


def _asks_contact_detail(d: Dialogue, step: CollectStep) -> bool:
    """A phone or e-mail question (reached through the contact method question)."""
    slot = d.flows.slots[step.collect]
    return slot.type in (SlotType.PHONE, SlotType.EMAIL)


def _summary_step(d: Dialogue) -> str | None:
    """The running intake's summary (the step that offers corrections), if it has one."""
    frame = d.state.stack[-1] if d.state.stack else None
    cf = d.flows.flows.get(frame.flow) if frame else None
    if cf is None or not cf.hands_off:
        return None
    for sid, step in zip(cf.step_ids, cf.flow.steps, strict=True):
        if isinstance(step, CollectStep) and step.corrections:
            return sid
    return None


def _way_forward(d: Dialogue, how: str) -> None:
    step = executor.pending_step(d.flows, d.state)
    frame = d.state.stack[-1] if d.state.stack else None
    if step is None or frame is None or not executor.in_intake(d.flows, d.state):
        d.say_key(Key.STALE_BUTTON)
        executor.reask_or_menu(d)
        return
    d.state.retries = 0
    d.state.misunderstood = 0
    contact = d.flows.settings.roles.contact_method
    cf = d.flows.flows[frame.flow]
    if how == "chat" and contact in d.flows.slots and (sid := cf.collect_step_for(contact)):
        d.remember({contact: "telegram", step.collect: None})
        frame.step = sid  # its branches skip the phone and e-mail questions now
    elif how == "handover" and (summary := _summary_step(d)) is not None:
        # the summary shows what is known; the coach asks the rest. The questions left are
        # marked skipped, so a correction at the summary does not ask them after all.
        known = d.state.known()
        left = {
            later.collect: ""
            for later in cf.flow.steps[cf.index_by_id[frame.step] : cf.index_by_id[summary]]
            if isinstance(later, CollectStep) and known.get(later.collect) is None
        }
        d.remember(left)
        frame.step = summary
    else:
        d.remember({step.collect: ""})  # skipped: shown as "–", never asked again
        executor.advance(d, step)
    executor.run(d)


def _cancel(d: Dialogue) -> None:
    if not d.state.stack:
        d.say_key(Key.NOTHING_TO_CANCEL, buttons=d.menu_buttons())
        return
    d.state.stack.clear()
    d.state.correcting = None
    d.state.retries = 0
    d.say_key(Key.CANCELLED, buttons=d.menu_buttons())


def _misunderstood(d: Dialogue, options: tuple[str, ...]) -> None:
    """Offer the likely topics as buttons; after repeated misunderstanding, a person."""
    state, settings = d.state, d.flows.settings
    pending = executor.pending_step(d.flows, state) is not None
    state.misunderstood += 1
    if state.misunderstood > settings.max_misunderstood:
        state.misunderstood = 0
        step = executor.pending_step(d.flows, state)
        if step is not None and executor.in_intake(d.flows, state):
            _offer_way_forward(d, step)  # already on the way to a coach: not a coach again
            return
        d.say_key(Key.OFFER_HUMAN, buttons=(d.human_button(), *d.menu_buttons()))
        return
    labelled = [
        (fid, cf.flow.label.get(d.lang))
        for fid in options
        if (cf := d.flows.flows.get(fid)) is not None and cf.flow.label is not None
    ]
    if labelled:
        buttons = (
            *(Button(label, P_FLOW + fid) for fid, label in labelled),
            # With a question pending, "something else" goes back to it, not to the menu.
            Button(d.text(Key.SOMETHING_ELSE), P_CMD + ("back" if pending else "menu")),
        )
        d.say_key(Key.CLARIFY, buttons=buttons)
    elif pending:
        d.say_key(Key.INVALID_GENERIC)
        executor.reask_or_menu(d)
    else:
        d.say_key(Key.MISUNDERSTOOD, buttons=d.menu_buttons())
