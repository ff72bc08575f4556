from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from bot.store.db import Database
from bot.store.migrate import current_revision
from bot.store.models import Base

pytestmark = pytest.mark.postgres  # the migrations


async def test_migrations_create_every_model_table(db: Database) -> None:
    async with db.engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert set(Base.metadata.tables) <= tables
    assert await current_revision(db) is not None


async def test_every_migrated_table_has_a_model(db: Database) -> None:
    """The models are a package of topic modules: importing ``bot.store.models`` registers
    every one of them, so the comparison below (which ignores tables without a model)
    misses none."""
    async with db.engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert tables - {"alembic_version"} == set(Base.metadata.tables)


async def test_migrations_match_the_models(db: Database) -> None:
    """A model changed without a migration would show up here."""

    def diff(conn: Any) -> list[Any]:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return [d for d in compare_metadata(ctx, Base.metadata) if d[0] != "remove_table"]

    async with db.engine.connect() as conn:
        changes = await conn.run_sync(diff)
    assert changes == []
