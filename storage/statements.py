"""Hot-path statements built once per database dialect (SQLAlchemy then finds their compiled
form in its cache): INSERT … ON CONFLICT and RETURNING need the dialect's own `insert`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

# Where a hot-path statement runs: a turn's ORM session, or a bare connection for the
# transactions that need nothing of the ORM (storage/database.py `on_connection`).
Db = Session | Connection


def connection_of(db: Db) -> Connection:
    return db if isinstance(db, Connection) else db.connection()


def dialect_of(db: Db) -> str:
    return db.dialect.name if isinstance(db, Connection) else db.get_bind().dialect.name


def insert_for(dialect: str) -> Callable[..., Any]:
    """The dialect's INSERT construct (the one with `on_conflict_do_nothing`)."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


class PerDialect:
    """A statement `build(dialect)` makes, made once per dialect and then reused."""

    def __init__(self, build: Callable[[str], Any]) -> None:
        self._build = build
        self._built: dict[str, Any] = {}

    def of(self, db: Db) -> Any:
        dialect = dialect_of(db)
        statement = self._built.get(dialect)
        if statement is None:
            statement = self._built[dialect] = self._build(dialect)
        return statement
