"""Whether a version of the flow files may go live: every check, then every conversation test.

The judge of a running bot (`FlowRegistry(judge=judge)`), also at start-up, of
`careerbot flows publish` and of the admin's /reload. The tests run with their annotated NLU
readings, so the verdict depends on the files only, never on the model's mood.
"""

from __future__ import annotations

from pathlib import Path

from bot.flows.registry import TESTS_DIR, Verdict, check_only
from bot.flowtests.report import one_line
from bot.flowtests.runner import run_cases
from bot.flowtests.spec import read_cases, spec_files


def spec_folder(directory: Path) -> Path:
    return directory / TESTS_DIR


def judge(directory: Path, nlu_dir: Path | None = None) -> Verdict:
    checked = check_only(directory, nlu_dir)
    if checked.flows is None:
        return checked
    flows = checked.flows
    cases, problems = read_cases(spec_files(spec_folder(directory)), flows)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        summary = f"conversation test files: {len(errors)} error{'s' if len(errors) != 1 else ''}"
        return Verdict(checked.digest, None, summary, [str(p) for p in errors])
    if not cases:
        return Verdict(checked.digest, flows, "check OK, no conversation tests")
    run = run_cases(flows, cases, nlu="annotated")
    failed = run.failed
    if failed:
        summary = f"{len(failed)} of {len(cases)} conversation tests failed"
        return Verdict(checked.digest, None, summary, [one_line(r) for r in failed])
    return Verdict(checked.digest, flows, f"check OK, {len(cases)} conversation tests passed")
