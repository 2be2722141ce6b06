"""Shared fixtures. Real services only: a real Rasa server (trained once per run, reused while
the training data is unchanged) and the local PostgreSQL server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT
from bot.nlu import rasa_env
from bot.nlu.rasa_env import free_port

POSTGRES_URL = os.environ.get(
    "CAREERBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def rasa_model() -> Path:
    """The NLU model for the current data (trains only when the data or config changed)."""
    model, _ = rasa_env.train(PROJECT_ROOT / "models")
    return model


@pytest.fixture(scope="session")
def rasa_url(rasa_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `rasa run --enable-api` on a free port, started once for the whole run."""
    url = f"http://127.0.0.1:{free_port()}"
    log = tmp_path_factory.mktemp("rasa") / "rasa.log"
    server = rasa_env.start_server(rasa_model, url, log_file=log)
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The local PostgreSQL; fails (never skips) when it is down, so CI cannot go green without it."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(POSTGRES_URL)
    try:
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("select 1"))
    except Exception as exc:
        pytest.fail(f"PostgreSQL at {POSTGRES_URL} is not reachable: {exc}")
    finally:
        engine.dispose()
    return POSTGRES_URL


# --- conversation engine (issue 3) --------------------------------------------------------


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh, migrated SQLite database file."""
    from storage.database import upgrade

    url = f"sqlite:///{tmp_path / 'careerbot.db'}"
    upgrade(url)
    return url


@pytest.fixture
def postgres_schema_url(postgres_url: str) -> Iterator[str]:
    """A fresh, migrated schema of its own in the test PostgreSQL (dropped afterwards)."""
    import uuid

    import sqlalchemy

    from storage.database import upgrade

    schema = f"engine_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
    url = f"{postgres_url}?options=-csearch_path%3D{schema}"
    upgrade(url)
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(sqlalchemy.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
