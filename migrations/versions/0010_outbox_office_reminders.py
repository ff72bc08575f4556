"""outbox: an office's waiting reminders found by index

Every batch of the morning's tick asks, per office, whether a reminder queued before now is
still waiting (bot.services.supersede): without this index the question read every pending
row of the outbox, so the national morning slowed as its own reminders piled up.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 16:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_office_kind", "outbox", ["org_id", "kind", "status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_office_kind", table_name="outbox")
