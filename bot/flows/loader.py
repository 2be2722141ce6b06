"""Load flows/*.yml into a `FlowSet`, reporting every problem as file:line.

YAML is composed into nodes first so that each value keeps its line; pydantic errors and
cross-reference errors are then mapped back to the line an admin has to edit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from bot.flows.catalogue import Key
from bot.flows.conditions import compile_condition
from bot.flows.flowset import FlowSet
from bot.flows.models import (
    END,
    ActionStep,
    CallStep,
    CollectStep,
    ElseBranch,
    EngineSettings,
    Flow,
    FlowFile,
    IfBranch,
    LinkStep,
    MenuItem,
    SayStep,
    SetSlotsStep,
    SlotDef,
    Text,
    TextRef,
)

Path_ = tuple[str | int, ...]


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int | None
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.severity}: {self.message}"


@dataclass
class LoadResult:
    flowset: FlowSet | None
    problems: list[Problem] = field(default_factory=list)
    files: tuple[Path, ...] = ()
    sources: list[SourceFile] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


@dataclass
class SourceFile:
    """One parsed file with the line of every value, keyed by its path in the document."""

    name: str
    content: FlowFile
    lines: dict[Path_, int]

    def line(self, *path: str | int) -> int | None:
        for end in range(len(path), -1, -1):
            if (found := self.lines.get(path[:end])) is not None:
                return found
        return None


class _Composer:
    def __init__(self, name: str) -> None:
        self.name = name
        self.lines: dict[Path_, int] = {}
        self.problems: list[Problem] = []
        self._scalars = yaml.SafeLoader("")

    def convert(self, node: yaml.Node, path: Path_) -> Any:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self._scalars.construct_object(key_node)
                if not isinstance(key, str | int | float | bool):
                    self.problems.append(
                        Problem(self.name, key_node.start_mark.line + 1, "keys must be plain words")
                    )
                    continue
                # "yes"/"no" keys would be booleans in YAML 1.1; admins mean the words.
                key = _key_text(key, key_node)
                if key in result:
                    self.problems.append(
                        Problem(self.name, key_node.start_mark.line + 1, f"duplicate key {key!r}")
                    )
                child = (*path, key)
                self.lines[child] = key_node.start_mark.line + 1
                result[key] = self.convert(value_node, child)
                self.lines[child] = key_node.start_mark.line + 1
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalars.construct_object(node)


def _key_text(key: object, node: yaml.Node) -> str:
    return str(node.value) if isinstance(key, bool) else str(key)


def parse_file(path: Path, name: str) -> tuple[SourceFile | None, list[Problem]]:
    try:
        text = path.read_text(encoding="utf-8")
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        return None, [Problem(name, line, f"YAML syntax: {exc.problem or exc.context}")]
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return None, [Problem(name, None, f"cannot read file: {type(exc).__name__}")]
    if root is None:
        return SourceFile(name, FlowFile(), {}), []
    composer = _Composer(name)
    data = composer.convert(root, ())
    if composer.problems:
        return None, composer.problems
    if not isinstance(data, dict):
        return None, [
            Problem(name, 1, "the file must be a mapping of sections (flows:, slots:, ...)")
        ]
    try:
        content = FlowFile.model_validate(data)
    except ValidationError as exc:
        source = SourceFile(name, FlowFile(), composer.lines)
        problems = []
        for err in exc.errors():
            at, shown = _document_path(err["loc"], composer.lines)
            problems.append(Problem(name, source.line(*at), _describe(err, shown)))
        return None, problems
    return SourceFile(name, content, composer.lines), []


def _document_path(loc: Iterable[str | int], lines: dict[Path_, int]) -> tuple[Path_, Path_]:
    """Map a pydantic error location to the document: (path with a line, path to show).

    Pydantic inserts union tags ("collect", "function-after[...]") that are not keys in the
    YAML; a part is a tag when the next part only fits without it.
    """
    parts = list(loc)
    path: Path_ = ()
    shown: Path_ = ()
    for i, part in enumerate(parts):
        following = parts[i + 1] if i + 1 < len(parts) else None
        is_tag = isinstance(part, str) and (
            "[" in part
            or (
                following is not None
                and (*path, following) in lines
                and (*path, part, following) not in lines
            )
        )
        if is_tag:
            continue
        shown = (*shown, part)
        if (*path, part) in lines:
            path = (*path, part)
    return path, shown


def _describe(err: Any, shown: Path_) -> str:
    loc = ".".join(str(p) for p in shown)
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = "unknown field (check the spelling)"
    return f"{loc}: {message}" if loc else message


def load_flows(directory: Path) -> LoadResult:
    """Parse, validate and cross-check every flows/*.yml file. `flowset` is None on errors."""
    files = tuple(sorted(p for p in directory.glob("*.yml") if p.is_file()))
    problems: list[Problem] = []
    sources: list[SourceFile] = []
    if not files:
        return LoadResult(None, [Problem(str(directory), None, "no *.yml flow files found")])
    for path in files:
        source, file_problems = parse_file(path, display_name(path))
        problems.extend(file_problems)
        if source is not None:
            sources.append(source)
    if problems:
        return LoadResult(None, problems, files)
    merged, problems = _merge(sources)
    if merged is None:
        return LoadResult(None, problems, files)
    problems.extend(_check_references(merged, sources))
    errors = [p for p in problems if p.severity == "error"]
    return LoadResult(None if errors else merged, problems, files, sources)


def display_name(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _merge(sources: list[SourceFile]) -> tuple[FlowSet | None, list[Problem]]:
    problems: list[Problem] = []
    flows: dict[str, Flow] = {}
    slots: dict[str, SlotDef] = {}
    texts: dict[str, Text] = {}
    values: dict[str, str | Text] = {}
    menu: list[MenuItem] = []
    settings: EngineSettings | None = None
    seen: dict[tuple[str, str], str] = {}
    for src in sources:
        for section, target in (
            ("flows", flows),
            ("slots", slots),
            ("texts", texts),
            ("values", values),
        ):
            items: dict[str, Any] = getattr(src.content, section)
            for key, item in items.items():
                if (section, key) in seen:
                    problems.append(
                        Problem(
                            src.name,
                            src.line(section, key),
                            f"{section}.{key} is already defined in {seen[(section, key)]}",
                        )
                    )
                    continue
                seen[(section, key)] = src.name
                target[key] = item
        menu.extend(src.content.menu)
        if src.content.settings is not None:
            if settings is not None:
                problems.append(
                    Problem(src.name, src.line("settings"), "settings: may appear in one file only")
                )
            settings = src.content.settings
    if problems:
        return None, problems
    flowset = FlowSet.build(
        flows=flows,
        slots=slots,
        texts=texts,
        values=values,
        menu=menu,
        settings=settings or EngineSettings(),
    )
    return flowset, []


def _check_references(fs: FlowSet, sources: list[SourceFile]) -> list[Problem]:
    """Everything the engine would otherwise trip over at run time."""
    problems: list[Problem] = []
    origin = {fid: src for src in sources for fid in src.content.flows}
    first = sources[0]

    def text_ref(src: SourceFile, ref: TextRef | None, *path: str | int) -> None:
        if isinstance(ref, str) and ref not in fs.texts:
            problems.append(Problem(src.name, src.line(*path), f"unknown text {ref!r}"))

    for text_key in Key:
        if text_key.value not in fs.texts:
            problems.append(
                Problem(first.name, None, f"text {text_key.value!r} (used by the bot) is missing")
            )
    settings_src = next((s for s in sources if s.content.settings), first)
    for attr in ("welcome_flow", "human_flow", "consent_flow"):
        target = getattr(fs.settings, attr)
        if target not in fs.flows:
            problems.append(
                Problem(
                    settings_src.name,
                    settings_src.line("settings", attr),
                    f"unknown flow {target!r}",
                )
            )
    roles = fs.settings.roles
    for role, slot_name in roles.model_dump().items():
        if slot_name is not None and slot_name not in fs.slots:
            problems.append(
                Problem(
                    settings_src.name,
                    settings_src.line("settings", "roles", role),
                    f"roles.{role}: unknown slot {slot_name!r}",
                )
            )
    for src in sources:
        for i, item in enumerate(src.content.menu):
            if item.flow not in fs.flows:
                problems.append(
                    Problem(src.name, src.line("menu", i), f"unknown flow {item.flow!r}")
                )
        for name, slot in src.content.slots.items():
            text_ref(src, slot.ask, "slots", name, "ask")
            text_ref(src, slot.invalid, "slots", name, "invalid")
            for link in ("region_slot", "place_slot"):
                linked = getattr(slot, link)
                if linked and linked not in fs.slots:
                    problems.append(
                        Problem(
                            src.name,
                            src.line("slots", name, link),
                            f"unknown slot {linked!r}",
                        )
                    )
    for fid, cf in fs.flows.items():
        src = origin[fid]
        seen_ids: set[str] = set()
        for i, step in enumerate(cf.flow.steps):
            at = ("flows", fid, "steps", i)
            sid = cf.step_ids[i]
            if sid in seen_ids or sid == END:
                message = f"duplicate step id {sid!r}"
                if step.id is None:
                    message += " (taken from the slot or flow: give this step its own `id:`)"
                problems.append(Problem(src.name, src.line(*at, "id"), message))
            seen_ids.add(sid)
            problems.extend(_step_references(fs, src, fid, step, at))
            text_ref_targets: list[tuple[TextRef | None, str]] = []
            if isinstance(step, SayStep):
                text_ref_targets.append((step.say, "say"))
            if isinstance(step, CollectStep):
                text_ref_targets += [(step.ask, "ask"), (step.invalid, "invalid")]
                text_ref_targets += [(r.text, "rejections") for r in step.rejections]
            for ref, key in text_ref_targets:
                text_ref(src, ref, *at, key)
    return problems


def _step_references(fs: FlowSet, src: SourceFile, fid: str, step: Any, at: Path_) -> list[Problem]:
    problems: list[Problem] = []
    cf = fs.flows[fid]

    def bad(message: str, *sub: str | int) -> None:
        problems.append(Problem(src.name, src.line(*at, *sub), message))

    def slot_exists(name: str, *sub: str | int) -> None:
        if name not in fs.slots:
            bad(f"unknown slot {name!r}", *sub)

    if isinstance(step, CollectStep):
        slot_exists(step.collect, "collect")
        for name in step.corrections:
            slot_exists(name, "corrections")
            if name in fs.slots and cf.collect_step_for(name) is None:
                bad(f"slot {name!r} can only be corrected if this flow collects it", "corrections")
        for r in step.rejections:
            for name in _condition_slots(r.if_):
                slot_exists(name, "rejections")
    if isinstance(step, SetSlotsStep):
        for name in step.set_slots:
            slot_exists(name, "set_slots", name)
    if isinstance(step, ActionStep):
        for name in step.slots:
            slot_exists(name, "slots")
    if isinstance(step, CallStep | LinkStep):
        target = step.call if isinstance(step, CallStep) else step.link
        key = "call" if isinstance(step, CallStep) else "link"
        if target not in fs.flows:
            bad(f"unknown flow {target!r}", key)
        elif target == fid:
            bad("a flow cannot call or link to itself", key)
    if isinstance(step, SayStep):
        for j, button in enumerate(step.buttons):
            if button.flow is not None and button.flow not in fs.flows:
                bad(f"unknown flow {button.flow!r}", "buttons", j)
    nxt = step.next
    targets: list[tuple[str, Path_]] = []
    if isinstance(nxt, str):
        targets.append((nxt, ("next",)))
    elif isinstance(nxt, list):
        for j, branch in enumerate(nxt):
            if isinstance(branch, IfBranch):
                targets.append((branch.then, ("next", j, "then")))
                for name in _condition_slots(branch.if_):
                    slot_exists(name, "next", j, "if")
            elif isinstance(branch, ElseBranch):
                targets.append((branch.else_, ("next", j, "else")))
    for target, sub in targets:
        if target != END and target not in cf.index_by_id:
            bad(f"unknown step {target!r} (use a step id or END)", *sub)
        elif target.startswith("step_") and target[5:].isdigit():
            bad(
                f"{target!r} is a position, which moves when steps are added: give it an `id:`",
                *sub,
            )
    return problems


def _condition_slots(source: str) -> frozenset[str]:
    return compile_condition(source).slot_names()
