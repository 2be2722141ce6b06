"""coach desk: case_relay (live chat between coach and participant on/off)

Revision ID: t002
Revises: t001
Create Date: 2026-11-28 05:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "t002"
down_revision: str | None = "t001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_relay",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("coach_id", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["participant_id"], ["participants.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["coach_id"], ["coaches.id"]),
        sa.PrimaryKeyConstraint("case_id"),
    )
    op.create_index("ix_case_relay_participant_id", "case_relay", ["participant_id"])
    op.create_index("ix_case_relay_active", "case_relay", ["active"])


def downgrade() -> None:
    op.drop_index("ix_case_relay_active", table_name="case_relay")
    op.drop_index("ix_case_relay_participant_id", table_name="case_relay")
    op.drop_table("case_relay")
