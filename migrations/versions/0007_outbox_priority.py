"""outbox priority: interactive messages are claimed before bulk ones

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 09:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# 0 interactive (review requests, send back, approved, published, a reported change, an
# accepted invite), 1 bulk (reminders, escalations, digests, reports)
INTERACTIVE_KINDS = ("notify", "notice")


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("priority", sa.Integer(), nullable=False, server_default="1"))
    op.execute(sa.text("UPDATE outbox SET priority = 0 WHERE kind IN ('notify', 'notice')"))
    op.create_index("ix_outbox_claim", "outbox", ["status", "priority", "next_attempt_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_claim", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("priority")
