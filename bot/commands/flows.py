"""`careerbot flows check|graph|test|publish|status`: admin tooling for flows/*.yml."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.config import get_settings
from bot.flows.graph import mermaid
from bot.flows.loader import load_flows


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    flows = subparsers.add_parser("flows", help="check, test, publish and draw the flows")
    sub = flows.add_subparsers(dest="flows_command", metavar="ACTION", required=True)
    check = sub.add_parser("check", help="validate flows/*.yml; exit 1 on errors")
    check.add_argument("--dir", type=Path, default=None, help="flows directory")
    check.add_argument("--nlu", type=Path, default=None, help="NLU directory (for intents)")
    check.set_defaults(func=_check)
    graph = sub.add_parser("graph", help="print a Mermaid diagram of one flow")
    graph.add_argument("flow")
    graph.add_argument("--dir", type=Path, default=None)
    graph.set_defaults(func=_graph)
    test = sub.add_parser(
        "test",
        help="run the conversation tests (flows/tests/*.yml); exit 1 on a failure",
        description="Run conversation tests through the real engine and a temporary database.",
    )
    test.add_argument("files", nargs="*", type=Path, help="test files (default: flows/tests/*.yml)")
    test.add_argument("--dir", type=Path, default=None, help="flows directory")
    test.add_argument(
        "--nlu",
        choices=("annotated", "rasa"),
        default="annotated",
        help="annotated: each line's `intent:` (default, fast); rasa: the real model (RASA_URL)",
    )
    test.add_argument("--rasa-url", default=None, help="Rasa server for --nlu rasa")
    test.add_argument(
        "--coverage", action="store_true", help="list the steps and branches no test reaches"
    )
    test.add_argument(
        "--transcript", action="store_true", help="show the conversation up to each failure"
    )
    test.set_defaults(func=_test)
    publish = sub.add_parser(
        "publish",
        help="check and test the flow files as a running bot would, and record the verdict",
    )
    publish.add_argument("--dir", type=Path, default=None)
    publish.set_defaults(func=_publish)
    status = sub.add_parser("status", help="which flows are live in the running bot, and why")
    status.add_argument("--dir", type=Path, default=None)
    status.set_defaults(func=_status)


def _check(args: argparse.Namespace) -> int:
    settings = get_settings()
    result = load_flows(args.dir or settings.flows_dir, nlu_dir=args.nlu or settings.nlu_dir)
    for problem in result.problems:
        print(problem, file=sys.stderr if problem.severity == "error" else sys.stdout)
    if result.flowset is None:
        print(f"flows check: {len(result.errors)} error(s)", file=sys.stderr)
        return 1
    fs = result.flowset
    print(
        f"flows OK: {len(fs.flows)} flows, {len(fs.slots)} slots, {len(fs.texts)} texts "
        f"in {len(result.files)} files ({len(result.warnings)} warning(s))"
    )
    return 0


def _graph(args: argparse.Namespace) -> int:
    result = load_flows(args.dir or get_settings().flows_dir)
    if result.flowset is None:
        for problem in result.errors:
            print(problem, file=sys.stderr)
        return 1
    cf = result.flowset.flows.get(args.flow)
    if cf is None:
        known = ", ".join(sorted(result.flowset.flows))
        print(f"unknown flow {args.flow!r}; known: {known}", file=sys.stderr)
        return 1
    print(mermaid(cf), end="")
    return 0


def _test(args: argparse.Namespace) -> int:
    from bot.flowtests.cli import run_tests_command

    return run_tests_command(args)


def _publish(args: argparse.Namespace) -> int:
    from bot.flowtests.cli import publish_command

    return publish_command(args)


def _status(args: argparse.Namespace) -> int:
    from bot.flowtests.cli import status_command

    return status_command(args)
