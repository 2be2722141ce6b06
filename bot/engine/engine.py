"""The flow engine: one pure function from (state, inbound, NLU result, flows) to a turn result.

It does no I/O. The caller asks `needs_nlu` first so that the NLU server is only called when the
answer matters (not for button presses, nor for a phone number typed where one was asked).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.engine.effects import (
    ConsentGiven,
    ConsentWithdrawn,
    Effect,
    HandoffRequested,
    SummaryLine,
)
from bot.engine.language import detect_language
from bot.engine.messages import Button, Inbound, Reply
from bot.engine.render import display_value, render
from bot.engine.repair import (
    contains_keyword,
    correction_target,
    is_cancel,
    looks_like_question,
)
from bot.engine.slot_values import Parsed, is_strongly_typed, parse_value
from bot.engine.state import ConversationState, Frame, JsonScalar
from bot.flows.conditions import compile_condition
from bot.flows.flowset import CompiledFlow, FlowSet
from bot.flows.models import (
    END,
    ActionName,
    ActionStep,
    CallStep,
    CollectStep,
    ElseBranch,
    IfBranch,
    Language,
    LinkStep,
    SayStep,
    SetSlotsStep,
    SlotType,
    Step,
    TextRef,
)
from bot.nlu.client import NLU_UNAVAILABLE, NluResult

# Payload prefixes (button callback data): short, so they fit Telegram's 64 bytes.
P_VALUE = "v:"  # an answer to the pending question
P_INTENT = "i:"  # as if the NLU recognised this intent with certainty
P_FLOW = "f:"  # start this flow
P_FIX = "fix:"  # correct this slot at a summary
P_LANG = "lang:"
P_CMD = "cmd:"  # menu, cancel, retry
MAX_STEPS_PER_TURN = 200
_LANGUAGE_COMMANDS = {"/taal", "/language", "/lang"}


@dataclass
class TurnResult:
    state: ConversationState
    replies: list[Reply]
    effects: list[Effect] = field(default_factory=list)
    intent: str | None = None  # for the message log
    confidence: float | None = None


def needs_nlu(flows: FlowSet, state: ConversationState, inbound: Inbound) -> bool:
    """False when the turn can be handled without understanding free text."""
    if inbound.payload is not None or inbound.text is None:
        return False
    text = inbound.text.strip()
    if not text or text.startswith("/") or is_cancel(text, flows):
        return False
    if not state.welcomed or not state.stack:
        return True
    step = _pending_step(flows, state)
    if step is None:
        return True
    if step.corrections and correction_target(text, flows, step.corrections):
        return False
    slot = flows.slots[step.collect]
    if not is_strongly_typed(slot):
        return True  # free text might be a question instead of an answer
    return not parse_value(slot, text=text, payload_value=None, nlu=None).ok


def turn(
    flows: FlowSet,
    state: ConversationState,
    inbound: Inbound,
    nlu: NluResult | None,
    *,
    channel: str,
) -> TurnResult:
    """Run one turn. Never raises for any input; always returns at least one reply."""
    t = _Turn(flows, state.model_copy(deep=True), channel, nlu)
    t.state.turns += 1
    if inbound.payload is not None:
        t.on_payload(inbound.payload)
    else:
        t.on_text((inbound.text or "").strip())
    # The service adds the "what happens next" message after a handoff.
    if not t.replies and not any(isinstance(e, HandoffRequested) for e in t.effects):
        t.say_key("menu_prompt", buttons=t.menu_buttons())
    intent = nlu.intent if nlu is not None else None
    return TurnResult(
        t.state, t.replies, t.effects, intent, nlu.confidence if nlu is not None else None
    )


def _pending_step(flows: FlowSet, state: ConversationState) -> CollectStep | None:
    """The question the participant is expected to answer, if any."""
    if not state.stack:
        return None
    cf = flows.flows.get(state.stack[-1].flow)
    step = cf.step(state.stack[-1].step) if cf else None
    return step if isinstance(step, CollectStep) and step.collect in flows.slots else None


class _Turn:
    def __init__(
        self, flows: FlowSet, state: ConversationState, channel: str, nlu: NluResult | None
    ) -> None:
        self.flows = flows
        self.state = state
        self.channel = channel
        self.nlu = nlu
        self.replies: list[Reply] = []
        self.effects: list[Effect] = []

    # ---------------------------------------------------------------- output helpers
    @property
    def lang(self) -> Language:
        return self.state.language

    def text(self, ref: TextRef, extra: dict[str, str] | None = None) -> str:
        return render(self.flows, ref, self.lang, self.state.slots, extra)

    def say(self, text: str, buttons: tuple[Button, ...] = ()) -> None:
        self.replies.append(Reply(text, buttons))

    def say_key(self, key: str, buttons: tuple[Button, ...] = (), **extra: str) -> None:
        self.say(self.text(key, extra), buttons)

    def menu_buttons(self) -> tuple[Button, ...]:
        return tuple(
            Button(item.label.get(self.lang), P_FLOW + item.flow)
            for item in self.flows.menu
            if item.flow in self.flows.flows
        )

    def human_button(self) -> Button:
        return Button(self.text("offer_human_button"), P_FLOW + self.flows.settings.human_flow)

    # ---------------------------------------------------------------- entry points
    def on_text(self, text: str) -> None:
        if not text:
            self.reask_or_menu()
            return
        if text.startswith("/"):
            self.on_command(text)
            return
        if not self.state.language_chosen:
            guessed = detect_language(text)
            if guessed is not None:
                self.state.language = guessed
        if is_cancel(text, self.flows) or self.nlu_says("cancel"):
            self.cancel()
            return
        if not self.state.welcomed:
            self.deferred_from_nlu()
            self.start_welcome()
            return
        if self.state.stack:
            self.on_answer(text=text, payload_value=None)
            return
        self.route(text)

    def on_payload(self, payload: str) -> None:
        if not self.state.welcomed and not payload.startswith((P_FLOW, P_INTENT, P_LANG)):
            self.start_welcome()
            return
        if payload.startswith(P_VALUE) and self.current_collect() is not None:
            self.on_answer(text=None, payload_value=payload[len(P_VALUE) :])
        elif payload.startswith(P_INTENT):
            self.nlu = NluResult(intent=payload[len(P_INTENT) :], confidence=1.0)
            self.on_choice_of_flow(self.flows.flow_for_intent(self.nlu.intent, 1.0))
        elif payload.startswith(P_FLOW):
            self.on_choice_of_flow(self.flows.flows.get(payload[len(P_FLOW) :]))
        elif payload.startswith(P_FIX) and self.current_collect() is not None:
            self.start_correction(payload[len(P_FIX) :])
        elif payload.startswith(P_LANG) and payload[len(P_LANG) :] in ("nl", "en"):
            self.set_language(payload[len(P_LANG) :])
        elif payload == P_CMD + "cancel":
            self.cancel()
        elif payload == P_CMD + "retry" and self.state.stack:
            self.run()
        elif payload == P_CMD + "menu":
            self.show_menu()
        else:
            self.say_key("stale_button")
            self.reask_or_menu()

    def on_command(self, text: str) -> None:
        command, _, argument = text.partition(" ")
        command = command.lower().split("@")[0]  # Telegram adds @botname in groups
        if command in {"/stop", "/cancel"}:
            self.cancel()
        elif command in _LANGUAGE_COMMANDS:
            choice = argument.strip().lower()[:2]
            if choice in ("nl", "en"):
                self.set_language(choice)
            else:
                self.say_key(
                    "language_pick",
                    buttons=(Button("Nederlands", P_LANG + "nl"), Button("English", P_LANG + "en")),
                )
        elif command == "/start" and not self.state.welcomed:
            self.start_welcome()
        elif command == "/start":
            # Again mid-conversation (or a restarted terminal): continue where we were.
            self.reask_or_menu()
        elif command in {"/human", "/coach", "/mens"}:
            self.start_flow(self.flows.flows.get(self.flows.settings.human_flow))
        elif self.state.stack and command not in {"/menu", "/help"}:
            self.reask_or_menu()
        else:
            self.state.stack.clear()
            self.state.correcting = None
            self.show_menu()

    def on_choice_of_flow(self, cf: CompiledFlow | None) -> None:
        if cf is None:
            self.say_key("stale_button")
            self.reask_or_menu()
            return
        if not self.state.welcomed:
            self.state.deferred_flow = cf.id
            self.start_welcome()
            return
        self.state.misunderstood = 0
        if cf.flow.digression and self.state.stack:
            self.digress(cf)
        else:
            self.start_flow(cf)

    # ---------------------------------------------------------------- understanding
    def nlu_says(self, intent: str) -> bool:
        return (
            self.nlu is not None
            and self.nlu.intent == intent
            and self.nlu.confidence >= self.flows.settings.interrupt_confidence
        )

    def nlu_flow(self) -> CompiledFlow | None:
        if self.nlu is None or not self.nlu.available:
            return None
        return self.flows.flow_for_intent(self.nlu.intent, self.nlu.confidence)

    def keyword_flow(self, text: str) -> CompiledFlow | None:
        for cf in self.flows.triggered_flows():
            trigger = cf.flow.trigger
            if trigger and trigger.keywords and contains_keyword(text, trigger.keywords):
                return cf
        return None

    def deferred_from_nlu(self) -> None:
        cf = self.nlu_flow()
        if cf is not None and not cf.flow.digression and cf.id != self.flows.settings.welcome_flow:
            self.state.deferred_flow = cf.id

    def route(self, text: str) -> None:
        """No question is pending: start the flow the message asks for, or repair."""
        nlu = self.nlu
        if nlu is None or not nlu.available or nlu.intent == NLU_UNAVAILABLE:
            cf = self.keyword_flow(text)
            if cf is not None:
                self.state.misunderstood = 0
                self.start_flow(cf)
            else:
                self.say_key("nlu_unavailable", buttons=self.menu_buttons())
            return
        cf = self.nlu_flow()
        if cf is not None:
            self.state.misunderstood = 0
            self.prefill_from_entities()
            self.start_flow(cf)
            return
        self.misunderstood()

    def prefill_from_entities(self) -> None:
        """ "Ik heb een nulurencontract" need not be asked about the contract again.

        Only with consent: before it, nothing personal is kept, not even from entities.
        """
        if self.nlu is None or not self.state.consent:
            return
        for name, slot in self.flows.slots.items():
            value = self.nlu.entity(slot.entity) if slot.entity else None
            if value is None or self.state.slots.get(name) is not None:
                continue
            parsed = parse_value(slot, text=value, payload_value=None, nlu=None)
            if parsed.ok:
                self.state.slots.update({name: parsed.value, **parsed.extra})

    def misunderstood(self) -> None:
        self.state.misunderstood += 1
        settings = self.flows.settings
        if self.state.misunderstood > settings.max_misunderstood:
            self.state.misunderstood = 0
            self.say_key("offer_human", buttons=(self.human_button(), *self.menu_buttons()))
            return
        options = self.clarify_options()
        if options:
            buttons = (
                *(Button(label, P_FLOW + fid) for fid, label in options),
                Button(self.text("something_else"), P_CMD + "menu"),
            )
            self.say_key("clarify", buttons=buttons)
        else:
            self.say_key("misunderstood", buttons=self.menu_buttons())

    def clarify_options(self) -> list[tuple[str, str]]:
        if self.nlu is None:
            return []
        settings = self.flows.settings
        options: list[tuple[str, str]] = []
        for score in self.nlu.ranking:
            if score.confidence < settings.clarify_min_confidence:
                continue
            for cf in self.flows.by_intent.get(score.name, ()):
                if cf.flow.label and cf.id not in {fid for fid, _ in options}:
                    options.append((cf.id, cf.flow.label.get(self.lang)))
                    break
            if len(options) >= settings.clarify_max_options:
                break
        return options

    # ---------------------------------------------------------------- answering questions
    def current_collect(self) -> CollectStep | None:
        return _pending_step(self.flows, self.state)

    def on_answer(self, *, text: str | None, payload_value: str | None) -> None:
        step = self.current_collect()
        if step is None:
            self.recover()
            return
        slot = self.flows.slots[step.collect]
        if text is not None and step.corrections:
            target = correction_target(text, self.flows, step.corrections)
            if target is not None:
                self.start_correction(target)
                return
        parsed = parse_value(slot, text=text, payload_value=payload_value, nlu=self.nlu)
        # A near miss ("Amsterdm", "a@@b.nl") is an answer with a typo, not a change of topic.
        if text is not None and self.interrupt(text, answered=parsed.ok or parsed.attempted):
            return
        if not parsed.ok:
            self.invalid_answer(step, parsed)
            return
        if step.corrections and parsed.value is False:
            self.offer_corrections(step)
            return
        candidate = {**self.state.slots, step.collect: parsed.value, **parsed.extra}
        for rejection in step.rejections:
            if compile_condition(rejection.if_).evaluate(candidate, self.context()):
                self.state.retries += 1
                self.say(self.text(rejection.text))
                self.ask(step, with_prefix=False)
                return
        self.state.slots.update({step.collect: parsed.value, **parsed.extra})
        self.state.retries = 0
        self.state.misunderstood = 0
        self.advance(step)
        self.run()

    def interrupt(self, text: str, *, answered: bool) -> bool:
        """A message that is not (or need not be) an answer: a question, or a new topic.

        A valid free-text answer ("ik ben Fatima") only gives way to a question or to asking
        for a human. A failed answer may also switch to a topic from the menu, but never to
        flows like out_of_scope or goodbye: then the question is simply asked again.
        """
        if self.nlu is not None and self.nlu.available:
            if self.nlu.confidence < self.flows.settings.interrupt_confidence:
                return False
            cf = self.nlu_flow()
        elif answered:
            return False
        else:
            cf = self.keyword_flow(text)  # NLU down: keywords still reach a coach or an answer
        if cf is None or cf.id == self.state.active_flow:
            return False
        human = cf.id == self.flows.settings.human_flow
        if cf.flow.digression and (not answered or looks_like_question(text)):
            self.digress(cf)
            return True
        topics = {item.flow for item in self.flows.menu}
        if human or (not answered and cf.id in topics):
            self.start_flow(cf)
            return True
        return False

    def invalid_answer(self, step: CollectStep, parsed: Parsed) -> None:
        slot = self.flows.slots[step.collect]
        self.state.retries += 1
        limit = step.retries if step.retries is not None else slot.retries
        if limit is None:
            limit = self.flows.settings.default_retries
        if self.state.retries > limit:
            self.state.retries = 0
            self.say_key(
                "offer_human",
                buttons=(
                    self.human_button(),
                    Button(self.text("try_again"), P_CMD + "retry"),
                ),
            )
            return
        if parsed.suggestions:
            invalid = step.invalid or slot.invalid or "invalid_generic"
            self.say(
                self.text(invalid),
                tuple(Button(s, P_VALUE + s[:60]) for s in parsed.suggestions),
            )
            return
        self.say(self.text(step.invalid or slot.invalid or "invalid_generic"))
        self.ask(step, with_prefix=False)

    def offer_corrections(self, step: CollectStep) -> None:
        buttons = []
        for name in step.corrections:
            label = self.flows.slots[name].label
            buttons.append(Button(label.get(self.lang) if label else name, P_FIX + name))
        buttons.append(Button(self.text("correction_done_button"), P_VALUE + "yes"))
        self.say_key("choose_correction", buttons=tuple(buttons))

    def start_correction(self, slot_name: str) -> None:
        step = self.current_collect()
        frame = self.state.stack[-1]
        cf = self.flows.flows[frame.flow]
        target = cf.collect_step_for(slot_name)
        if step is None or slot_name not in step.corrections or target is None:
            self.say_key("stale_button")
            self.reask_or_menu()
            return
        slot = self.flows.slots[slot_name]
        self.state.slots.pop(slot_name, None)
        if slot.region_slot:
            self.state.slots.pop(slot.region_slot, None)
        self.state.correcting = slot_name
        self.state.retries = 0
        frame.step = target
        self.run()

    # ---------------------------------------------------------------- repair
    def cancel(self) -> None:
        if not self.state.stack:
            self.say_key("nothing_to_cancel", buttons=self.menu_buttons())
            return
        self.state.stack.clear()
        self.state.correcting = None
        self.state.retries = 0
        self.say_key("cancelled", buttons=self.menu_buttons())

    def digress(self, cf: CompiledFlow) -> None:
        if self.state.stack:
            self.state.stack[-1].interrupted = True
        self.state.stack.append(Frame(flow=cf.id, step=cf.step_ids[0]))
        self.run()

    def set_language(self, language: str) -> None:
        self.state.language = "en" if language == "en" else "nl"
        self.state.language_chosen = True
        self.say_key("language_set")
        if not self.state.welcomed:
            self.start_welcome()
        else:
            self.reask_or_menu()

    def reask_or_menu(self) -> None:
        step = self.current_collect()
        if step is not None:
            self.ask(step, with_prefix=False)
        elif self.state.stack:
            self.recover()
        else:
            self.show_menu()

    def show_menu(self) -> None:
        self.say_key("menu_prompt", buttons=self.menu_buttons())

    def recover(self) -> None:
        """The saved position no longer exists (flows were edited): start afresh, politely."""
        self.state.stack.clear()
        self.state.correcting = None
        self.say_key("flows_changed", buttons=self.menu_buttons())

    # ---------------------------------------------------------------- running flows
    def start_welcome(self) -> None:
        self.state.welcomed = True
        cf = self.flows.flows[self.flows.settings.welcome_flow]
        self.state.stack = [Frame(flow=cf.id, step=cf.step_ids[0])]
        self.run()

    def start_flow(self, cf: CompiledFlow | None) -> None:
        if cf is None:
            self.show_menu()
            return
        self.state.correcting = None
        self.state.retries = 0
        self.state.stack = [Frame(flow=cf.id, step=cf.step_ids[0])]
        self.run()

    def context(self) -> dict[str, object]:
        return {
            "language": self.lang,
            "consent": self.state.consent,
            "channel": self.channel,
            "nested": len(self.state.stack) > 1,
        }

    def next_of(self, cf: CompiledFlow, sid: str, step: Step) -> str:
        nxt = step.next
        if nxt is None:
            return cf.following(sid)
        if isinstance(nxt, str):
            return nxt
        for branch in nxt:
            if isinstance(branch, ElseBranch):
                return branch.else_
            if isinstance(branch, IfBranch) and compile_condition(branch.if_).evaluate(
                self.state.slots, self.context()
            ):
                return branch.then
        return cf.following(sid)

    def advance(self, step: Step) -> None:
        frame = self.state.stack[-1]
        cf = self.flows.flows[frame.flow]
        target = self.next_of(cf, frame.step, step)
        if target == END:
            self.end_flow()
        else:
            frame.step = target

    def end_flow(self) -> None:
        ended = self.state.stack.pop()
        if ended.flow == self.flows.settings.welcome_flow and not self.state.stack:
            deferred = self.flows.flows.get(self.state.deferred_flow or "")
            self.state.deferred_flow = None
            if deferred is not None:
                self.state.stack.append(Frame(flow=deferred.id, step=deferred.step_ids[0]))
            else:
                self.show_menu()

    def run(self) -> None:
        """Execute steps until a question is asked or no flow is left."""
        for _ in range(MAX_STEPS_PER_TURN):
            if not self.state.stack:
                return
            frame = self.state.stack[-1]
            cf = self.flows.flows.get(frame.flow)
            step = cf.step(frame.step) if cf else None
            if cf is None or step is None:
                self.recover()
                return
            if isinstance(step, CollectStep):
                if self.collect(frame, step):
                    return
            elif isinstance(step, SayStep):
                if self.state.correcting is None:
                    buttons = tuple(
                        Button(
                            b.label.get(self.lang),
                            P_FLOW + b.flow if b.flow else P_INTENT + (b.intent or ""),
                        )
                        for b in step.buttons
                    )
                    self.say(self.text(step.say), buttons)
                self.advance(step)
            elif isinstance(step, ActionStep):
                self.action(step)
            elif isinstance(step, SetSlotsStep):
                self.set_slots(step.set_slots)
                self.advance(step)
            elif isinstance(step, CallStep):
                if frame.called:
                    frame.called = False
                    self.advance(step)
                else:
                    frame.called = True
                    child = self.flows.flows[step.call]
                    self.state.stack.append(Frame(flow=child.id, step=child.step_ids[0]))
            elif isinstance(step, LinkStep):
                target = self.flows.flows[step.link]
                self.state.stack[-1] = Frame(flow=target.id, step=target.step_ids[0])
            else:
                self.advance(step)
        # A flow that loops without asking anything: stop it rather than hang the bot.
        self.state.stack.clear()
        self.say_key("error", buttons=self.menu_buttons())

    def collect(self, frame: Frame, step: CollectStep) -> bool:
        """True when the question was asked and the turn should wait for an answer."""
        slot = self.flows.slots[step.collect]
        consent_flow = self.flows.settings.consent_flow
        if slot.personal and not self.state.consent:
            if frame.flow == consent_flow or frame.called:
                # The consent flow ran and consent was not given: personal data is never asked.
                frame.called = False
                self.state.stack.clear()
                self.show_menu()
                return True
            frame.called = True
            cf = self.flows.flows[consent_flow]
            self.state.stack.append(Frame(flow=cf.id, step=cf.step_ids[0]))
            return False
        frame.called = False
        if step.corrections and self.state.correcting is not None:
            self.state.correcting = None
        if self.state.slots.get(step.collect) is not None and not step.ask_before_filling:
            self.advance(step)
            return False
        self.ask(step, with_prefix=frame.interrupted)
        frame.interrupted = False
        return True

    def ask(self, step: CollectStep, *, with_prefix: bool) -> None:
        slot = self.flows.slots[step.collect]
        question = self.text(step.ask or slot.ask or "invalid_generic")
        if with_prefix:
            question = f"{self.text('resume')}\n{question}"
        buttons: tuple[Button, ...] = ()
        if slot.type is SlotType.CHOICE:
            buttons = tuple(Button(o.label.get(self.lang), P_VALUE + o.value) for o in slot.options)
        elif slot.type is SlotType.YES_NO:
            buttons = (
                Button(self.text("yes"), P_VALUE + "yes"),
                Button(self.text("no"), P_VALUE + "no"),
            )
        self.say(question, buttons)

    def set_slots(self, values: dict[str, JsonScalar]) -> None:
        self.state.slots.update(values)

    def action(self, step: ActionStep) -> None:
        name = step.action
        if name is ActionName.RECORD_CONSENT:
            if not self.state.consent:
                self.effects.append(ConsentGiven())
            self.state.consent = True
        elif name is ActionName.WITHDRAW_CONSENT:
            self.state.consent = False
            self.state.slots = {
                k: v
                for k, v in self.state.slots.items()
                if not self.flows.slots.get(k) or not self.flows.slots[k].personal
            }
            self.effects.append(ConsentWithdrawn())
        elif name is ActionName.SHOW_MENU:
            self.show_menu()
        elif name is ActionName.RESET_SLOTS:
            for slot in step.slots:
                self.state.slots.pop(slot, None)
        elif name is ActionName.STOP_FLOWS:
            self.state.stack.clear()
            return
        elif name is ActionName.HANDOFF:
            self.effects.append(self.handoff(step))
        self.advance(step)

    def handoff(self, step: ActionStep) -> HandoffRequested:
        lines = []
        for name in step.slots:
            slot = self.flows.slots[name]
            if self.state.slots.get(name) in (None, ""):
                continue  # the coach only sees what is known
            label = slot.label.nl if slot.label else name
            lines.append(
                SummaryLine(
                    name, label, display_value(self.flows, slot, self.state.slots.get(name), "nl")
                )
            )
        region = next(
            (
                value
                for name, value in self.state.slots.items()
                if isinstance(value, str)
                and name in self.flows.slots
                and self.flows.slots[name].type is SlotType.REGION
            ),
            None,
        )
        topic = self.state.slots.get("topic")
        return HandoffRequested(
            flow=self.state.stack[0].flow,
            topic=str(topic) if topic is not None else None,
            region_code=region,
            language=self.lang,
            summary=tuple(lines),
        )
