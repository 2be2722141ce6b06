"""inbox of incoming updates, worker heartbeats, outbox claims by worker, one open case per
participant, coaches Telegram cannot reach

Revision ID: t003
Revises: t002
Create Date: 2026-11-28 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "t003"
down_revision: str | None = "t002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "status IN ('new', 'assigned', 'accepted')"


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("update_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_key", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("claimed_by", sa.String(length=40), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("received_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("processed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "update_id", name="uq_inbox_channel_update"),
    )
    op.create_index("ix_inbox_status_chat_update", "inbox", ["status", "chat_key", "update_id"])
    op.create_index("ix_inbox_received_at", "inbox", ["received_at"])
    op.create_table(
        "workers",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("heartbeat_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_workers_heartbeat_at", "workers", ["heartbeat_at"])
    with op.batch_alter_table("telegram_outbox") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("kind", sa.String(length=32), nullable=True))
        batch.drop_column("claimed_until")
    with op.batch_alter_table("coaches") as batch:
        batch.add_column(
            sa.Column("unreachable_since", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    op.create_index(
        "uq_cases_open_participant",
        "cases",
        ["participant_id"],
        unique=True,
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )
    op.drop_table("telegram_processed_update")


def downgrade() -> None:
    op.create_table(
        "telegram_processed_update",
        sa.Column("update_id", sa.BigInteger(), nullable=False),
        sa.Column("processed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("update_id"),
    )
    op.drop_index("uq_cases_open_participant", table_name="cases")
    with op.batch_alter_table("coaches") as batch:
        batch.drop_column("unreachable_since")
    with op.batch_alter_table("telegram_outbox") as batch:
        batch.add_column(
            sa.Column("claimed_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch.drop_column("kind")
        batch.drop_column("claimed_by")
    op.drop_index("ix_workers_heartbeat_at", table_name="workers")
    op.drop_table("workers")
    op.drop_index("ix_inbox_received_at", table_name="inbox")
    op.drop_index("ix_inbox_status_chat_update", table_name="inbox")
    op.drop_table("inbox")
