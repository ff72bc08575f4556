"""Run the same reminder tick twice on one database: what the stages' reminder columns were,
and putting them back with an empty outbox."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, select, update

from bot.store.db import Database
from bot.store.models import Occurrence, Outbox

OCC = cast(Table, Occurrence.__table__)
_COLUMNS = ("next_remind_at", "last_reminded_at", "escalated_at")

Snapshot = list[dict[str, Any]]


async def reminder_state(db: Database) -> Snapshot:
    """Every stage's reminder columns, as a tick finds them."""
    cols = (OCC.c.id, *(OCC.c[name] for name in _COLUMNS))
    async with db.transaction() as s:
        return [dict(r._mapping) for r in await s.execute(select(*cols))]


async def rewind(db: Database, rows: Snapshot) -> None:
    """The stages as :func:`reminder_state` saw them, and an empty outbox."""
    async with db.transaction() as s:
        await s.execute(
            update(OCC)
            .where(OCC.c.id == bindparam("b_id"))
            .values({name: bindparam(f"b_{name}") for name in _COLUMNS}),
            [{f"b_{k}": v for k, v in row.items()} for row in rows],
        )
        await s.execute(delete(Outbox))
