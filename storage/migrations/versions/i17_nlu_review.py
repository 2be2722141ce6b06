"""NLU review queue: messages the model was unsure about (consenting participants only)

Revision ID: i17_nlu_review
Revises: i19
Create Date: 2026-12-04 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "i17_nlu_review"
down_revision: str | None = "i19"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "nlu_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("intent", sa.String(length=64), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("second_intent", sa.String(length=64), nullable=True),
        sa.Column("second_confidence", sa.Float(), nullable=True),
        sa.Column("label", sa.String(length=64), nullable=True),
        sa.Column("labelled_at", UTC_DATETIME(), nullable=True),
        sa.Column("created_at", UTC_DATETIME(), nullable=False),
        sa.ForeignKeyConstraint(["participant_id"], ["participants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_nlu_review_participant_id", "nlu_review", ["participant_id"])
    op.create_index("ix_nlu_review_created_at", "nlu_review", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_nlu_review_created_at", table_name="nlu_review")
    op.drop_index("ix_nlu_review_participant_id", table_name="nlu_review")
    op.drop_table("nlu_review")
