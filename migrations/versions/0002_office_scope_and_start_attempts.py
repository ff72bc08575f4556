"""when a person was deactivated; failed /start CODE attempts per Telegram id

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deactivated_at", sa.DateTime(timezone=True), nullable=True))
    # people an admin deactivated before this column existed: their last update is the best guess
    op.execute(
        "UPDATE person SET deactivated_at = updated_at "
        "WHERE active = false AND inactive_reason LIKE 'admin:%'"
    )
    op.create_table(
        "start_attempts",
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("telegram_user_id", name=op.f("pk_start_attempts")),
    )


def downgrade() -> None:
    op.drop_table("start_attempts")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_column("deactivated_at")
