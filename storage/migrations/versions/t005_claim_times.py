"""claims with a time: inbox and outbox rows record when their worker last touched them, so a
claim nobody renews is taken over even while its worker lives

Revision ID: t005
Revises: i20_web_desk
Create Date: 2026-12-04 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "t005"
down_revision: str | None = "i20_web_desk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("claimed_at", UTC_DATETIME(), nullable=True))
    with op.batch_alter_table("telegram_outbox") as batch:
        batch.add_column(sa.Column("claimed_at", UTC_DATETIME(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("telegram_outbox") as batch:
        batch.drop_column("claimed_at")
    with op.batch_alter_table("inbox") as batch:
        batch.drop_column("claimed_at")
