"""Conversation tests (flows/tests/*.yml): the format, read with the flows' own reader.

    coaches:                          # who is in the (empty) database when a test starts
      - name: Anna de Vries
        union: FNV
        regions: [Utrecht]            # a labour-market region, by name or code
    tests:
      - test: A first message about a lost job starts the welcome
        steps:
          - user: Ik ben ontslagen    # typed text, or `button: Ja` to press a button
            intent: job_loss          # how the NLU reads it (so the test does not depend on it)
            bot:                      # the replies, in this order (others may come between)
              - "computerprogramma"   #   a part of a reply (quoted text)
              - text: privacy_notice  #   a text by its name in texts.yml or facts.yml
              - asks: consent         #   the question for a slot
            buttons: [Ja, Nee]        # exactly the buttons offered
            slots: {consent: Ja}      # slot values as the bot shows them (or as stored)
            flow: welcome             # the flow that is active afterwards (none: no flow)
            handoff: ...              # a case for a coach was made (see flows/README.md)

Every name a test uses is checked against the flows before anything runs, with file:line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from bot.flows.flowset import FlowSet
from bot.flows.models import CollectStep, Language, SayStep, Text
from bot.flows.problems import Problem
from bot.flows.reader import Document, parse_model, read_yaml
from bot.gemeenten import resolve_region

NO_FLOW = ("none", "geen")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TextReply(_Model):
    """`text: privacy_notice`: the text of that name (placeholders match anything)."""

    text: str


class AskReply(_Model):
    """`asks: first_name`: the question for that slot (any step's wording of it)."""

    asks: str


class StepReply(_Model):
    """`step: job_loss.tell`: what that step of a flow says or asks."""

    step: str


ReplyExpectation = str | TextReply | AskReply | StepReply


def _as_list(value: Any) -> Any:
    return value if value is None or isinstance(value, list) else [value]


def _no_handoff(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in ("none", "no", "nee", "geen"):
        return False
    return value


class HandoffExpectation(_Model):
    """A case made in this turn, as the coach's card shows it."""

    to: str | None = None  # a coach's name, or "coordinator"
    topic: str | None = None
    card: dict[str, str] = Field(default_factory=dict)  # label → value, as on the card


class TestStep(_Model):
    __test__ = False  # not a pytest test class

    user: str | None = None
    button: str | None = None
    # What happens without a message: `coach_accepts` (the case's coach accepts it) or
    # `follow_up` (four weeks later the scheduler asks how it went).
    event: Literal["coach_accepts", "follow_up"] | None = None
    # The NLU reading: an intent name (read with confidence 0.95), or intents with confidences
    # ({nlu_fallback: 0.4, job_loss: 0.35}) for a message the model is unsure about.
    intent: str | dict[str, float] | None = None
    entities: dict[str, str] = Field(default_factory=dict)
    bot: Annotated[list[ReplyExpectation] | None, BeforeValidator(_as_list)] = None
    buttons: Annotated[list[str] | None, BeforeValidator(_as_list)] = None
    slots: dict[str, Any] | None = None
    flow: str | None = None
    handoff: Annotated[HandoffExpectation | Literal[False] | None, BeforeValidator(_no_handoff)] = (
        None
    )
    language: Language | None = None

    def expects(self, name: str) -> bool:
        return name in self.model_fields_set


class TestCase(_Model):
    __test__ = False  # not a pytest test class

    test: str
    language: Language = "nl"  # the language the conversation should be in
    channel: str = "telegram"
    steps: list[TestStep] = Field(min_length=1)


class CoachSpec(_Model):
    name: str
    union: Literal["FNV", "CNV"] = "FNV"
    regions: list[str] = Field(min_length=1)
    capacity: int = Field(default=10, ge=1)


class TestFile(_Model):
    __test__ = False  # not a pytest test class

    coaches: list[CoachSpec] = Field(default_factory=list)
    tests: list[TestCase] = Field(default_factory=list)


@dataclass
class Case:
    """One test, ready to run: where it is written, and the coaches of its file."""

    file: str
    line: int
    spec: TestCase
    coaches: tuple[CoachSpec, ...]
    step_lines: tuple[int, ...]
    document: Document = field(repr=False)

    @property
    def title(self) -> str:
        return f"{self.spec.test} ({self.spec.language})"

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def spec_files(directory: Path) -> tuple[Path, ...]:
    return tuple(sorted(p for p in directory.glob("*.yml") if p.is_file()))


def read_cases(paths: tuple[Path, ...], flows: FlowSet) -> tuple[list[Case], list[Problem]]:
    """Read test files; every name they use must exist in `flows`."""
    cases: list[Case] = []
    problems: list[Problem] = []
    for path in paths:
        document, found = read_yaml(path)
        problems += found
        if document is None:
            continue
        if not isinstance(document.data, dict):
            problems.append(Problem(document.name, 1, "a test file has `tests:` (and `coaches:`)"))
            continue
        content, found = parse_model(document, TestFile)
        problems += found
        if content is None:
            continue
        if not content.tests:
            problems.append(Problem(document.name, 1, "no tests in this file", "warning"))
        problems += _check_coaches(document, content)
        for i, spec in enumerate(content.tests):
            lines = tuple(
                document.line("tests", i, "steps", j) or 0 for j in range(len(spec.steps))
            )
            case = Case(
                document.name,
                document.line("tests", i) or 0,
                spec,
                tuple(content.coaches),
                lines,
                document,
            )
            problems += _check_case(document, i, spec, flows)
            cases.append(case)
    return cases, problems


def _check_coaches(document: Document, content: TestFile) -> list[Problem]:
    problems = []
    for i, coach in enumerate(content.coaches):
        for j, region in enumerate(coach.regions):
            if resolve_region(region) is None:
                line = document.line("coaches", i, "regions", j)
                problems.append(Problem(document.name, line, f"unknown region {region!r}"))
    return problems


def _check_case(document: Document, index: int, spec: TestCase, flows: FlowSet) -> list[Problem]:
    problems: list[Problem] = []

    def bad(message: str, *path: str | int) -> None:
        problems.append(Problem(document.name, document.line("tests", index, *path), message))

    for j, step in enumerate(spec.steps):
        at: tuple[str | int, ...] = ("steps", j)
        if sum(x is not None for x in (step.user, step.button, step.event)) != 1:
            bad("a step has one of `user:` (typed), `button:` (pressed) or `event:`", *at)
        if step.user is None and (step.intent is not None or step.entities):
            bad("only typed lines are read by the NLU: no `intent:` here", *at, "intent")
        for k, item in enumerate(step.bot or []):
            where = (*at, "bot", k)
            if isinstance(item, TextReply) and item.text not in flows.texts:
                bad(f"unknown text {item.text!r}", *where)
            elif isinstance(item, AskReply) and item.asks not in flows.slots:
                bad(f"unknown slot {item.asks!r}", *where)
            elif isinstance(item, StepReply) and step_text(flows, item.step) is None:
                bad(f"no say or collect step {item.step!r} (write it as flow.step_id)", *where)
        for name in step.slots or {}:
            if name not in flows.slots:
                bad(f"unknown slot {name!r}", *at, "slots", name)
        if step.flow is not None and step.flow not in flows.flows and step.flow not in NO_FLOW:
            bad(f"unknown flow {step.flow!r}", *at, "flow")
    return problems


def step_text(flows: FlowSet, reference: str) -> Text | None:
    """The text of a say step, or the question of a collect step: `flow.step_id`."""
    flow_id, _, step_id = reference.partition(".")
    cf = flows.flows.get(flow_id)
    step = cf.step(step_id) if cf else None
    if isinstance(step, SayStep):
        return flows.text(step.say)
    if isinstance(step, CollectStep) and step.collect in flows.slots:
        ask = step.ask or flows.slots[step.collect].ask
        return flows.text(ask) if ask is not None else None
    return None
