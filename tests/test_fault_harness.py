"""The reliability tests' harness does what it says: a PostgreSQL outage refuses only the bot's
own role (and only for its duration); an SQLite writer's lock keeps other writers out."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot.store.db import Database
from tests.support.db import POSTGRES_URL, drop_database, make_database
from tests.support.outage import BotRole, hold_write_lock


async def test_postgres_outage_refuses_only_the_bot_role(tmp_path: Path) -> None:
    db, schema = await make_database("postgres", tmp_path)
    role = await BotRole.create(schema)
    bot = Database(role.url, schema=schema)
    bystander = Database(POSTGRES_URL, schema=schema)
    try:
        async with bot.engine.connect() as conn:
            assert await conn.scalar(text("SELECT count(*) FROM outbox")) == 0
            assert await role.backends() == 1
            async with role.outage():
                assert await role.backends() == 0
                with pytest.raises(DBAPIError):  # its open connection was ended
                    await conn.scalar(text("SELECT 1"))
                with pytest.raises((DBAPIError, OSError)):  # and a new one is refused
                    async with Database(role.url, schema=schema).engine.connect() as again:
                        await again.scalar(text("SELECT 1"))
                async with bystander.engine.connect() as other:  # nobody else is
                    assert await other.scalar(text("SELECT count(*) FROM outbox")) == 0
        await bot.engine.dispose()
        async with bot.engine.connect() as conn:  # admitted again
            assert await conn.scalar(text("SELECT current_user")) == role.name
    finally:
        await bot.dispose()
        await bystander.dispose()
        await role.drop()
        await drop_database("postgres", db, schema)
    async with (admin := Database(POSTGRES_URL)).engine.connect() as conn:
        roles = await conn.scalar(
            text("SELECT count(*) FROM pg_roles WHERE rolname = :r"), {"r": role.name}
        )
    await admin.dispose()
    assert roles == 0


async def test_sqlite_write_lock_holds_other_writers_out(tmp_path: Path) -> None:
    db, _ = await make_database("sqlite", tmp_path)
    await db.dispose()
    path = tmp_path / "test.db"
    with hold_write_lock(path, 1.0) as held:
        assert held.is_set()
        other = sqlite3.connect(path, timeout=0.1, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        assert other.execute("SELECT count(*) FROM outbox").fetchone() == (0,)  # reads go on
    other.execute("BEGIN IMMEDIATE")  # released
    other.execute("ROLLBACK")
    other.close()
