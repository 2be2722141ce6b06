"""Counts the SQL a bot process sends, by kind: SELECT, INSERT, UPDATE, DELETE, and the
transactions (BEGIN, COMMIT, ROLLBACK), plus executemany batches and pool checkouts.

Used by scripts/count_statements.py (statements per typed turn and per button turn). To count
inside another process (e.g. the bench child), hook it on the bot's engine:

    from scripts.sql_counter import StatementCounter
    counter = StatementCounter(engine)      # listens from now on
    ... counter.snapshot() -> {"SELECT": 3, "COMMIT": 1, ...}

The listeners cost a little CPU per statement: leave them out of timed runs.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from sqlalchemy import Engine, event

HEARTBEAT = "UPDATE workers SET heartbeat_at"


class StatementCounter:
    def __init__(self, engine: Engine, *, keep_text: bool = False) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.keep_text = keep_text
        self.texts: list[str] = []  # statement heads (SQL only, never parameters)
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "begin", lambda conn: self._bump("BEGIN"))
        event.listen(engine, "commit", lambda conn: self._bump("COMMIT"))
        event.listen(engine, "rollback", lambda conn: self._bump("ROLLBACK"))
        event.listen(engine.pool, "checkout", lambda *a: self._bump("pool checkouts"))

    def _bump(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.counts[key] += n

    def _statement(
        self, conn: Any, cursor: Any, sql: str, params: Any, context: Any, executemany: bool
    ) -> None:
        words = sql.lstrip().split(None, 1)
        kind = words[0].upper() if words else "?"
        if kind in ("SAVEPOINT", "RELEASE"):
            kind = "SAVEPOINT" if kind == "SAVEPOINT" else "RELEASE SAVEPOINT"
        if sql.lstrip().startswith(HEARTBEAT):
            # The heartbeat's own transaction, not the turn's (see `without_heartbeats`).
            kind = "(heartbeat)"
        with self._lock:
            self.counts[kind] += 1
            if executemany:
                self.counts["(executemany)"] += 1
            if self.keep_text:
                self.texts.append(" ".join(sql.split())[:110])

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)

    def take_texts(self) -> list[str]:
        with self._lock:
            texts, self.texts = self.texts, []
            return texts


def without_heartbeats(counts: dict[str, int]) -> dict[str, int]:
    """Counts with the heartbeats' transactions taken out (one BEGIN, COMMIT and checkout each)."""
    beats = counts.get("(heartbeat)", 0)
    out = dict(counts)
    for key in ("BEGIN", "COMMIT", "pool checkouts"):
        if key in out:
            out[key] -= beats
    out.pop("(heartbeat)", None)
    return {k: v for k, v in out.items() if v}


def delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}
