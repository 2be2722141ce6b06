"""Load flows/*.yml: read every file (reader.py), merge, run every rule (validate.py).

    files ──reader──► SourceFile (typed, with lines) ──merge──► FlowSet ──validate──► problems

`load_flows` hands out the flows only when no rule found an error; `findings` is the same
check as data (file, line, message, severity, rule), for any screen that shows it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.flows.flowset import FlowSet
from bot.flows.models import EngineSettings, Flow, MenuItem, SlotDef, Text
from bot.flows.problems import Problem
from bot.flows.reader import SourceFile, display_name, read_flow_file
from bot.flows.validate import Context, validate


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


def flow_files(directory: Path) -> tuple[Path, ...]:
    """The flow files of a directory (not its tests/ folder)."""
    return tuple(sorted(p for p in directory.glob("*.yml") if p.is_file()))


def load_flows(directory: Path, *, nlu_dir: Path | None = None) -> LoadResult:
    """Read, merge and validate every flows/*.yml file. `flowset` is None on any error.

    With `nlu_dir`, trigger intents are also checked against the NLU training data.
    """
    files = flow_files(directory)
    if not files:
        return LoadResult(None, [Problem(str(directory), None, "no *.yml flow files found")])
    problems: list[Problem] = []
    sources: list[SourceFile] = []
    for path in files:
        source, found = read_flow_file(path)
        problems.extend(found)
        if source is not None:
            sources.append(source)
    if problems:  # a file that cannot be read: its references would all look wrong
        return LoadResult(None, problems, files, sources)
    flowset = merge(sources)
    intents = nlu_intents(nlu_dir) if nlu_dir is not None else None
    problems = validate(Context(flowset, sources, intents))
    has_errors = any(p.severity == "error" for p in problems)
    return LoadResult(None if has_errors else flowset, problems, files, sources)


def findings(directory: Path, *, nlu_dir: Path | None = None) -> list[Problem]:
    """Everything `careerbot flows check` reports, as data."""
    return load_flows(directory, nlu_dir=nlu_dir).problems


def merge(sources: list[SourceFile]) -> FlowSet:
    """All files as one set. A name defined twice keeps its first definition (a rule reports
    the second), so that the rules can run on everything else."""
    flows: dict[str, Flow] = {}
    slots: dict[str, SlotDef] = {}
    texts: dict[str, Text] = {}
    values: dict[str, str | Text] = {}
    menu: list[MenuItem] = []
    settings: EngineSettings | None = None
    for src in sources:
        for name, flow in src.content.flows.items():
            flows.setdefault(name, flow)
        for name, slot in src.content.slots.items():
            slots.setdefault(name, slot)
        for name, text in src.content.texts.items():
            texts.setdefault(name, text)
        for name, value in src.content.values.items():
            values.setdefault(name, value)
        menu.extend(src.content.menu)
        settings = settings or src.content.settings
    return FlowSet.build(
        flows=flows,
        slots=slots,
        texts=texts,
        values=values,
        menu=menu,
        settings=settings or EngineSettings(),
    )


def nlu_intents(nlu_dir: Path) -> frozenset[str]:
    """Intent names in the Rasa training data (`nlu: - intent: name`)."""
    intents: set[str] = set()
    for path in sorted((nlu_dir / "data").glob("*.yml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            continue
        for item in data.get("nlu") or []:
            if isinstance(item, dict) and isinstance(item.get("intent"), str):
                intents.add(item["intent"])
    return frozenset(intents)


__all__ = ["LoadResult", "Problem", "SourceFile", "display_name", "findings", "load_flows"]
