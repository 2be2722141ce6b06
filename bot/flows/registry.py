"""The flows a running bot uses, reloaded when the files change.

A new version goes live only when its judge says so: every check, and in a running bot every
conversation test in flows/tests/ too (with their annotated NLU readings). Otherwise the previous
flows stay live and the log says why: the file:line of each problem, or each failing test
(flow and test files hold no personal data). Every decision can be recorded (`record`), so
that `careerbot flows status` can say what is live and why.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from bot.flows.flowset import FlowSet
from bot.flows.loader import flow_files, load_flows

log = logging.getLogger(__name__)


class FlowSource(Protocol):
    """Where the current flows come from (a `FlowRegistry` that reloads on change)."""

    @property
    def current(self) -> FlowSet: ...


class FlowsInvalid(Exception):
    def __init__(self, problems: list[str], summary: str = "invalid flows") -> None:
        super().__init__(f"{summary}:\n" + "\n".join(problems))
        self.problems = problems
        self.summary = summary


TESTS_DIR = "tests"  # the conversation tests, next to the flows


@dataclass
class Verdict:
    """Whether one version of the files may go live (`flows` is None when not), and why."""

    digest: str
    flows: FlowSet | None
    summary: str
    problems: list[str] = field(default_factory=list)  # file:line: what is wrong

    @property
    def live(self) -> bool:
        return self.flows is not None


@dataclass(frozen=True)
class Decision:
    """What a registry did with one version of the files."""

    digest: str
    source: str  # start, reload, admin
    live: bool
    summary: str
    problems: tuple[str, ...] = ()


Judge = Callable[[Path, Path | None], Verdict]
Recorder = Callable[[Decision], None]


def watched_files(directory: Path) -> tuple[Path, ...]:
    """The flow files and the conversation test files: a change to either is a new version."""
    tests = directory / TESTS_DIR
    return flow_files(directory) + tuple(sorted(p for p in tests.glob("*.yml") if p.is_file()))


def digest(directory: Path) -> str:
    """A short fingerprint of the content: the same files give the same digest anywhere."""
    sha = hashlib.sha256()
    for path in watched_files(directory):
        try:
            content = path.read_bytes()
        except OSError:
            continue
        sha.update(str(path.relative_to(directory)).encode() + b"\0" + content + b"\0")
    return sha.hexdigest()[:12]


def check_only(directory: Path, nlu_dir: Path | None) -> Verdict:
    """Every rule of the validator, no conversation tests."""
    fingerprint = digest(directory)
    load = load_flows(directory, nlu_dir=nlu_dir)
    if load.flowset is None:
        errors = load.errors
        summary = f"flows check: {len(errors)} error{'s' if len(errors) != 1 else ''}"
        return Verdict(fingerprint, None, summary, [str(p) for p in errors])
    return Verdict(fingerprint, load.flowset, "check OK")


def _fingerprint(directory: Path) -> tuple[tuple[str, int, int], ...]:
    entries = []
    for path in watched_files(directory):
        try:
            stat = path.stat()
        except OSError:
            continue
        entries.append((str(path.relative_to(directory)), stat.st_mtime_ns, stat.st_size))
    return tuple(entries)


class FlowRegistry:
    """`judge` decides whether a version may go live: `check_only` by default; a running bot
    passes `bot.flowtests.gate.judge`, which also runs the conversation tests."""

    def __init__(
        self,
        directory: Path,
        *,
        nlu_dir: Path | None = None,
        judge: Judge = check_only,
        record: Recorder | None = None,
    ) -> None:
        self.directory = directory
        self.nlu_dir = nlu_dir
        self._judge = judge
        self._record = record
        self._lock = threading.Lock()
        self._fingerprint = _fingerprint(directory)
        verdict = judge(directory, nlu_dir)
        if verdict.flows is None:
            raise FlowsInvalid(verdict.problems, verdict.summary)
        self._current: FlowSet = verdict.flows
        self.live = self._decided(verdict, "start")
        log.info("flows live (%s): %s", self.live.digest, self.live.summary)
        self.rejected: Decision | None = None  # the newest version kept out, if newer than live

    @property
    def current(self) -> FlowSet:
        return self._current

    def reload_if_changed(self, *, source: str = "reload") -> bool:
        """True when new flows went live; False when unchanged or kept out (old ones stay)."""
        with self._lock:  # the watcher and an admin's /reload: one judges, the other waits
            return self._reload(source)

    def _reload(self, source: str) -> bool:
        fingerprint = _fingerprint(self.directory)
        if fingerprint == self._fingerprint:
            return False
        self._fingerprint = fingerprint
        verdict = self._judge(self.directory, self.nlu_dir)
        decision = self._decided(verdict, source)
        if verdict.flows is None:
            self.rejected = decision
            log.error(
                "flows changed (%s) but %s; keeping the previous flows (%s) live:\n%s",
                decision.digest,
                decision.summary,
                self.live.digest,
                "\n".join(decision.problems),
            )
            return False
        self._current = verdict.flows
        self.live, self.rejected = decision, None
        log.info("flows reloaded (%s): %s", decision.digest, decision.summary)
        return True

    def _decided(self, verdict: Verdict, source: str) -> Decision:
        decision = Decision(
            verdict.digest, source, verdict.live, verdict.summary, tuple(verdict.problems)
        )
        if self._record is not None:
            try:
                self._record(decision)
            except Exception as exc:  # the status is for admins; it never stops a reload
                log.warning("could not record the flow decision: %s", type(exc).__name__)
        return decision

    async def watch(self, interval: float = 2.0) -> None:
        """Poll for changes until cancelled (cheap: a stat per file)."""
        while True:
            await asyncio.sleep(interval)
            try:
                await asyncio.to_thread(self.reload_if_changed)
            except Exception as exc:  # a watcher must never die from a bad file
                log.error("flow reload failed: %s", type(exc).__name__)
