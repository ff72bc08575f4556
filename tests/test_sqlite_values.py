"""The hot paths' SQLite values are exactly what the models' columns store: the tick's claim
compares ``next_remind_at`` as text, so a different form would match no row."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Column, Date, Integer, MetaData, Table, insert

from bot.services.reminder_claim import PG_COLUMNS, prepare_claim
from bot.services.reminder_compose import Claim
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


def test_a_prepared_claim_holds_each_stages_own_stored_values() -> None:
    # one instant twice in different zones, a value shared by several stages, and None:
    # each row must carry its own stage's values in stored form, whatever is shared
    nine = datetime(2026, 12, 23, 9, 0, tzinfo=BANGKOK)
    same = nine.astimezone(UTC)
    later = nine + timedelta(days=1)
    claims = [
        Claim(id=1, old=nine, version=3, at=later, last=same, moved=None, esc=None),
        Claim(id=2, old=same, version=1, at=None, last=nine, moved=date(2026, 12, 1), esc=later),
        Claim(id=3, old=later, version=7, at=nine, last=None, moved=date(2026, 12, 1), esc=None),
    ]
    lite = prepare_claim("sqlite", claims)
    assert lite.count == 3 and lite.pg_arrays is None
    assert lite.sqlite_rows == [
        (stored_ts(c.at), stored_ts(c.last), stored_date(c.moved), stored_ts(c.esc),
         c.id, stored_ts(c.old), c.version)
        for c in claims
    ]  # fmt: skip
    assert lite.sqlite_rows[0][1] == lite.sqlite_rows[0][5] == "2026-12-23 02:00:00.000000"
    pg = prepare_claim("postgresql", claims)
    assert pg.sqlite_rows is None and pg.pg_arrays is not None
    arrays = dict(zip(PG_COLUMNS, pg.pg_arrays, strict=True))
    assert arrays["id"] == [1, 2, 3] and arrays["at"] == [later, None, nine]
    assert arrays["moved"] == [None, date(2026, 12, 1), date(2026, 12, 1)]
