"""The floors of the tick: its claims and its outbox rows, straight to the raw driver.

* :func:`claim_floor`: the due stages of the scene, in batches of the tick's number of
  offices, each batch's conditional ``UPDATE`` (the tick's own statement: by id, where
  ``next_remind_at`` and ``version`` are those read) run by ``sqlite3``'s
  ``executemany`` (with the bot's PRAGMAs) or asyncpg's ``UPDATE … FROM unnest(…)``,
  timed from ``BEGIN`` to the row count, as the tick's claim is.  The rows are written
  back with the values they have, so the scene is left as it was for the tick.
* :func:`outbox_floor`: the outbox rows the tick wrote, read back as the driver stores
  them, written again into an empty twin of ``outbox`` (same unique key and indexes)
  with the driver's ``executemany`` of the same ``INSERT … ON CONFLICT DO NOTHING``,
  one transaction per batch of offices.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime
from itertools import groupby
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import MetaData, Table
from sqlalchemy.sql.elements import quoted_name

from bench.common import POSTGRES_URL, BenchDatabase
from bot.services.reminder_claim import PG_CLAIM, SQLITE_CLAIM
from bot.store.db import _sqlite_file
from bot.store.models import Base
from bot.store.sqlite_values import stored_ts

OUTBOX_FLOOR = "outbox_floor"
_CLAIM_COLS = "org_id, id, next_remind_at, version, last_reminded_at, due_moved_from, escalated_at"


def _batches(rows: list[Any], batch: int) -> list[list[Any]]:
    """Rows (sorted by office, first column) in chunks of ``batch`` offices."""
    offices = [list(g) for _, g in groupby(rows, key=lambda r: r[0])]
    return [
        [r for office in offices[i : i + batch] for r in office]
        for i in range(0, len(offices), batch)
    ]


def _sqlite_connect(bench: BenchDatabase) -> sqlite3.Connection:
    path = _sqlite_file(bench.url)
    assert path is not None
    conn = sqlite3.connect(str(path), isolation_level=None)
    for pragma in ("foreign_keys=ON", "journal_mode=WAL", "synchronous=NORMAL"):
        conn.execute(f"PRAGMA {pragma}")
    return conn


async def _pg_connect(bench: BenchDatabase) -> Any:
    dsn = POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")
    return await asyncpg.connect(dsn, server_settings={"search_path": bench.schema or "public"})


async def claim_floor(bench: BenchDatabase, at: datetime, batch: int) -> list[float]:
    """Seconds of each batch's raw claim of the stages due at ``at``."""
    await bench.db.engine.dispose()  # the floor has the database to itself
    out: list[float] = []
    if bench.backend == "sqlite":
        conn = _sqlite_connect(bench)
        try:
            key = stored_ts(at)
            rows = conn.execute(
                f"SELECT {_CLAIM_COLS} FROM occurrence WHERE next_remind_at <= ? "
                "ORDER BY org_id, id",
                (key,),
            ).fetchall()
            for chunk in _batches(rows, batch):
                params = [
                    (old, last, moved, esc, i, old, v) for _, i, old, v, last, moved, esc in chunk
                ]
                t0 = time.perf_counter()
                conn.execute("BEGIN IMMEDIATE")
                taken = conn.executemany(SQLITE_CLAIM, params).rowcount
                out.append(time.perf_counter() - t0)
                conn.execute("COMMIT")
                assert taken == len(chunk), (taken, len(chunk))
        finally:
            conn.close()
        return out
    pg = await _pg_connect(bench)
    try:
        records = await pg.fetch(
            f"SELECT {_CLAIM_COLS} FROM occurrence WHERE next_remind_at <= $1 ORDER BY org_id, id",
            at,
        )
        for chunk in _batches([tuple(r) for r in records], batch):
            cols = list(zip(*chunk, strict=True))
            ids, olds, versions, lasts, moved, escs = (
                cols[1],
                cols[2],
                cols[3],
                cols[4],
                cols[5],
                cols[6],
            )
            t0 = time.perf_counter()
            tr = pg.transaction()
            await tr.start()
            status = await pg.execute(PG_CLAIM, ids, olds, versions, olds, lasts, moved, escs)
            out.append(time.perf_counter() - t0)
            await tr.commit()
            assert int(status.split()[-1]) == len(chunk), (status, len(chunk))
    finally:
        await pg.close()
    return out


def _outbox_twin() -> Table:
    md = MetaData()
    for table in Base.metadata.sorted_tables:
        if table.name != "outbox":
            table.to_metadata(md)
    twin = Base.metadata.tables["outbox"].to_metadata(md, name=OUTBOX_FLOOR)
    for index in twin.indexes:
        index.name = quoted_name(f"floor_{index.name}", None)
    for constraint in twin.constraints:
        if isinstance(constraint.name, str):
            constraint.name = quoted_name(f"floor_{constraint.name}", None)
    return twin


async def outbox_floor(bench: BenchDatabase, batch: int) -> tuple[float, int]:
    """Seconds the raw driver takes to write the tick's outbox rows again, and how many."""
    twin = _outbox_twin()
    async with bench.db.engine.begin() as conn:
        await conn.run_sync(lambda sync: twin.create(sync))
    try:
        columns = [c.name for c in twin.c if c.name != "id"]
        cols = ", ".join(f'"{c}"' for c in columns)
        select_rows = f"SELECT {cols} FROM outbox WHERE org_id IS NOT NULL ORDER BY org_id, id"
        if bench.backend == "sqlite":
            await bench.db.engine.dispose()
            lite = _sqlite_connect(bench)
            try:
                rows = lite.execute(select_rows).fetchall()
                sql = (
                    f"INSERT INTO {OUTBOX_FLOOR} ({cols}) VALUES ({', '.join('?' * len(columns))}) "
                    "ON CONFLICT (dedupe_key) DO NOTHING"
                )
                t0 = time.perf_counter()
                for chunk in _batches(rows, batch):
                    lite.execute("BEGIN IMMEDIATE")
                    lite.executemany(sql, chunk)
                    lite.execute("COMMIT")
                return time.perf_counter() - t0, len(rows)
            finally:
                lite.close()
        pg = await _pg_connect(bench)
        try:
            rows = [tuple(r) for r in await pg.fetch(select_rows)]
            marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
            sql = (
                f"INSERT INTO {OUTBOX_FLOOR} ({cols}) VALUES ({marks}) "
                "ON CONFLICT (dedupe_key) DO NOTHING"
            )
            t0 = time.perf_counter()
            for chunk in _batches(rows, batch):
                async with pg.transaction():
                    await pg.executemany(sql, chunk)
            return time.perf_counter() - t0, len(rows)
        finally:
            await pg.close()
    finally:
        async with bench.db.engine.begin() as conn:
            await conn.run_sync(lambda sync: twin.drop(sync))
