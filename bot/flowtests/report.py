"""What `careerbot flows test` prints: failures side by side, a summary, the coverage report."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass

from bot.flows.flowset import FlowSet
from bot.flows.graph import step_label
from bot.flows.links import IfLink
from bot.flows.reader import SourceFile
from bot.flowtests.expect import Mismatch
from bot.flowtests.runner import PATTERNS, CaseResult, Coverage, RunResult

_GUTTER = 12  # the "what" column


def width() -> int:
    return max(80, min(160, shutil.get_terminal_size((120, 24)).columns))


def _cell(text: str, size: int) -> list[str]:
    lines = textwrap.wrap(" ".join(text.split()), size) or [""]
    if len(lines) > 3:
        lines = [*lines[:2], textwrap.shorten(" ".join(lines[2:]), size, placeholder=" …")]
    return lines


def side_by_side(mismatch: Mismatch, total: int) -> Iterator[str]:
    column = (total - _GUTTER - 7) // 2
    left = [line for item in mismatch.expected for line in _cell(item, column)]
    right = [line for item in mismatch.actual for line in _cell(item, column)]
    for i in range(max(len(left), len(right))):
        what = mismatch.what if i == 0 else ""
        a = left[i] if i < len(left) else ""
        b = right[i] if i < len(right) else ""
        yield f"  {what:<{_GUTTER}}│ {a:<{column}} │ {b}".rstrip()


def failure_text(result: CaseResult, *, transcript: bool = False) -> str:
    """One failing test: where (file:line of the step), the turn, expected │ actual."""
    failure = result.failure
    assert failure is not None
    case = result.case
    total = width()
    turn = next((t for t in result.turns if t.line == failure.line), None)
    said = case.spec.steps[failure.step]
    what = (
        turn.said
        if turn
        else (f'user: "{said.user}"' if said.user is not None else f"button: {said.button}")
    )
    read = f"  [read as {turn.read_as}]" if turn and turn.read_as else ""
    column = (total - _GUTTER - 7) // 2
    lines = [
        f"{case.file}:{failure.line}: FAIL {case.spec.test!r} ({case.spec.language}), "
        f"turn {failure.step + 1} of {len(case.spec.steps)}: {what}{read}",
        f"  {'':<{_GUTTER}}│ {'expected':<{column}} │ actual",
    ]
    for mismatch in failure.mismatches:
        lines += side_by_side(mismatch, total)
    if transcript:
        lines.append(f"  conversation up to here ({case.where}):")
        for t in result.turns:
            lines.append(f"    {t.line:>4}  > {t.said}")
            for reply in t.replies:
                shown = " ".join(reply.text.split())
                buttons = (
                    f"  [{' | '.join(b.label for b in reply.buttons)}]" if reply.buttons else ""
                )
                lines.append(f"          < {textwrap.shorten(shown, total - 12)}{buttons}")
    return "\n".join(lines)


def one_line(result: CaseResult) -> str:
    """A failure in one line, for logs: file:line, test, what was expected and what happened."""
    failure = result.failure
    assert failure is not None
    first = failure.mismatches[0]
    expected = "; ".join(first.expected)
    actual = "; ".join(first.actual)
    if first.what == "bot" and len(first.actual) > 1:  # where the turn ended says the most
        actual = f"{len(first.actual)} replies, ending with {first.actual[-1]}"
    return textwrap.shorten(
        f"{result.case.file}:{failure.line}: test {result.case.spec.test!r} "
        f"({result.case.spec.language}), turn {failure.step + 1}: {first.what}: "
        f"expected {expected} — got {actual}",
        400,
        placeholder=" …",
    )


def summary(run: RunResult) -> str:
    failed, skipped = len(run.failed), len(run.skipped)
    total = len(run.results)
    passed = total - failed - skipped
    head = f"{total} conversation test{'s' if total != 1 else ''}"
    parts = [f"{failed} failed"] if failed else []
    parts.append(f"{passed} passed")
    if skipped:
        parts.append(f"{skipped} skipped")
    if not failed and not skipped:
        return f"{head} passed in {run.seconds:.1f} s"
    return f"{head}: {', '.join(parts)} in {run.seconds:.1f} s"


# -- coverage ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gap:
    file: str
    line: int | None
    text: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.text}" if self.line else f"{self.file}: {self.text}"


def gaps(flows: FlowSet, sources: list[SourceFile], coverage: Coverage) -> list[Gap]:
    """Steps no test reaches and branches of an `if:` no test takes, with their file:line."""
    origin = {fid: src for src in sources for fid in src.content.flows}
    found = []
    for fid, cf in flows.flows.items():
        src = origin.get(fid)
        name = src.name if src else fid
        for i, (sid, step) in enumerate(zip(cf.step_ids, cf.flow.steps, strict=True)):
            path = ("flows", fid, "steps", i)
            line = src.line(*path) if src else None
            if (fid, sid) not in coverage.steps:
                found.append(
                    Gap(name, line, f"{fid}: step {sid} ({step_label(step)}) never reached")
                )
                continue
            links = cf.step_links[i]
            if not any(isinstance(link, IfLink) for link in links):
                continue
            for j, link in enumerate(links):
                if (fid, sid, j) not in coverage.links:
                    where = (
                        src.line(*path, "next", j)
                        if src and not getattr(link, "implicit", False)
                        else line
                    )
                    found.append(
                        Gap(name, where, f"{fid}: step {sid}: branch `{link.label}` never taken")
                    )
    return found


def coverage_text(flows: FlowSet, sources: list[SourceFile], coverage: Coverage) -> str:
    lines = ["Coverage", f"  {'flow':<22} nl  en  steps   branches"]
    for fid, cf in sorted(flows.flows.items()):
        steps = sum((fid, sid) in coverage.steps for sid in cf.step_ids)
        branches = [
            (sid, j)
            for sid, links in zip(cf.step_ids, cf.step_links, strict=True)
            if any(isinstance(link, IfLink) for link in links)
            for j in range(len(links))
        ]
        taken = sum((fid, sid, j) in coverage.links for sid, j in branches)
        marks = "  ".join("✓" if fid in coverage.flows[lang] else "✗" for lang in ("nl", "en"))
        shown = f"{taken}/{len(branches)}" if branches else "-"
        lines.append(f"  {fid:<22} {marks}   {steps:>2}/{len(cf.step_ids):<2}   {shown}")
    lines.append(f"  {'repair pattern':<45} nl  en")
    for key, label in PATTERNS.items():
        marks = "  ".join("✓" if key in coverage.patterns[lang] else "✗" for lang in ("nl", "en"))
        lines.append(f"  {label:<45} {marks}")
    missing = gaps(flows, sources, coverage)
    if missing:
        lines.append("Not covered:")
        lines += [f"  {gap}" for gap in missing]
    else:
        lines.append("Every step and every branch is reached by a test.")
    return "\n".join(lines)
