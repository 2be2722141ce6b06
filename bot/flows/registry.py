"""The flows a running bot uses, reloaded when the files change.

A reload that fails any check keeps the previous flows live and logs why (file:line and the
problem; flow files hold no personal data).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Protocol

from bot.flows.flowset import FlowSet
from bot.flows.loader import load_flows

log = logging.getLogger(__name__)


class FlowSource(Protocol):
    """Where the current flows come from (a `FlowRegistry` that reloads on change)."""

    @property
    def current(self) -> FlowSet: ...


class FlowsInvalid(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid flows:\n" + "\n".join(problems))
        self.problems = problems


def _fingerprint(directory: Path) -> tuple[tuple[str, int, int], ...]:
    entries = []
    for path in sorted(directory.glob("*.yml")):
        try:
            stat = path.stat()
        except OSError:
            continue
        entries.append((path.name, stat.st_mtime_ns, stat.st_size))
    return tuple(entries)


class FlowRegistry:
    def __init__(self, directory: Path, *, nlu_dir: Path | None = None) -> None:
        self.directory = directory
        self.nlu_dir = nlu_dir
        self._fingerprint = _fingerprint(directory)
        result = load_flows(directory, nlu_dir=nlu_dir)
        if result.flowset is None:
            raise FlowsInvalid([str(p) for p in result.errors])
        self._current: FlowSet = result.flowset

    @property
    def current(self) -> FlowSet:
        return self._current

    def reload_if_changed(self) -> bool:
        """True when new flows were loaded; False when unchanged or invalid (old ones stay)."""
        fingerprint = _fingerprint(self.directory)
        if fingerprint == self._fingerprint:
            return False
        self._fingerprint = fingerprint
        result = load_flows(self.directory, nlu_dir=self.nlu_dir)
        if result.flowset is None:
            log.error(
                "flows changed but are invalid; keeping the previous flows:\n%s",
                "\n".join(str(p) for p in result.errors),
            )
            return False
        self._current = result.flowset
        log.info("flows reloaded: %d flows", len(result.flowset.flows))
        return True

    async def watch(self, interval: float = 2.0) -> None:
        """Poll for changes until cancelled (cheap: a stat per file)."""
        while True:
            await asyncio.sleep(interval)
            try:
                await asyncio.to_thread(self.reload_if_changed)
            except Exception as exc:  # a watcher must never die from a bad file
                log.error("flow reload failed: %s", type(exc).__name__)
