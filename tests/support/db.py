"""Database fixtures: every store test (marked ``postgres``) runs on SQLite and on the
PostgreSQL at 127.0.0.1:5432; other tests that need a database get SQLite.

PostgreSQL tests use a fresh schema per test, so parallel runs and CI never collide.
Set ``TEST_POSTGRES_URL`` to use another server.  When the server cannot be reached
the PostgreSQL variants are skipped, except under CI (``CI`` or ``REQUIRE_POSTGRES``
set), where that is an error.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import text

from bot.store.db import Database
from bot.store.migrate import upgrade

T = TypeVar("T")

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ("sqlite", "postgres")

_pg_ok: bool | None = None


async def _postgres_reachable() -> bool:
    global _pg_ok
    if _pg_ok is None:
        probe = Database(POSTGRES_URL)
        try:
            async with probe.engine.connect() as conn:
                await conn.execute(text("select 1"))
            _pg_ok = True
        except Exception:
            _pg_ok = False
        finally:
            await probe.dispose()
    return _pg_ok


def _require_postgres() -> bool:
    return bool(os.environ.get("CI") or os.environ.get("REQUIRE_POSTGRES"))


async def make_database(backend: str, tmp_path: Path) -> tuple[Database, str]:
    """A migrated, empty database; returns it and its URL (+ schema for PostgreSQL)."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        db = Database(url)
        await upgrade(db)
        return db, url
    if not await _postgres_reachable():
        if _require_postgres():
            pytest.fail(f"PostgreSQL is required here but {POSTGRES_URL} cannot be reached")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = Database(POSTGRES_URL)
    async with admin.engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    await admin.dispose()
    db = Database(POSTGRES_URL, schema=schema)
    await upgrade(db)
    return db, schema


async def drop_database(backend: str, db: Database, handle: str) -> None:
    await db.dispose()
    if backend == "postgres":
        admin = Database(POSTGRES_URL)
        async with admin.engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{handle}" CASCADE'))
        await admin.dispose()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``db`` is SQLite, and PostgreSQL too where the store is under test (tests marked
    ``postgres``: claims, migrations, queries); elsewhere the second backend adds nothing
    but time."""
    if "db" in metafunc.fixturenames:
        store = metafunc.definition.get_closest_marker("postgres") is not None
        metafunc.parametrize("db", BACKENDS if store else BACKENDS[:1], indirect=True)


@pytest.fixture
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    backend: str = request.param
    database, handle = await make_database(backend, tmp_path)
    database.test_handle = handle  # type: ignore[attr-defined]
    try:
        yield database
    finally:
        await drop_database(backend, database, handle)


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    database, handle = await make_database("sqlite", tmp_path)
    try:
        yield database
    finally:
        await drop_database("sqlite", database, handle)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine from sync code (subprocess helpers)."""
    return asyncio.run(coro)
