"""The set-based tick (issue 12), on SQLite and PostgreSQL: a fixed number of statements per
batch of offices, and a claim that loses to any change made after its read."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from sqlalchemy import Table, event, func, select, update

from bot.services import reminders
from bot.services.materialise import materialise
from bot.services.org import init_org
from bot.services.reminders import remind
from bot.store.db import Database
from bot.store.models import Occurrence, Outbox
from tests.support.rewind import reminder_state, rewind
from tests.support.world import World, staff_world

pytestmark = pytest.mark.postgres  # the store is under test

OCC = cast(Table, Occurrence.__table__)
MORNING = datetime(2026, 12, 16, 2, 0, tzinfo=UTC)  # 09:00 Bangkok, a reminder slot


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """The SQL statements the engine sends meanwhile (an executemany counts once)."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        seen.append(sql.split(None, 1)[0].upper())

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)


async def _offices(w: World, n: int) -> None:
    async with w.ctx.db.transaction() as s:
        for i in range(n):
            await init_org(s, w.ctx, f"อบต.ที่ {i + 2}", w.clock.now())


async def _reminders(db: Database) -> list[tuple[int | None, str]]:
    async with db.transaction() as s:
        rows = await s.execute(select(Outbox.person_id, Outbox.dedupe_key).order_by(Outbox.id))
        return [(p, k) for p, k in rows]


async def test_a_batch_of_offices_costs_the_statements_of_one(db: Database) -> None:
    w = await staff_world(db)
    await _offices(w, 2)  # nobody works there yet: their stages make no messages
    await materialise(w.ctx, w.clock.now())
    occ = OCC.c
    before = await reminder_state(db)
    async with db.transaction() as s:
        await s.execute(  # first the staffed office alone
            update(OCC).where(occ.org_id != w.org.id).values(next_remind_at=None)
        )
    w.clock.set(MORNING)
    with statements(db) as alone:
        stats = await remind(w.ctx, w.clock.now())
    assert stats.orgs == 1 and stats.batches == 1 and stats.messages >= 1
    await rewind(db, before)  # then the same morning again, for all three
    with statements(db) as three:
        again = await remind(w.ctx, w.clock.now())
    assert again.orgs == 3 and again.batches == 1 and again.stages > stats.stages
    assert again.messages == stats.messages == len(await _reminders(db))
    writes = [q for q in three if q != "SELECT"]
    assert writes == [q for q in alone if q != "SELECT"]
    assert writes.count("UPDATE") == writes.count("INSERT") == 1  # one claim, one insert
    async with db.transaction() as s:  # each catalogue is read once a tick, whoever uses it
        catalogues = await s.scalar(select(func.count(func.distinct(occ.catalogue_id))))
    assert len(three) - len(alone) == (catalogues or 0) - 1  # the same statements otherwise


async def test_a_stage_changed_after_the_read_is_read_again_and_reminded_once(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = await staff_world(db)
    await materialise(w.ctx, w.clock.now())
    w.clock.set(MORNING)
    compose = reminders._compose
    presses = 0

    async def compose_then_press(*args: Any) -> Any:
        """Between the read and the claim, someone changes one of the stages read."""
        nonlocal presses
        out = await compose(*args)
        if presses == 0:
            presses += 1
            async with db.transaction() as s:
                await s.execute(
                    update(Occurrence)
                    .where(Occurrence.id == out.claims[0].id)
                    .values(version=Occurrence.version + 1)
                )
        return out

    monkeypatch.setattr(reminders, "_compose", compose_then_press)
    stats = await remind(w.ctx, w.clock.now())
    assert stats.conflicts == 1 and stats.batches == 1 and stats.messages >= 1
    sent = await _reminders(db)
    assert len(sent) == stats.messages  # nothing of the rolled-back attempt is left
    people = [p for p, k in sent if k.startswith("remind:")]
    assert len(people) == len(set(people))  # one reminder per person per slot
    again = await remind(w.ctx, w.clock.now())
    assert again.messages == 0 and again.orgs == 0
    async with db.transaction() as s:
        waiting = await s.scalar(
            select(func.count())
            .select_from(Occurrence)
            .where(Occurrence.next_remind_at <= w.clock.now())
        )
    assert waiting == 0
