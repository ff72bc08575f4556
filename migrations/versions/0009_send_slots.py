"""send slots: one rate limit for every process that sends on this database

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "send_slot",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("next_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_send_slot")),
    )
    op.bulk_insert(
        sa.table("send_slot", sa.column("key", sa.String()), sa.column("next_at", sa.Float())),
        [{"key": "*", "next_at": 0.0}],
    )


def downgrade() -> None:
    op.drop_table("send_slot")
