"""evidence links and their checks; a URL waiting on a publish-time check

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _ts(name: str) -> sa.Column[sa.DateTime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def upgrade() -> None:
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "evidence_link",
        sa.Column("id", big, nullable=False),
        sa.Column("org_id", big, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("url_hash", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("final_url", sa.Text(), nullable=True),
        sa.Column("content_type", sa.String(length=200), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("body_hash", sa.String(length=64), nullable=True),
        _ts("first_live_at"),
        _ts("content_changed_at"),
        _ts("broken_since"),
        _ts("recovered_at"),
        _ts("last_checked_at"),
        _ts("next_check_at"),
        sa.Column("checks", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisation.id"],
            name=op.f("fk_evidence_link_org_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_link")),
        sa.UniqueConstraint("org_id", "url_hash", name="uq_evidence_link_url"),
    )
    op.create_index("ix_evidence_link_next_check", "evidence_link", ["next_check_at"])
    op.create_table(
        "link_check",
        sa.Column("id", big, nullable=False),
        sa.Column("link_id", big, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("live", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("final_url", sa.Text(), nullable=True),
        sa.Column("content_type", sa.String(length=200), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("body_hash", sa.String(length=64), nullable=True),
        sa.Column("changed", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["evidence_link.id"],
            name=op.f("fk_link_check_link_id_evidence_link"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_check")),
    )
    op.create_index("ix_link_check_link_at", "link_check", ["link_id", "at"])
    with op.batch_alter_table("pending_prompt") as batch:
        batch.add_column(sa.Column("url", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pending_prompt") as batch:
        batch.drop_column("url")
    op.drop_index("ix_link_check_link_at", table_name="link_check")
    op.drop_table("link_check")
    op.drop_index("ix_evidence_link_next_check", table_name="evidence_link")
    op.drop_table("evidence_link")
