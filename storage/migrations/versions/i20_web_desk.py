"""web desk: login links, sessions, case notes, audit log, signing secret; coach roles

Revision ID: i20_web_desk
Revises: t004
Create Date: 2026-12-04 17:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "i20_web_desk"
down_revision: str | None = "t004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("coaches") as batch:
        batch.add_column(
            sa.Column("role", sa.String(length=16), nullable=False, server_default="coach")
        )
    op.create_table(
        "web_secret",
        sa.Column("name", sa.String(length=20), primary_key=True),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.Column("created_at", UTC_DATETIME(), nullable=False),
    )
    op.create_table(
        "web_login_links",
        sa.Column("token_hash", sa.String(length=64), primary_key=True),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTC_DATETIME(), nullable=False),
        sa.Column("expires_at", UTC_DATETIME(), nullable=False),
        sa.Column("used_at", UTC_DATETIME(), nullable=True),
    )
    op.create_index("ix_web_login_links_telegram_id", "web_login_links", ["telegram_id"])
    op.create_index("ix_web_login_links_created_at", "web_login_links", ["created_at"])
    op.create_table(
        "web_sessions",
        sa.Column("id_hash", sa.String(length=64), primary_key=True),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTC_DATETIME(), nullable=False),
        sa.Column("seen_at", UTC_DATETIME(), nullable=False),
        sa.Column("flash", sa.Text(), nullable=True),
    )
    op.create_index("ix_web_sessions_telegram_id", "web_sessions", ["telegram_id"])
    op.create_index("ix_web_sessions_seen_at", "web_sessions", ["seen_at"])
    op.create_table(
        "case_notes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "case_id",
            sa.Integer(),
            sa.ForeignKey("cases.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("author_telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("author_name", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_DATETIME(), nullable=False),
    )
    op.create_index("ix_case_notes_case_id", "case_notes", ["case_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", UTC_DATETIME(), nullable=False),
        sa.Column("actor_telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("actor_name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_actor_telegram_id", "audit_log", ["actor_telegram_id"])
    op.create_index("ix_audit_log_case_id", "audit_log", ["case_id"])


def downgrade() -> None:
    for table in ("audit_log", "case_notes", "web_sessions", "web_login_links", "web_secret"):
        op.drop_table(table)
    with op.batch_alter_table("coaches") as batch:
        batch.drop_column("role")
