"""outbox rows name the update whose turn queued them (`turn`): a reply is attributed to its
turn exactly (scripts/bench_telegram.py: answered, answered twice, lost per turn)

Revision ID: t006
Revises: i17_nlu_review
Create Date: 2026-12-05 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "t006"
down_revision: str | None = "i17_nlu_review"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("telegram_outbox") as batch:
        batch.add_column(sa.Column("turn", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("telegram_outbox") as batch:
        batch.drop_column("turn")
