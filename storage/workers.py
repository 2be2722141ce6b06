"""Running bot processes and their heartbeats.

Inbox updates and outbox messages are claimed by a worker id; a claim of a worker whose
heartbeat stopped (killed, crashed, machine gone) is void, so another process (or the same one
after a restart) takes the work over within seconds, without waiting for a long lease.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from storage.models import Worker, utcnow

HEARTBEAT_EVERY = timedelta(seconds=2)
DEAD_AFTER = timedelta(seconds=8)


def new_worker_id() -> str:
    return f"{socket.gethostname()[:16]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def register(session: Session, *, worker_id: str) -> None:
    session.add(Worker(id=worker_id))


def heartbeat(session: Session, *, worker_id: str) -> None:
    result = session.connection().execute(
        update(Worker).where(col(Worker.id) == worker_id).values(heartbeat_at=utcnow())
    )
    if result.rowcount == 0:  # removed as dead after a long pause: come back
        session.add(Worker(id=worker_id))


def unregister(session: Session, *, worker_id: str) -> None:
    session.connection().execute(delete(Worker).where(col(Worker.id) == worker_id))


def alive(session: Session, *, now: datetime | None = None) -> set[str]:
    """Ids of workers whose heartbeat is recent enough. A worker of this machine whose process
    is gone counts as dead at once: a bot restarted after a crash takes its work over without
    waiting for the heartbeat to time out."""
    cutoff = (now or utcnow()) - DEAD_AFTER
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
    session.connection().execute(
        delete(Worker).where(col(Worker.heartbeat_at) < utcnow() - older_than)
    )
