"""Hot-path statements built once per database dialect (SQLAlchemy then finds their compiled
form in its cache): INSERT … ON CONFLICT and RETURNING need the dialect's own `insert`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session


def insert_for(dialect: str) -> Callable[..., Any]:
    """The dialect's INSERT construct (the one with `on_conflict_do_nothing`)."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


class PerDialect:
    """A statement `build(dialect)` makes, made once per dialect and then reused."""

    def __init__(self, build: Callable[[str], Any]) -> None:
        self._build = build
        self._built: dict[str, Any] = {}

    def of(self, session: Session) -> Any:
        dialect = session.get_bind().dialect.name
        statement = self._built.get(dialect)
        if statement is None:
            statement = self._built[dialect] = self._build(dialect)
        return statement
