"""telegram channel state: processed updates, pressed keyboards, long callback payloads, outbox

Revision ID: t001
Revises: 0001
Create Date: 2026-11-28 05:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "t001"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "telegram_processed_update",
        sa.Column("update_id", sa.BigInteger(), nullable=False),
        sa.Column("processed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("update_id"),
    )
    op.create_index(
        "ix_telegram_processed_update_processed_at", "telegram_processed_update", ["processed_at"]
    )
    op.create_table(
        "telegram_keyboard_press",
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("pressed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "message_id"),
    )
    op.create_table(
        "telegram_callback_payload",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "telegram_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("ref", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("claimed_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_telegram_outbox_chat_status_id", "telegram_outbox", ["chat_id", "status", "id"]
    )
    op.create_index("ix_telegram_outbox_ref", "telegram_outbox", ["ref"])
    op.create_index("ix_telegram_outbox_status", "telegram_outbox", ["status"])


def downgrade() -> None:
    op.drop_index("ix_telegram_outbox_status", table_name="telegram_outbox")
    op.drop_index("ix_telegram_outbox_ref", table_name="telegram_outbox")
    op.drop_index("ix_telegram_outbox_chat_status_id", table_name="telegram_outbox")
    op.drop_table("telegram_outbox")
    op.drop_table("telegram_callback_payload")
    op.drop_table("telegram_keyboard_press")
    op.drop_index(
        "ix_telegram_processed_update_processed_at", table_name="telegram_processed_update"
    )
    op.drop_table("telegram_processed_update")
