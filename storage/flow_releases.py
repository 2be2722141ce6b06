"""Which version of the flow files went live, or was kept out, when, where and why.

Every bot process writes a row when it loads flows (at start-up, on a change, on /reload), and
so does `careerbot flows publish`; `careerbot flows status` reads them back. A version is
named by a digest of the flow and test files, so the same files give the same name on every
machine. The rows hold file:line findings and test names, never anything a participant said.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, Session, SQLModel, col, select

from storage.models import utcnow

KEEP_ROWS = 500  # older rows are removed: the history of the last few hundred changes is enough


class FlowRelease(SQLModel, table=True):
    __tablename__ = "flow_releases"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    digest: str = Field(max_length=16, index=True)
    source: str = Field(max_length=16)  # start, reload, admin, publish
    process: str = Field(max_length=80)  # host-pid of the bot, or "publish" by an admin
    live: bool  # True: these flows went live (publish: they may)
    summary: str = Field(sa_type=Text)  # "check OK, 38 conversation tests passed"
    problems: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


def record_release(
    session: Session,
    *,
    digest: str,
    source: str,
    process: str,
    live: bool,
    summary: str,
    problems: list[str],
) -> None:
    session.add(
        FlowRelease(
            digest=digest,
            source=source,
            process=process[:80],
            live=live,
            summary=summary,
            problems=problems[:50],
        )
    )
    session.flush()
    oldest = session.exec(
        select(FlowRelease.id).order_by(col(FlowRelease.id).desc()).offset(KEEP_ROWS).limit(1)
    ).first()
    if oldest is not None:
        session.connection().execute(
            FlowRelease.__table__.delete().where(col(FlowRelease.id) <= oldest)  # type: ignore[attr-defined]
        )


def latest(
    session: Session, *, live: bool | None = None, digest: str | None = None
) -> FlowRelease | None:
    statement = select(FlowRelease)
    if live is not None:
        statement = statement.where(col(FlowRelease.live).is_(live))
    if digest is not None:
        statement = statement.where(col(FlowRelease.digest) == digest)
    return session.exec(statement.order_by(col(FlowRelease.id).desc()).limit(1)).first()


def recent(session: Session, *, limit: int = 10) -> list[FlowRelease]:
    statement = select(FlowRelease).order_by(col(FlowRelease.id).desc()).limit(limit)
    return list(session.exec(statement).all())


def as_dict(release: FlowRelease) -> dict[str, Any]:
    return release.model_dump(mode="json")
