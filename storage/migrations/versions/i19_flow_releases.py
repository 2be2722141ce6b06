"""flow releases: which version of the flow files went live or was kept out, when and why

Revision ID: i19
Revises: t005
Create Date: 2026-12-04 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "i19"
down_revision: str | None = "t005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "flow_releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DATETIME(), nullable=False),
        sa.Column("digest", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("process", sa.String(length=80), nullable=False),
        sa.Column("live", sa.Boolean(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_flow_releases_created_at", "flow_releases", ["created_at"])
    op.create_index("ix_flow_releases_digest", "flow_releases", ["digest"])


def downgrade() -> None:
    op.drop_index("ix_flow_releases_digest", table_name="flow_releases")
    op.drop_index("ix_flow_releases_created_at", table_name="flow_releases")
    op.drop_table("flow_releases")
