"""Database engine from DATABASE_URL, sessions, and Alembic migrations (`upgrade`)."""

from __future__ import annotations

import asyncio
import select
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, exc, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from sqlmodel import Session

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_T = TypeVar("_T")


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for SQLite (file created on demand, WAL, foreign keys) or PostgreSQL.

    `hide_parameters`: a database error's message would otherwise quote the bound values —
    message text, names, phone numbers — into any log line that prints it.
    """
    kwargs.setdefault("hide_parameters", True)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # Turns run in worker threads; SQLite itself serialises the writes. How long to wait
        # for another writer's lock: 15 s, unless the URL says (sqlite:///f.db?timeout=2).
        connect_args: dict[str, Any] = {"check_same_thread": False}
        if "timeout" not in parsed.query:
            connect_args["timeout"] = 15
        kwargs.setdefault("connect_args", connect_args)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if "pool_pre_ping" in kwargs:
        return create_engine(url, **kwargs)
    engine = create_engine(url, **kwargs)
    # Instead of SQLAlchemy's pre-ping (a round trip to the server at every checkout, about
    # four per turn): a connection whose socket has something to read while it sits idle in
    # the pool was closed by the server (terminated, restarted: it says so, or the socket
    # ends). The pool then replaces it before anyone uses it. A connection that dies silently
    # (a cut network) fails on first use instead, as a transient error that is retried.
    event.listen(engine, "checkout", _pg_checkout)
    return engine


def _pg_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    try:
        closed = bool(dbapi_connection.closed) or bool(
            select.select([dbapi_connection.fileno()], [], [], 0)[0]
        )
    except Exception:
        closed = True
    if closed:
        raise exc.DisconnectionError("closed by the server while idle")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Python's sqlite3 starts transactions late (before the first write) and a SAVEPOINT
    # outside one commits on release: one update's transaction would not be one. SQLAlchemy
    # emits BEGIN itself instead (below).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Deleted data is overwritten, not just unlinked: erased means gone from the file too.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def lock_key(session: Session, key: str) -> None:
    """Serialise transactions that touch the same thing (a participant, a region) across
    processes: a PostgreSQL advisory lock held until commit. SQLite serialises writers anyway."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(current_schema() || :key))"), {"key": key}
        )


def is_transient(error: BaseException) -> bool:
    """A database error that is not the work's fault and passes by itself: a dropped or
    refused connection, a server restarting, a lock held too long, a full pool."""
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(
        error,
        exc.OperationalError | exc.InterfaceError | exc.TimeoutError | exc.DisconnectionError,
    )


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def _sqlite_begin(connection: Any) -> None:
    # IMMEDIATE: take the write lock at the start, so two transactions that read and then
    # write wait for each other instead of failing halfway (SQLite has one writer anyway).
    # Straight on the driver connection: this runs for every transaction, and SQLAlchemy's
    # statement machinery would cost more than the BEGIN itself.
    connection.connection.driver_connection.execute("BEGIN IMMEDIATE")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back on an exception.

    The one way storage is opened: every change of one update, job or command commits here.
    """
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def runs_in_thread(engine: Engine) -> bool:
    """Where the async parts run database work by default: PostgreSQL in a worker thread (its
    round trips must not block the event loop), SQLite on the loop (a local file: the thread hop
    would cost more than the work)."""
    return engine.dialect.name != "sqlite"


async def call(func: Callable[..., _T], *args: Any, in_thread: bool) -> _T:
    """`func(*args)` from async code: in a worker thread or right here on the loop."""
    return await asyncio.to_thread(func, *args) if in_thread else func(*args)


async def in_transaction(engine: Engine, work: Callable[[Session], _T], *, in_thread: bool) -> _T:
    """`work(session)` in one transaction (`session_scope`), from async code."""

    def run() -> _T:
        with session_scope(engine) as session:
            return work(session)

    return await call(run, in_thread=in_thread)


async def on_connection(engine: Engine, work: Callable[[Connection], _T], *, in_thread: bool) -> _T:
    """`work(connection)` in one transaction without an ORM session, from async code: for the
    hot path's transactions that run Core statements only (storing updates, recording
    deliveries). A session costs about as much again as such a transaction's statement."""

    def run() -> _T:
        with engine.begin() as connection:
            return work(connection)

    return await call(run, in_thread=in_thread)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Alembic treats % as interpolation; passwords in URLs may contain it.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema up to date; safe to call at every start-up."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)
    _check_writable(url)


def _check_writable(url: str) -> None:
    """Fail now, not at the first message, when the database cannot be written (a read-only
    file or mount, a standby server): a write that changes nothing, rolled back."""
    engine = create_db_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection, connection.begin() as transaction:
            connection.execute(text("UPDATE alembic_version SET version_num = version_num"))
            transaction.rollback()
    finally:
        engine.dispose()
