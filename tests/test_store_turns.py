"""SQLite: a process's units of work take turns in arrival order, so one that arrives
while a long run of others (a national tick) commits and begins again is next, not
starved by SQLite's busy handler (issue 12: a press answered during the tick)."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from bot.store.db import Database


async def test_a_unit_of_work_waits_only_for_the_one_ahead_of_it(sqlite_db: Database) -> None:
    db = sqlite_db
    order: list[str] = []
    started = asyncio.Event()

    async def hog() -> None:
        for i in range(30):  # back to back, as the tick's batches are
            async with db.transaction() as s:
                await s.execute(text("SELECT 1"))
                order.append(f"tick{i}")
                started.set()

    async def press() -> None:
        await started.wait()
        async with db.transaction() as s:
            await s.execute(text("SELECT 1"))
            order.append("press")

    await asyncio.gather(hog(), press())
    assert order.index("press") <= order.index("tick0") + 2  # next in line, not 30th


async def test_a_unit_of_work_inside_another_is_not_queued_behind_itself(
    sqlite_db: Database,
) -> None:
    async with sqlite_db.transaction():  # the same task: no deadlock on its own turn
        async with asyncio.timeout(5):
            async with sqlite_db.transaction() as inner:
                assert (await inner.scalar(text("SELECT 2"))) == 2
