"""The hot paths' SQLite values are exactly what the models' columns store: the tick's claim
compares ``next_remind_at`` as text, so a different form would match no row."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Column, Date, Integer, MetaData, Table, insert

from bot.store.db import Database
from bot.store.models.base import UTCDateTime
from bot.store.sqlite_values import stored_date, stored_ts

BANGKOK = timezone(timedelta(hours=7))


async def test_stored_forms_match_what_the_columns_write(sqlite_db: Database) -> None:
    table = Table("t_values", MetaData(), Column("id", Integer, primary_key=True),
                  Column("at", UTCDateTime()), Column("day", Date))  # fmt: skip
    values = [
        (datetime(2026, 12, 23, 9, 0, tzinfo=BANGKOK), date(2026, 12, 23)),
        (datetime(2027, 1, 4, 2, 0, 0, 123456, tzinfo=UTC), date(2027, 1, 4)),
        (datetime(2026, 10, 1, 0, 0, 0, 1, tzinfo=BANGKOK), None),
    ]
    async with sqlite_db.engine.begin() as conn:
        await conn.run_sync(table.create)
        for n, (at, day) in enumerate(values):
            await conn.execute(insert(table).values(id=n, at=at, day=day))
        found_rows = await conn.exec_driver_sql("SELECT at, day FROM t_values ORDER BY id")
        raw: list[tuple[Any, ...]] = [tuple(r) for r in found_rows]
        for (at, day), row in zip(values, raw, strict=True):
            assert stored_ts(at) == row[0]
            assert stored_date(day) == row[1]
            found = await conn.exec_driver_sql("SELECT count(*) FROM t_values WHERE at = ?",
                                               (stored_ts(at),))  # fmt: skip
            assert found.scalar() == 1
    assert stored_ts(None) is None and stored_date(None) is None
