"""Crash points for the crash tests: CAREERBOT_CRASH_AT=<point>@<n> makes the process kill
itself (SIGKILL, as a power cut or the OOM killer would) the n-th time it passes <point>.

Unset in production, where `crash_point` is one dictionary look-up. Points: inbox.stored,
update.before_commit, update.after_commit, outbox.before_send, outbox.after_send.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

_SPEC = os.environ.get("CAREERBOT_CRASH_AT", "")
_POINT, _, _NTH = _SPEC.partition("@")
_WHEN = int(_NTH) if _NTH.isdigit() else 1
_seen: Counter[str] = Counter()


def crash_point(name: str) -> None:
    if name != _POINT:
        return
    _seen[name] += 1
    if _seen[name] == _WHEN:
        os.kill(os.getpid(), signal.SIGKILL)
