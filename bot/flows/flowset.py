"""The merged, validated flows of all files, with the look-ups the engine needs per turn."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.flows.catalogue import Key
from bot.flows.links import Link, choose, links_of
from bot.flows.models import (
    END,
    ActionName,
    ActionStep,
    CallStep,
    CollectStep,
    EngineSettings,
    Flow,
    MenuItem,
    SlotDef,
    Step,
    Text,
    TextRef,
)


def step_id(step: Step, index: int) -> str:
    """A step's id: explicit, or derived.

    Steps where a conversation can wait between two messages (a question, a call of a sub-flow)
    get an id derived from what they do, so adding a line to a flow never moves a running
    conversation onto another question. Other steps are passed through within one turn and
    are addressed by position.
    """
    if step.id:
        return step.id
    if isinstance(step, CollectStep):
        return step.collect
    if isinstance(step, CallStep):
        return f"call_{step.call}"
    return f"step_{index}"


def waits(step: Step) -> bool:
    """True for the steps a conversation can be stored at."""
    return isinstance(step, CollectStep | CallStep)


@dataclass(frozen=True)
class CompiledFlow:
    id: str
    flow: Flow
    step_ids: tuple[str, ...]
    index_by_id: dict[str, int]
    # Per step position: where it can go next (see links.py). Built for any flow, also one
    # with mistakes (unknown targets stay as written), so the validator can walk it.
    step_links: tuple[tuple[Link, ...], ...] = ()

    @classmethod
    def build(cls, flow_id: str, flow: Flow) -> CompiledFlow:
        ids = tuple(step_id(step, i) for i, step in enumerate(flow.steps))
        following = (*ids[1:], END)
        links = tuple(
            links_of(step, after) for step, after in zip(flow.steps, following, strict=True)
        )
        index: dict[str, int] = {}
        for i, sid in enumerate(ids):
            index.setdefault(sid, i)  # a duplicate id is reported; the first one counts
        return cls(flow_id, flow, ids, index, links)

    def step(self, sid: str) -> Step | None:
        index = self.index_by_id.get(sid)
        return None if index is None else self.flow.steps[index]

    @property
    def off_topic(self) -> bool:
        """The small-talk flow of what the NLU found off-topic ("Daar kan ik je helaas niet mee
        helpen")."""
        trigger = self.flow.trigger
        return self.flow.chitchat and trigger is not None and "out_of_scope" in trigger.intents

    def links(self, sid: str) -> tuple[Link, ...]:
        """Where step `sid` can go next, in the order the executor tries them."""
        return self.step_links[self.index_by_id[sid]]

    def next_link(self, sid: str, holds: Callable[[str], bool]) -> tuple[int, Link] | None:
        """The link step `sid` takes when `holds(condition)` says which conditions hold."""
        return choose(self.links(sid), holds)

    @property
    def hands_off(self) -> bool:
        """This flow ends at a coach (it has a handoff step)."""
        return any(
            isinstance(s, ActionStep) and s.action is ActionName.HANDOFF for s in self.flow.steps
        )

    def collect_step_for(self, slot: str) -> str | None:
        for sid, step in zip(self.step_ids, self.flow.steps, strict=True):
            if isinstance(step, CollectStep) and step.collect == slot:
                return sid
        return None


@dataclass(frozen=True)
class FlowSet:
    flows: dict[str, CompiledFlow]
    slots: dict[str, SlotDef]
    texts: dict[str, Text]
    values: dict[str, str | Text]
    menu: tuple[MenuItem, ...]
    settings: EngineSettings
    # intent -> flows it triggers, most specific (highest threshold) first
    by_intent: dict[str, tuple[CompiledFlow, ...]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        *,
        flows: dict[str, Flow],
        slots: dict[str, SlotDef],
        texts: dict[str, Text],
        values: dict[str, str | Text],
        menu: list[MenuItem],
        settings: EngineSettings,
    ) -> FlowSet:
        compiled = {fid: CompiledFlow.build(fid, flow) for fid, flow in flows.items()}
        by_intent: dict[str, list[CompiledFlow]] = {}
        for cf in compiled.values():
            if cf.flow.trigger:
                for intent in cf.flow.trigger.intents:
                    by_intent.setdefault(intent, []).append(cf)
        return cls(
            flows=compiled,
            slots=slots,
            texts=texts,
            values=values,
            menu=tuple(menu),
            settings=settings,
            by_intent={
                intent: tuple(
                    sorted(
                        cfs, key=lambda c: -(c.flow.trigger.min_confidence if c.flow.trigger else 0)
                    )
                )
                for intent, cfs in by_intent.items()
            },
        )

    def text(self, ref: Key | TextRef) -> Text:
        """A text the code names (`Key`), or one a flow names or writes inline. The validator
        guarantees that every name exists."""
        if isinstance(ref, Text):
            return ref
        return self.texts[ref]

    def flow_for_intent(
        self, intent: str, confidence: float, *, mid_question: bool = False
    ) -> CompiledFlow | None:
        """The flow an intent starts. In the middle of a question a digression that answers it
        is preferred (a budget question gets the short answer, not a new topic); otherwise the
        topic flow is."""
        found = [
            cf
            for cf in self.by_intent.get(intent, ())
            if cf.flow.trigger is not None and confidence >= cf.flow.trigger.min_confidence
        ]
        if not found:
            return None
        preferred = [cf for cf in found if cf.flow.digression == mid_question]
        return (preferred or found)[0]

    def triggered_flows(self) -> list[CompiledFlow]:
        return [cf for cf in self.flows.values() if cf.flow.trigger]
