"""Running bot processes and their heartbeats.

Inbox updates and outbox messages are claimed by a worker id; a claim of a worker whose
heartbeat stopped (killed, crashed, machine gone) is void, so another process (or the same one
after a restart) takes the work over within seconds, without waiting for a long lease.

Heartbeats are written and judged by the database's clock (storage/claims.py `clock`): with
each host's own clock, a host a few seconds behind would look dead to the others.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta

from sqlalchemy import delete, insert, update
from sqlmodel import Session, col, select

from storage.claims import clock, dialect_of
from storage.models import Worker

HEARTBEAT_EVERY = timedelta(seconds=2)
DEAD_AFTER = timedelta(seconds=8)


def new_worker_id() -> str:
    return f"{socket.gethostname()[:16]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def register(session: Session, *, worker_id: str) -> None:
    now = clock(dialect_of(session))
    session.connection().execute(
        insert(Worker).values(id=worker_id, started_at=now, heartbeat_at=now)
    )


def heartbeat(session: Session, *, worker_id: str) -> None:
    result = session.connection().execute(
        update(Worker)
        .where(col(Worker.id) == worker_id)
        .values(heartbeat_at=clock(dialect_of(session)))
    )
    if result.rowcount == 0:  # removed as dead after a long pause: come back
        register(session, worker_id=worker_id)


def unregister(session: Session, *, worker_id: str) -> None:
    session.connection().execute(delete(Worker).where(col(Worker.id) == worker_id))


def alive(session: Session, *, later: timedelta = timedelta(0)) -> set[str]:
    """Ids of workers whose heartbeat is recent enough (`later`: as it will be then). A worker
    of this machine whose process is gone counts as dead at once: a bot restarted after a
    crash takes its work over without waiting for the heartbeat to time out."""
    cutoff = clock(dialect_of(session), minus=DEAD_AFTER - later)
    recent = session.exec(select(Worker.id).where(col(Worker.heartbeat_at) >= cutoff)).all()
    return {worker for worker in recent if _process_may_live(worker)}


def _process_may_live(worker_id: str) -> bool:
    host, _, rest = worker_id.rpartition("-")[0].rpartition("-")
    pid = rest
    if host != socket.gethostname()[:16] or not pid.isdigit():
        return True  # another machine: only the heartbeat tells
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def forget_dead(session: Session, *, older_than: timedelta = timedelta(hours=1)) -> None:
    cutoff = clock(dialect_of(session), minus=older_than)
    session.connection().execute(delete(Worker).where(col(Worker.heartbeat_at) < cutoff))
