"""occurrences know the catalogue version (edition) whose item they are

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 12:00:00

An item is its edition and its O-number: two editions may give one O-number to two
items.  Existing occurrences belong to the catalogue their office adopted for their
fiscal year; the unique key now includes it, so another edition's item with the same
code can be planned next to the history of the old one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("occurrence", schema=None) as batch_op:
        batch_op.add_column(sa.Column("catalogue_id", ID, nullable=True))
    op.execute(
        "UPDATE occurrence SET catalogue_id = (SELECT oc.catalogue_id FROM org_catalogue oc"
        " WHERE oc.org_id = occurrence.org_id AND oc.fiscal_year = occurrence.fiscal_year)"
    )
    op.execute(
        "UPDATE occurrence SET catalogue_id = (SELECT max(id) FROM catalogue_version)"
        " WHERE catalogue_id IS NULL"
    )
    with op.batch_alter_table("occurrence", schema=None) as batch_op:
        batch_op.alter_column("catalogue_id", existing_type=ID, nullable=False)
        batch_op.drop_constraint("uq_occurrence_key", type_="unique")
        batch_op.create_unique_constraint(
            "uq_occurrence_key", ["org_id", "catalogue_id", "code", "period_key"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_occurrence_catalogue_id_catalogue_version"),
            "catalogue_version",
            ["catalogue_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("occurrence", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_occurrence_catalogue_id_catalogue_version"), type_="foreignkey"
        )
        batch_op.drop_constraint("uq_occurrence_key", type_="unique")
        batch_op.create_unique_constraint("uq_occurrence_key", ["org_id", "code", "period_key"])
        batch_op.drop_column("catalogue_id")
