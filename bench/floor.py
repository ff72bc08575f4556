"""The floor of materialisation: the same rows, straight to the raw driver.

After :func:`bot.services.materialise.materialise` has written a fiscal year, its rows
are read back (as the driver returns them: no conversion left to do) and written again
into an empty copy of the ``occurrence`` table (the same columns, unique key, indexes
and foreign keys) by the driver's own ``executemany`` of the same ``INSERT … ON
CONFLICT DO NOTHING``, in transactions of the same number of offices: ``sqlite3``
(which aiosqlite runs in a thread) with the bot's PRAGMAs, or asyncpg.  Nothing is
planned, converted or compared: what is left is the database's own cost of the rows.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from itertools import groupby
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import MetaData, Table
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import quoted_name

from bench.common import POSTGRES_URL, BenchDatabase
from bot.store.db import _sqlite_file
from bot.store.models import Base

FLOOR_TABLE = "occurrence_floor"
KEY = ("org_id", "catalogue_id", "code", "period_key")


def _floor_table() -> Table:
    """``occurrence``'s twin: its own constraint and index names, the same definitions."""
    md = MetaData()
    for table in Base.metadata.sorted_tables:
        if table.name != "occurrence":
            table.to_metadata(md)
    twin = Base.metadata.tables["occurrence"].to_metadata(md, name=FLOOR_TABLE)
    for index in twin.indexes:
        index.name = quoted_name(f"floor_{index.name}", None)
    for constraint in twin.constraints:
        if isinstance(constraint.name, str):
            constraint.name = quoted_name(f"floor_{constraint.name}", None)
    return twin


async def _create(conn: AsyncConnection, twin: Table) -> None:
    await conn.run_sync(lambda sync: twin.create(sync))


def _columns(twin: Table) -> list[str]:
    return [c.name for c in twin.c if c.name != "id"]


def _sqlite_floor(path: str, columns: list[str], fy: int, batch: int) -> tuple[float, int]:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in ("foreign_keys=ON", "journal_mode=WAL", "synchronous=NORMAL"):
            conn.execute(f"PRAGMA {pragma}")
        cols = ", ".join(f'"{c}"' for c in columns)  # current_role is a keyword
        rows = conn.execute(
            f"SELECT {cols} FROM occurrence WHERE fiscal_year = ? ORDER BY org_id, id", (fy,)
        ).fetchall()
        sql = (
            f"INSERT INTO {FLOOR_TABLE} ({cols}) VALUES ({', '.join('?' * len(columns))}) "
            f"ON CONFLICT ({', '.join(KEY)}) DO NOTHING"
        )
        chunks = _by_offices(rows, columns.index("org_id"), batch)
        t0 = time.perf_counter()
        for chunk in chunks:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(sql, chunk)
            conn.execute("COMMIT")
        return time.perf_counter() - t0, len(rows)
    finally:
        conn.close()


async def _postgres_floor(
    schema: str, columns: list[str], fy: int, batch: int
) -> tuple[float, int]:
    dsn = POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        cols = ", ".join(f'"{c}"' for c in columns)  # current_role is a keyword
        records = await conn.fetch(
            f"SELECT {cols} FROM occurrence WHERE fiscal_year = $1 ORDER BY org_id, id", fy
        )
        rows = [tuple(r) for r in records]
        marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
        sql = (
            f"INSERT INTO {FLOOR_TABLE} ({cols}) VALUES ({marks}) "
            f"ON CONFLICT ({', '.join(KEY)}) DO NOTHING"
        )
        chunks = _by_offices(rows, columns.index("org_id"), batch)
        t0 = time.perf_counter()
        for chunk in chunks:
            async with conn.transaction():
                await conn.executemany(sql, chunk)
        return time.perf_counter() - t0, len(rows)
    finally:
        await conn.close()


def _by_offices(rows: Sequence[Any], org_at: int, batch: int) -> list[list[Any]]:
    """The rows in chunks of ``batch`` offices (rows sorted by office)."""
    offices = [list(g) for _, g in groupby(rows, key=lambda r: r[org_at])]
    return [
        [r for office in offices[i : i + batch] for r in office]
        for i in range(0, len(offices), batch)
    ]


async def materialise_floor(bench: BenchDatabase, fy: int, batch: int) -> tuple[float, int]:
    """Seconds the raw driver takes to write ``fy``'s stored rows again, and how many."""
    twin = _floor_table()
    async with bench.db.engine.begin() as conn:
        await _create(conn, twin)
    try:
        columns = _columns(twin)
        if bench.backend == "sqlite":
            path = _sqlite_file(bench.url)
            assert path is not None
            await bench.db.engine.dispose()  # the floor has the file to itself
            return _sqlite_floor(str(path), columns, fy, batch)
        assert bench.schema is not None
        return await _postgres_floor(bench.schema, columns, fy, batch)
    finally:
        async with bench.db.engine.begin() as conn:
            await conn.run_sync(lambda sync: twin.drop(sync))
