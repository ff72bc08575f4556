"""occurrence.covers_key: the period an occurrence reports on when not its key's (an
annual results report due in December covers the fiscal year just ended)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 00:00:01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # filled in, with period_start/period_end, by the next materialisation
    op.add_column("occurrence", sa.Column("covers_key", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("occurrence") as batch:
        batch.drop_column("covers_key")
