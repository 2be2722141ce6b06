"""`careerbot flows check`: everything the loader checks, plus what an admin would miss.

- intents in triggers that the NLU data (nlu/data/*.yml) does not define;
- steps no path can reach;
- texts without an English translation, and unknown {placeholders};
- questions about special-category data or the BSN, which the bot must never ask.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import yaml

from bot.engine.options import phrases
from bot.flows.catalogue import (
    PLACEHOLDER,
    RUNTIME_PLACEHOLDERS,
    SLOT_DOUBT_PLACEHOLDERS,
)
from bot.flows.flowset import CompiledFlow, FlowSet
from bot.flows.loader import LoadResult, Problem, SourceFile, display_name, load_flows
from bot.flows.models import (
    END,
    CollectStep,
    ElseBranch,
    FlowFile,
    IfBranch,
    LinkStep,
    SayStep,
    Text,
)

# Intents the engine handles itself, so no flow needs to trigger on them.
ENGINE_INTENTS = frozenset({"nlu_fallback", "affirm", "deny", "cancel"})
_FORBIDDEN = re.compile(
    r"\b(bsn|burgerservicenummer|sofinummer|vakbondslid\w*|lid van (de |een )?(vak)?bond|"
    r"union member\w*|gezondheid|ziekte|ziek|health|illness|religie|geloof|religion|"
    r"seksuele|sexual|etniciteit|ethnic)\b",
    re.IGNORECASE,
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


def check_flows(directory: Path, *, nlu_dir: Path | None = None) -> LoadResult:
    result = load_flows(directory)
    if result.flowset is None:
        return result
    fs = result.flowset
    sources = result.sources
    origin = {fid: src for src in sources for fid in src.content.flows}
    problems = list(result.problems)
    if nlu_dir is not None:
        known = nlu_intents(nlu_dir)
        problems += _check_intents(fs, origin, known, nlu_dir)
        problems += _check_slot_intents(sources, known)
    for fid, cf in fs.flows.items():
        problems += _check_reachable(cf, origin[fid])
    for src in sources:
        problems += _check_texts(fs, src)
        problems += _check_synonyms(src)
    problems.sort(key=lambda p: (p.file, p.line or 0))
    errors = [p for p in problems if p.severity == "error"]
    return LoadResult(None if errors else fs, problems, result.files, sources)


def _check_intents(
    fs: FlowSet, origin: dict[str, SourceFile], known: frozenset[str], nlu_dir: Path
) -> list[Problem]:
    if not known:
        return [
            Problem(display_name(nlu_dir), None, "no intents found in nlu/data/*.yml", "warning")
        ]
    problems = []
    for fid, cf in fs.flows.items():
        if cf.flow.trigger is None:
            continue
        src = origin[fid]
        for i, intent in enumerate(cf.flow.trigger.intents):
            if intent not in known:
                problems.append(
                    Problem(
                        src.name,
                        src.line("flows", fid, "trigger", "intents", i),
                        f"flow {fid!r}: intent {intent!r} is not in the NLU data",
                    )
                )
    triggered = set(fs.by_intent) | ENGINE_INTENTS
    first = next(iter(origin.values()))
    for intent in sorted(known - triggered):
        problems.append(
            Problem(first.name, None, f"NLU intent {intent!r} triggers no flow", "warning")
        )
    return problems


def _check_slot_intents(sources: list[SourceFile], known: frozenset[str]) -> list[Problem]:
    if not known:
        return []
    return [
        Problem(
            src.name,
            src.line("slots", name, "intents", i),
            f"slot {name!r}: intent {intent!r} is not in the NLU data",
        )
        for src in sources
        for name, slot in src.content.slots.items()
        for i, intent in enumerate(slot.intents)
        if intent not in known
    ]


def _targets(cf: CompiledFlow, index: int) -> Iterator[str]:
    step = cf.flow.steps[index]
    nxt = step.next
    if nxt is None:
        if not isinstance(step, LinkStep):
            yield cf.following(cf.step_ids[index])
        return
    if isinstance(nxt, str):
        yield nxt
        return
    for branch in nxt:
        yield branch.then if isinstance(branch, IfBranch) else branch.else_
    if not isinstance(nxt[-1], ElseBranch):
        yield cf.following(cf.step_ids[index])


def _check_reachable(cf: CompiledFlow, src: SourceFile) -> list[Problem]:
    seen: set[str] = set()
    todo = [cf.step_ids[0]]
    while todo:
        sid = todo.pop()
        if sid == END or sid in seen or sid not in cf.index_by_id:
            continue
        seen.add(sid)
        todo.extend(_targets(cf, cf.index_by_id[sid]))
    return [
        Problem(
            src.name,
            src.line("flows", cf.id, "steps", i),
            f"flow {cf.id!r}: step {sid!r} can never be reached",
        )
        for i, sid in enumerate(cf.step_ids)
        if sid not in seen
    ]


def _check_synonyms(src: SourceFile) -> list[Problem]:
    """A word that names two options of one question cannot tell them apart."""
    problems = []
    for name, slot in src.content.slots.items():
        owner: dict[str, str] = {}
        for j, option in enumerate(slot.options):
            for phrase in phrases(option):
                other = owner.setdefault(phrase, option.value)
                if other != option.value:
                    problems.append(
                        Problem(
                            src.name,
                            src.line("slots", name, "options", j, "synonyms")
                            or src.line("slots", name, "options", j),
                            f"slots.{name}: {phrase!r} names both option {other!r} and "
                            f"option {option.value!r}; keep it at one of them",
                        )
                    )
    return problems


def _texts_of(content: FlowFile) -> Iterator[tuple[tuple[str | int, ...], Text]]:
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
            at = ("flows", fid, "steps", i)
            if isinstance(step, SayStep):
                if isinstance(step.say, Text):
                    yield (*at, "say"), step.say
                for j, button in enumerate(step.buttons):
                    yield (*at, "buttons", j), button.label
            if isinstance(step, CollectStep):
                for field in ("ask", "invalid"):
                    value = getattr(step, field)
                    if isinstance(value, Text):
                        yield (*at, field), value
                for j, rejection in enumerate(step.rejections):
                    if isinstance(rejection.text, Text):
                        yield (*at, "rejections", j), rejection.text


def _check_texts(fs: FlowSet, src: SourceFile) -> list[Problem]:
    known = set(fs.slots) | set(fs.values)
    problems = []
    for path, text in _texts_of(src.content):
        runtime: frozenset[str] = frozenset()
        if path[0] == "texts":
            runtime = RUNTIME_PLACEHOLDERS.get(str(path[1]), frozenset())
        elif path[0] == "slots" and path[-1] == "doubt":
            runtime = SLOT_DOUBT_PLACEHOLDERS
        line = src.line(*path)
        where = ".".join(str(p) for p in path)
        if not text.en:
            problems.append(Problem(src.name, line, f"{where}: English translation (en) missing"))
        for language, body in (("nl", text.nl), ("en", text.en or "")):
            for name in PLACEHOLDER.findall(body):
                if name not in known and name not in runtime:
                    problems.append(
                        Problem(
                            src.name, line, f"{where}.{language}: unknown placeholder {{{name}}}"
                        )
                    )
        if path[-1] == "ask":  # a question, of a slot or of a collect step
            for body in (text.nl, text.en or ""):
                if _FORBIDDEN.search(body):
                    problems.append(
                        Problem(
                            src.name,
                            line,
                            f"{where}: never ask about health, religion, union membership or the BSN",
                        )
                    )
                    break
    return problems
