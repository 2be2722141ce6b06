"""Alembic environment: runs the migrations in storage/migrations/versions online."""

from __future__ import annotations

import importlib
import pkgutil

from alembic import context
from sqlalchemy import pool
from sqlmodel import SQLModel

import storage
from storage.database import create_db_engine

# Every storage module registers its tables on SQLModel.metadata when imported, so a new
# feature only adds a module and a revision.
for module in pkgutil.iter_modules(storage.__path__):
    if module.name != "migrations":
        importlib.import_module(f"storage.{module.name}")

target_metadata = SQLModel.metadata


def run_migrations() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("sqlalchemy.url is not set")
    engine = create_db_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
