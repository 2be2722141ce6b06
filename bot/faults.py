"""Fault points for the crash and chaos tests.

CAREERBOT_CRASH_AT=<point>@<n> makes the process kill itself (SIGKILL, as a power cut or the OOM
killer would) the n-th time it passes <point>. In-process tests may also hook a point (`on`):
raise there, or hold a lock. Unset in production, where `crash_point` costs two look-ups.
Points: inbox.stored, update.before_commit, update.after_commit, outbox.before_send,
outbox.after_send.
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Callable

_SPEC = os.environ.get("CAREERBOT_CRASH_AT", "")
_POINT, _, _NTH = _SPEC.partition("@")
_WHEN = int(_NTH) if _NTH.isdigit() else 1
_seen: Counter[str] = Counter()
_hooks: dict[str, Callable[[], None]] = {}


def crash_point(name: str) -> None:
    if _hooks and (hook := _hooks.get(name)) is not None:
        hook()
    if name != _POINT:
        return
    _seen[name] += 1
    if _seen[name] == _WHEN:
        os.kill(os.getpid(), signal.SIGKILL)


def on(name: str, hook: Callable[[], None]) -> Callable[[], None]:
    """Call `hook` whenever `name` is passed (tests); returns what removes it again."""
    _hooks[name] = hook
    return lambda: _hooks.pop(name, None) and None
