"""`careerbot flows check|graph FLOW`: admin tooling for flows/*.yml."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.config import get_settings
from bot.flows.graph import mermaid
from bot.flows.loader import load_flows


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    flows = subparsers.add_parser("flows", help="check and draw the conversation flows")
    sub = flows.add_subparsers(dest="flows_command", metavar="ACTION", required=True)
    check = sub.add_parser("check", help="validate flows/*.yml; exit 1 on errors")
    check.add_argument("--dir", type=Path, default=None, help="flows directory")
    check.add_argument("--nlu", type=Path, default=None, help="NLU directory (for intents)")
    check.set_defaults(func=_check)
    graph = sub.add_parser("graph", help="print a Mermaid diagram of one flow")
    graph.add_argument("flow")
    graph.add_argument("--dir", type=Path, default=None)
    graph.set_defaults(func=_graph)


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
