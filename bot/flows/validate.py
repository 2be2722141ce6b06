"""Every rule the flow files must follow, in one place.

A rule is a small function that gets the merged flows (`Context`) and yields `Problem`s, each
with the file and line an admin has to edit. Add one with the `@rule` decorator; its function
name is the rule's name in the findings. The reader (reader.py) has already checked the shape
of each file (fields, types, ranges); rules check what the values mean together.

The flows are built before the rules run, also when they have mistakes (unknown targets stay
as written), so a rule can walk them; the loader only hands out flows without errors.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property

from bot.engine.options import phrases
from bot.flows.catalogue import PLACEHOLDER, RUNTIME_PLACEHOLDERS, SLOT_DOUBT_PLACEHOLDERS, Key
from bot.flows.conditions import ConditionError, compile_condition
from bot.flows.flowset import CompiledFlow, FlowSet
from bot.flows.links import IfLink
from bot.flows.models import (
    END,
    IDENTIFIER_RE,
    ActionStep,
    CallStep,
    CollectStep,
    ElseBranch,
    FlowFile,
    LinkStep,
    SayStep,
    SetSlotsStep,
    SlotType,
    Step,
    Text,
    TextRef,
)
from bot.flows.problems import Problem, Severity
from bot.flows.reader import DocPath, SourceFile

# Intents the engine handles itself, so no flow needs to trigger on them.
ENGINE_INTENTS = frozenset({"nlu_fallback", "affirm", "deny", "cancel"})
_FORBIDDEN = re.compile(
    r"\b(bsn|burgerservicenummer|sofinummer|vakbondslid\w*|lid van (de |een )?(vak)?bond|"
    r"union member\w*|gezondheid|ziekte|ziek|health|illness|religie|geloof|religion|"
    r"seksuele|sexual|etniciteit|ethnic)\b",
    re.IGNORECASE,
)
_SECTIONS = ("flows", "slots", "texts", "values")


@dataclass
class Context:
    """The merged flows and where each part came from."""

    flows: FlowSet
    sources: list[SourceFile]
    nlu_intents: frozenset[str] | None = None  # None: the NLU data was not given

    @cached_property
    def origin(self) -> dict[tuple[str, str], SourceFile]:
        """(section, name) → the file that defines it (the first, when defined twice)."""
        found: dict[tuple[str, str], SourceFile] = {}
        for src in self.sources:
            for section in _SECTIONS:
                for name in getattr(src.content, section):
                    found.setdefault((section, name), src)
        return found

    def flow_source(self, flow_id: str) -> SourceFile:
        return self.origin[("flows", flow_id)]

    @property
    def first(self) -> SourceFile:
        return self.sources[0]

    @cached_property
    def settings_source(self) -> SourceFile:
        return next((s for s in self.sources if s.content.settings), self.first)

    def steps(self) -> Iterator[tuple[CompiledFlow, SourceFile, int, Step, DocPath]]:
        """Every step of every flow: (flow, file, position, step, its path in the file)."""
        for fid, cf in self.flows.flows.items():
            src = self.flow_source(fid)
            for i, step in enumerate(cf.flow.steps):
                yield cf, src, i, step, ("flows", fid, "steps", i)


Found = Iterator[Problem]
Rule = Callable[[Context], Iterable[Problem]]
RULES: list[Rule] = []


def rule(func: Callable[[Context], Iterable[Problem]]) -> Rule:
    """Register a rule; the problems it yields carry its name."""

    def tagged(ctx: Context) -> Iterator[Problem]:
        for problem in func(ctx):
            yield dataclasses.replace(problem, rule=func.__name__)

    tagged.__name__ = func.__name__
    tagged.__doc__ = func.__doc__
    RULES.append(tagged)
    return tagged


def validate(ctx: Context, rules: Iterable[Rule] | None = None) -> list[Problem]:
    problems = [p for check in (RULES if rules is None else rules) for p in check(ctx)]
    return sorted(set(problems), key=lambda p: (p.file, p.line or 0, p.message))


def at(src: SourceFile, path: DocPath, message: str, severity: Severity = "error") -> Problem:
    return Problem(src.name, src.line(*path), message, severity)


# -- names and definitions ---------------------------------------------------------------------


@rule
def unique_definitions(ctx: Context) -> Found:
    """A flow, slot, text or value is defined in one file only; so are the settings."""
    seen: dict[tuple[str, str], str] = {}
    settings_in: str | None = None
    for src in ctx.sources:
        for section in _SECTIONS:
            for name in getattr(src.content, section):
                if (section, name) in seen:
                    where = seen[(section, name)]
                    yield at(
                        src, (section, name), f"{section}.{name} is already defined in {where}"
                    )
                else:
                    seen[(section, name)] = src.name
        if src.content.settings is not None:
            if settings_in is not None:
                yield at(src, ("settings",), "settings: may appear in one file only")
            settings_in = settings_in or src.name


@rule
def plain_names(ctx: Context) -> Found:
    """Names are lower-case letters, digits and _ (they travel in button data)."""
    for src in ctx.sources:
        for section in _SECTIONS:
            for name in getattr(src.content, section):
                if not IDENTIFIER_RE.match(name):
                    message = f"{name!r} is not a valid name: use lower-case letters, digits and _"
                    yield at(src, (section, name), message)


@rule
def texts_the_code_uses(ctx: Context) -> Found:
    """Every `Key` the code says exists in texts: (its translation is checked below)."""
    for key in Key:
        if key.value not in ctx.flows.texts:
            message = f"text {key.value!r} (used by the bot) is missing"
            yield Problem(ctx.first.name, None, message)


@rule
def settings_references(ctx: Context) -> Found:
    """The welcome, human and consent flows and the role slots exist."""
    src, settings = ctx.settings_source, ctx.flows.settings
    for attr in ("welcome_flow", "human_flow", "consent_flow"):
        target = getattr(settings, attr)
        if target not in ctx.flows.flows:
            yield at(src, ("settings", attr), f"unknown flow {target!r}")
    for role, slot in settings.roles.model_dump().items():
        if slot is not None and slot not in ctx.flows.slots:
            yield at(src, ("settings", "roles", role), f"roles.{role}: unknown slot {slot!r}")


@rule
def menu_flows(ctx: Context) -> Found:
    for src in ctx.sources:
        for i, item in enumerate(src.content.menu):
            if item.flow not in ctx.flows.flows:
                yield at(src, ("menu", i), f"unknown flow {item.flow!r}")


# -- slots -------------------------------------------------------------------------------------


@rule
def choice_options(ctx: Context) -> Found:
    """A choice slot has options with distinct values; no other type has options."""
    for src in ctx.sources:
        for name, slot in src.content.slots.items():
            path = ("slots", name)
            if slot.type is SlotType.CHOICE and not slot.options:
                yield at(src, (*path, "type"), "a choice slot needs options")
            if slot.type is not SlotType.CHOICE and slot.options:
                yield at(src, (*path, "options"), "only choice slots have options")
            values = [option.value for option in slot.options]
            for j, value in enumerate(values):
                if value in values[:j]:
                    yield at(src, (*path, "options", j), f"option value {value!r} appears twice")


@rule
def slot_references(ctx: Context) -> Found:
    """The texts a slot names exist; `region_slot` is a region slot of a gemeente slot."""
    for src in ctx.sources:
        for name, slot in src.content.slots.items():
            path = ("slots", name)
            for field in ("ask", "invalid", "doubt"):
                yield from _text_exists(ctx, src, getattr(slot, field), (*path, field))
            if slot.region_slot is None:
                continue
            where = (*path, "region_slot")
            if slot.type is not SlotType.GEMEENTE:
                yield at(src, where, "region_slot only applies to gemeente slots")
            target = ctx.flows.slots.get(slot.region_slot)
            if target is None:
                yield at(src, where, f"unknown slot {slot.region_slot!r}")
            elif target.type is not SlotType.REGION:
                yield at(src, where, f"slot {slot.region_slot!r} must have type region")


@rule
def place_slots(ctx: Context) -> Found:
    """`place_slot` is a text slot of a gemeente slot (the town or village named)."""
    for src in ctx.sources:
        for name, slot in src.content.slots.items():
            if slot.place_slot is None:
                continue
            where = ("slots", name, "place_slot")
            if slot.type is not SlotType.GEMEENTE:
                yield at(src, where, "place_slot only applies to gemeente slots")
            target = ctx.flows.slots.get(slot.place_slot)
            if target is None:
                yield at(src, where, f"unknown slot {slot.place_slot!r}")
            elif target.type is not SlotType.TEXT:
                yield at(src, where, f"slot {slot.place_slot!r} must have type text")


@rule
def option_meanings(ctx: Context) -> Found:
    """Synonyms tell options apart: a word that names two options of one question is an error;
    `hours` is [from, to] on a 24-hour clock; at most one option is `other: true`."""
    for src in ctx.sources:
        for name, slot in src.content.slots.items():
            owner: dict[str, str] = {}
            for j, option in enumerate(slot.options):
                path = ("slots", name, "options", j)
                for phrase in phrases(option):
                    other = owner.setdefault(phrase, option.value)
                    if other != option.value:
                        yield at(
                            src,
                            (*path, "synonyms"),
                            f"slots.{name}: {phrase!r} names both option {other!r} and "
                            f"option {option.value!r}; keep it at one of them",
                        )
                if option.hours is not None and not 0 <= option.hours[0] < option.hours[1] <= 24:
                    yield at(src, (*path, "hours"), "hours: [from, to] with 0 <= from < to <= 24")
            values = {option.value for option in slot.options}
            for j, group in enumerate(slot.ask_which):
                for value in group.options:
                    if value not in values:
                        yield at(
                            src,
                            ("slots", name, "ask_which", j),
                            f"slots.{name}: ask_which names no option {value!r}",
                        )
            others = [j for j, option in enumerate(slot.options) if option.other]
            for j in others[1:]:
                yield at(src, ("slots", name, "options", j), "only one option can be `other: true`")


@rule
def slot_intents(ctx: Context) -> Found:
    """The intents that mark a message as about a question are intents of the NLU data."""
    known = ctx.nlu_intents
    if not known:
        return
    for src in ctx.sources:
        for name, slot in src.content.slots.items():
            for i, intent in enumerate(slot.intents):
                if intent not in known:
                    path = ("slots", name, "intents", i)
                    yield at(src, path, f"slot {name!r}: intent {intent!r} is not in the NLU data")


def _text_exists(ctx: Context, src: SourceFile, ref: TextRef | None, path: DocPath) -> Found:
    if isinstance(ref, str) and ref not in ctx.flows.texts:
        yield at(src, path, f"unknown text {ref!r}")


# -- steps -------------------------------------------------------------------------------------


@rule
def step_ids(ctx: Context) -> Found:
    """Step ids are unique in their flow (a waiting conversation is stored by its step id)."""
    for cf, src, i, step, path in ctx.steps():
        sid = cf.step_ids[i]
        if sid in cf.step_ids[:i] or sid == END:
            message = f"duplicate step id {sid!r}"
            if step.id is None:
                message += " (taken from the slot or flow: give this step its own `id:`)"
            yield at(src, (*path, "id"), message)


@rule
def step_references(ctx: Context) -> Found:
    """The slots, flows and texts a step names exist."""
    fs = ctx.flows
    for cf, src, _, step, path in ctx.steps():

        def slot(
            name: str, *sub: str | int, _src: SourceFile = src, _path: DocPath = path
        ) -> Found:
            if name not in fs.slots:
                yield at(_src, (*_path, *sub), f"unknown slot {name!r}")

        if isinstance(step, CollectStep):
            yield from slot(step.collect, "collect")
            for field in ("ask", "invalid"):
                yield from _text_exists(ctx, src, getattr(step, field), (*path, field))
            for j, rejection in enumerate(step.rejections):
                yield from _text_exists(ctx, src, rejection.text, (*path, "rejections", j, "text"))
        elif isinstance(step, SayStep):
            yield from _text_exists(ctx, src, step.say, (*path, "say"))
        elif isinstance(step, SetSlotsStep):
            for name in step.set_slots:
                yield from slot(name, "set_slots", name)
        elif isinstance(step, ActionStep):
            for name in step.slots:
                yield from slot(name, "slots")
        elif isinstance(step, CallStep | LinkStep):
            key = "call" if isinstance(step, CallStep) else "link"
            target = step.call if isinstance(step, CallStep) else step.link
            if target not in fs.flows:
                yield at(src, (*path, key), f"unknown flow {target!r}")
            elif target == cf.id:
                yield at(src, (*path, key), "a flow cannot call or link to itself")


@rule
def buttons(ctx: Context) -> Found:
    """A `say:` button starts exactly one flow or intent, and that flow exists."""
    for _, src, _, step, path in ctx.steps():
        if not isinstance(step, SayStep):
            continue
        for j, button in enumerate(step.buttons):
            where = (*path, "buttons", j)
            if (button.flow is None) == (button.intent is None):
                yield at(src, where, "a button needs exactly one of `flow` or `intent`")
            elif button.flow is not None and button.flow not in ctx.flows.flows:
                yield at(src, where, f"unknown flow {button.flow!r}")


@rule
def corrections(ctx: Context) -> Found:
    """A summary can only correct slots its own flow collects (it goes back to that step)."""
    for cf, src, _, step, path in ctx.steps():
        if not isinstance(step, CollectStep):
            continue
        for name in step.corrections:
            if name not in ctx.flows.slots:
                yield at(src, (*path, "corrections"), f"unknown slot {name!r}")
            elif cf.collect_step_for(name) is None:
                message = f"slot {name!r} can only be corrected if this flow collects it"
                yield at(src, (*path, "corrections"), message)


# -- next: and conditions ----------------------------------------------------------------------


@rule
def next_branches(ctx: Context) -> Found:
    """A `next:` list has branches, and `else` comes last."""
    for _, src, _, step, path in ctx.steps():
        if not isinstance(step.next, list):
            continue
        if not step.next:
            yield at(src, (*path, "next"), "next: needs at least one branch")
        for j, branch in enumerate(step.next[:-1]):
            if isinstance(branch, ElseBranch):
                yield at(src, (*path, "next", j), "`else` must be the last branch")


@rule
def link_targets(ctx: Context) -> Found:
    """Every link goes to a step of the flow, or END, named by id (positions move)."""
    for cf, src, i, step, path in ctx.steps():
        for j, link in enumerate(cf.step_links[i]):
            if getattr(link, "implicit", False):
                continue
            sub: DocPath = ("next",) if not isinstance(step.next, list) else ("next", j)
            target = link.target
            if target != END and target not in cf.index_by_id:
                yield at(src, (*path, *sub), f"unknown step {target!r} (use a step id or END)")
            elif target.startswith("step_") and target[5:].isdigit():
                message = (
                    f"{target!r} is a position, which moves when steps are added: give it an `id:`"
                )
                yield at(src, (*path, *sub), message)


@rule
def conditions(ctx: Context) -> Found:
    """Conditions parse, and name slots that exist."""
    for cf, src, i, step, path in ctx.steps():
        written: list[tuple[str, DocPath]] = [
            (link.condition, ("next", j, "if"))
            for j, link in enumerate(cf.step_links[i])
            if isinstance(link, IfLink)
        ]
        if isinstance(step, CollectStep):
            written += [(r.if_, ("rejections", j, "if")) for j, r in enumerate(step.rejections)]
        for source, sub in written:
            try:
                names = compile_condition(source).slot_names()
            except ConditionError as exc:
                yield at(src, (*path, *sub), f"condition: {exc}")
                continue
            for name in sorted(names - set(ctx.flows.slots)):
                yield at(src, (*path, *sub), f"unknown slot {name!r}")


@rule
def reachable(ctx: Context) -> Found:
    """Every step can be reached from the first one by some path."""
    for fid, cf in ctx.flows.flows.items():
        src = ctx.flow_source(fid)
        seen: set[str] = set()
        todo = [cf.step_ids[0]] if cf.step_ids else []
        while todo:
            sid = todo.pop()
            if sid == END or sid in seen or sid not in cf.index_by_id:
                continue
            seen.add(sid)
            todo.extend(link.target for link in cf.links(sid))
        for i, sid in enumerate(cf.step_ids):
            if sid not in seen:
                message = f"flow {fid!r}: step {sid!r} can never be reached"
                yield at(src, ("flows", fid, "steps", i), message)


# -- triggers and the NLU ----------------------------------------------------------------------


@rule
def trigger_intents(ctx: Context) -> Found:
    """Triggers name intents of the NLU data; every intent starts a flow (a warning)."""
    known = ctx.nlu_intents
    if known is None:
        return
    if not known:
        yield Problem("nlu/data", None, "no intents found in nlu/data/*.yml", "warning")
        return
    for fid, cf in ctx.flows.flows.items():
        if cf.flow.trigger is None:
            continue
        src = ctx.flow_source(fid)
        for i, intent in enumerate(cf.flow.trigger.intents):
            if intent not in known:
                path = ("flows", fid, "trigger", "intents", i)
                yield at(src, path, f"flow {fid!r}: intent {intent!r} is not in the NLU data")
    triggered = set(ctx.flows.by_intent) | ENGINE_INTENTS
    for intent in sorted(known - triggered):
        message = f"NLU intent {intent!r} triggers no flow"
        yield Problem(ctx.first.name, None, message, "warning")


# -- texts -------------------------------------------------------------------------------------


def texts_of(content: FlowFile) -> Iterator[tuple[DocPath, Text]]:
    """Every text written in a file, with its path: what translation and placeholder rules read."""
    for key, text in content.texts.items():
        yield ("texts", key), text
    for key, value in content.values.items():
        if isinstance(value, Text):
            yield ("values", key), value
    for i, item in enumerate(content.menu):
        yield ("menu", i, "label"), item.label
    for name, slot in content.slots.items():
        for field in ("label", "ask", "invalid", "doubt"):
            value = getattr(slot, field)
            if isinstance(value, Text):
                yield ("slots", name, field), value
        for j, option in enumerate(slot.options):
            yield ("slots", name, "options", j, "label"), option.label
    for fid, flow in content.flows.items():
        if flow.label:
            yield ("flows", fid, "label"), flow.label
        for i, step in enumerate(flow.steps):
            path = ("flows", fid, "steps", i)
            if isinstance(step, SayStep):
                if isinstance(step.say, Text):
                    yield (*path, "say"), step.say
                for j, button in enumerate(step.buttons):
                    yield (*path, "buttons", j), button.label
            if isinstance(step, CollectStep):
                for field in ("ask", "invalid"):
                    value = getattr(step, field)
                    if isinstance(value, Text):
                        yield (*path, field), value
                for j, rejection in enumerate(step.rejections):
                    if isinstance(rejection.text, Text):
                        yield (*path, "rejections", j), rejection.text


def _where(path: DocPath) -> str:
    return ".".join(str(p) for p in path)


@rule
def translations(ctx: Context) -> Found:
    """Every text has an English version."""
    for src in ctx.sources:
        for path, text in texts_of(src.content):
            if not text.en:
                yield at(src, path, f"{_where(path)}: English translation (en) missing")


@rule
def placeholders(ctx: Context) -> Found:
    """A {placeholder} names a slot, a value, or what the code fills in for that text."""
    known = set(ctx.flows.slots) | set(ctx.flows.values)
    for src in ctx.sources:
        for path, text in texts_of(src.content):
            runtime: frozenset[str] = frozenset()
            if path[0] == "texts":
                runtime = RUNTIME_PLACEHOLDERS.get(str(path[1]), frozenset())
            elif path[0] == "slots" and path[-1] == "doubt":
                runtime = SLOT_DOUBT_PLACEHOLDERS
            for language, body in (("nl", text.nl), ("en", text.en or "")):
                for name in PLACEHOLDER.findall(body):
                    if name not in known and name not in runtime:
                        message = f"{_where(path)}.{language}: unknown placeholder {{{name}}}"
                        yield at(src, path, message)


@rule
def no_special_category_questions(ctx: Context) -> Found:
    """Never ask about health, religion, union membership or the BSN."""
    for src in ctx.sources:
        for path, text in texts_of(src.content):
            if path[-1] != "ask":
                continue
            if any(_FORBIDDEN.search(body) for body in (text.nl, text.en or "")):
                message = (
                    f"{_where(path)}: never ask about health, religion, union membership or the BSN"
                )
                yield at(src, path, message)
