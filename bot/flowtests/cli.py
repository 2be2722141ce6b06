"""The command-line side of the conversation tests: test, publish, status."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from sqlalchemy import Engine

from bot.config import get_settings
from bot.flows.loader import load_flows
from bot.flows.registry import Decision
from bot.flowtests.gate import judge, spec_folder
from bot.flowtests.releases import recorder, status_text
from bot.flowtests.report import coverage_text, failure_text, summary
from bot.flowtests.runner import CaseResult, RasaReader, RasaUnavailable, run_cases
from bot.flowtests.spec import read_cases, spec_files
from storage.database import create_db_engine, upgrade


def run_tests_command(args: argparse.Namespace) -> int:
    settings = get_settings()
    directory: Path = args.dir or settings.flows_dir
    load = load_flows(directory, nlu_dir=settings.nlu_dir)
    if load.flowset is None:
        for problem in load.errors:
            print(problem, file=sys.stderr)
        print("The flows have errors (careerbot flows check); no test was run.", file=sys.stderr)
        return 1
    paths = tuple(args.files) or spec_files(spec_folder(directory))
    missing = [p for p in paths if not p.is_file()]
    if missing or not paths:
        where = ", ".join(map(str, missing)) or str(spec_folder(directory))
        print(f"no test files: {where}", file=sys.stderr)
        return 2
    cases, problems = read_cases(paths, load.flowset)
    for problem in problems:
        print(problem, file=sys.stderr if problem.severity == "error" else sys.stdout)
    if any(p.severity == "error" for p in problems):
        print("The test files have errors; no test was run.", file=sys.stderr)
        return 1
    rasa = RasaReader(args.rasa_url or settings.rasa_url) if args.nlu == "rasa" else None
    progress = _Progress()
    try:
        run = run_cases(load.flowset, cases, nlu=args.nlu, rasa=rasa, on_result=progress)
    except RasaUnavailable as exc:
        print(f"\ncareerbot: {exc}", file=sys.stderr)
        return 2
    finally:
        if rasa is not None:
            rasa.close()
    progress.done()
    for result in run.failed:
        print(failure_text(result, transcript=args.transcript) + "\n")
    for result in run.skipped:
        print(f"{result.case.where}: skipped {result.case.spec.test!r}: {result.skipped}")
    if args.coverage:
        print(coverage_text(load.flowset, load.sources, run.coverage) + "\n")
    print(summary(run) + f" (nlu: {args.nlu})")
    return 1 if run.failed else 0


class _Progress:
    """pytest-style: a line per file, a dot per passed test, F for a failure."""

    def __init__(self) -> None:
        self.file: str | None = None

    def __call__(self, result: CaseResult) -> None:
        if result.case.file != self.file:
            if self.file is not None:
                print()
            self.file = result.case.file
            print(f"{self.file} ", end="")
        print("s" if result.skipped else "." if result.passed else "F", end="", flush=True)

    def done(self) -> None:
        if self.file is not None:
            print("\n")


def publish_command(args: argparse.Namespace) -> int:
    """The running bot's judgement, now: every check and every annotated conversation test.
    The verdict is recorded, so `careerbot flows status` shows it too."""
    settings = get_settings()
    directory: Path = args.dir or settings.flows_dir
    print(f"Checking and testing {directory} as a running bot would…", flush=True)
    verdict = judge(directory, settings.nlu_dir)
    engine = _database(settings.database_url)
    try:
        recorder(engine, process="publish")(
            Decision(
                verdict.digest, "publish", verdict.live, verdict.summary, tuple(verdict.problems)
            )
        )
    finally:
        engine.dispose()
    if verdict.flows is None:
        for problem in verdict.problems:
            print(problem, file=sys.stderr)
        print(
            f"Not published: {verdict.summary}. A running bot keeps its current flows; "
            "`careerbot flows test` shows each failure side by side.",
            file=sys.stderr,
        )
        return 1
    print(
        f"Published {verdict.digest}: {verdict.summary}. A running bot takes these flows live "
        "within seconds (`careerbot flows status` shows when)."
    )
    return 0


def status_command(args: argparse.Namespace) -> int:
    settings = get_settings()
    directory: Path = args.dir or settings.flows_dir
    engine = _database(settings.database_url)
    try:
        text, _ = status_text(engine, directory)
    finally:
        engine.dispose()
    print(text)
    return 0


def _database(url: str) -> Engine:
    migrations = logging.getLogger("alembic")
    level = migrations.level
    migrations.setLevel(logging.WARNING)
    try:
        upgrade(url)  # the status table may be newer than the database
    finally:
        migrations.setLevel(level)
    return create_db_engine(url)
