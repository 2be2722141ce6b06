"""Persistence: SQLModel tables, small keyword-only functions per topic, Alembic migrations."""
