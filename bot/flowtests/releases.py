"""What is live and why: decisions about flow versions, recorded and read back.

A running bot records every decision of its registry (start-up, a change, /reload);
`careerbot flows publish` records its own verdict. `careerbot flows status` compares the files
on disk with the newest decisions.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from bot.flows.reader import display_name
from bot.flows.registry import Decision, Recorder, digest
from storage import flow_releases
from storage.database import session_scope
from storage.flow_releases import FlowRelease


def process_name() -> str:
    return f"{socket.gethostname()[:40]}-{os.getpid()}"


def recorder(engine: Engine, *, process: str | None = None) -> Recorder:
    name = process or process_name()

    def record(decision: Decision) -> None:
        with session_scope(engine) as session:
            flow_releases.record_release(
                session,
                digest=decision.digest,
                source=decision.source,
                process=name,
                live=decision.live,
                summary=decision.summary,
                problems=list(decision.problems),
            )

    return record


def _when(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _describe(release: FlowRelease) -> str:
    who = "careerbot flows publish" if release.source == "publish" else f"bot {release.process}"
    return f"{release.digest}, {_when(release.created_at)} by {who} ({release.source}): {release.summary}"


def status_text(engine: Engine, directory: Path) -> tuple[str, bool]:
    """The status in words, and whether the files on disk are what is live."""
    on_disk = digest(directory)
    with Session(engine) as session:
        live = _newest_live(session)
        verdict = flow_releases.latest(session, digest=on_disk)
        history = flow_releases.recent(session, limit=5)
    lines = [f"Files in {display_name(directory)}: version {on_disk}"]
    if live is None:
        lines.append("Live: nothing recorded yet (no bot has loaded flows with this database).")
    else:
        lines.append(f"Live: {_describe(live)}")
    in_sync = live is not None and live.digest == on_disk
    if in_sync:
        lines.append("The files on disk are what is live.")
    elif verdict is None:
        lines.append(
            "The files on disk are not live and were not checked yet: a running bot picks them "
            "up within seconds; `careerbot flows publish` checks them now."
        )
    elif verdict.live:
        lines.append(
            f"The files on disk passed ({_describe(verdict)}); a running bot takes them live within seconds."
        )
    else:
        lines.append(f"The files on disk are kept out: {_describe(verdict)}")
        lines += [f"  {problem}" for problem in verdict.problems]
        lines.append("Run `careerbot flows test` to see each failure side by side.")
    if history:
        lines.append("Recent decisions:")
        for release in history:
            if release.source == "publish":
                mark = "passed" if release.live else "failed"
            else:
                mark = "live" if release.live else "kept out"
            lines.append(f"  {mark:<8} {_describe(release)}")
    return "\n".join(lines), in_sync


def _newest_live(session: Session) -> FlowRelease | None:
    """What the bots run: the newest version a bot (not a publish) took live."""
    for release in flow_releases.recent(session, limit=200):
        if release.live and release.source != "publish":
            return release
    return None
