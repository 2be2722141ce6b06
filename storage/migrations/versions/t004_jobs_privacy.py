"""scheduled jobs and privacy: follow-ups, coach digests, job marks on cases and conversations,
erased participants

Revision ID: t004
Revises: t003
Create Date: 2026-11-28 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "t004"
down_revision: str | None = "t003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "follow_ups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("remark", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_DATETIME(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_follow_ups_case_id", "follow_ups", ["case_id"])
    op.create_table(
        "coach_digests",
        sa.Column("coach_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("sent_at", UTC_DATETIME(), nullable=False),
        sa.ForeignKeyConstraint(["coach_id"], ["coaches.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("coach_id", "day"),
    )
    with op.batch_alter_table("participants") as batch:
        batch.add_column(sa.Column("erased_at", UTC_DATETIME(), nullable=True))
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("reminded_at", UTC_DATETIME(), nullable=True))
        batch.create_index("ix_conversations_updated_at", ["updated_at"])
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("assigned_at", UTC_DATETIME(), nullable=True))
        batch.add_column(sa.Column("coach_reminded_at", UTC_DATETIME(), nullable=True))
        batch.add_column(sa.Column("accepted_at", UTC_DATETIME(), nullable=True))
        batch.add_column(sa.Column("follow_up_sent_at", UTC_DATETIME(), nullable=True))
        batch.create_index("ix_cases_assigned_at", ["assigned_at"])
        batch.create_index("ix_cases_accepted_at", ["accepted_at"])


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_accepted_at")
        batch.drop_index("ix_cases_assigned_at")
        for column in ("follow_up_sent_at", "accepted_at", "coach_reminded_at", "assigned_at"):
            batch.drop_column(column)
    with op.batch_alter_table("conversations") as batch:
        batch.drop_index("ix_conversations_updated_at")
        batch.drop_column("reminded_at")
    with op.batch_alter_table("participants") as batch:
        batch.drop_column("erased_at")
    op.drop_table("coach_digests")
    op.drop_index("ix_follow_ups_case_id", table_name="follow_ups")
    op.drop_table("follow_ups")
