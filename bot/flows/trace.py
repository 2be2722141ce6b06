"""What a conversation went through, for the coverage report of `careerbot flows test`.

The executor reports each step it runs and each link it takes; the engine reports what a
message was understood as and the texts the bot said. Nothing is recorded unless a recorder is
installed for the current context (`recording()`), so a running bot pays one context-variable
read per step.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass
class Recorder:
    steps: set[tuple[str, str]] = field(default_factory=set)  # (flow, step id)
    links: set[tuple[str, str, int]] = field(default_factory=set)  # (flow, step id, link index)
    # Of the turn being recorded (the test runner clears them before each turn):
    commands: list[str] = field(default_factory=list)  # command class names, in order
    texts: list[str] = field(default_factory=list)  # catalogue keys said, in order
    pending_before: str | None = None  # "flow.step" of the question pending when it started

    def new_turn(self) -> None:
        self.commands.clear()
        self.texts.clear()
        self.pending_before = None


_current: ContextVar[Recorder | None] = ContextVar("flows_trace", default=None)


@contextmanager
def recording(recorder: Recorder) -> Iterator[Recorder]:
    token = _current.set(recorder)
    try:
        yield recorder
    finally:
        _current.reset(token)


def active() -> bool:
    return _current.get() is not None


def reached(flow: str, step: str) -> None:
    if (recorder := _current.get()) is not None:
        recorder.steps.add((flow, step))


def took(flow: str, step: str, index: int) -> None:
    if (recorder := _current.get()) is not None:
        recorder.links.add((flow, step, index))


def understood(commands: list[str], pending: str | None) -> None:
    if (recorder := _current.get()) is not None:
        recorder.commands.extend(commands)
        recorder.pending_before = pending


def said(key: str) -> None:
    if (recorder := _current.get()) is not None:
        recorder.texts.append(key)
