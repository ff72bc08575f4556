"""The tick composes ahead of the slot (issue 12), on SQLite and PostgreSQL: at 08:56 the
09:00 reminders are the same rows a tick at 09:00 writes, held in the outbox until 09:00."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from sqlalchemy import Table, select

from bot.services.dispatch import Dispatcher
from bot.services.materialise import materialise
from bot.services.reminders import remind
from bot.store.db import Database
from bot.store.models import Occurrence, Outbox
from tests.support.rewind import reminder_state, rewind
from tests.support.world import World, staff_world

pytestmark = pytest.mark.postgres  # the store is under test

OCC = cast(Table, Occurrence.__table__)
MORNING = datetime(2026, 12, 16, 2, 0, tzinfo=UTC)  # 09:00 Bangkok, a reminder slot
AHEAD = timedelta(minutes=5)
EVE = MORNING - timedelta(hours=15)  # 16:00 the day before: no slot missed since


async def _world(db: Database) -> World:
    w = await staff_world(db)
    await materialise(w.ctx, EVE)  # every stage's next slot after the evening before
    return w


async def _state(db: Database) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    async with db.transaction() as s:
        outbox = await s.execute(
            select(Outbox.dedupe_key, Outbox.chat_id, Outbox.text, Outbox.items).order_by(
                Outbox.dedupe_key
            )
        )
        stages = await s.execute(
            select(OCC.c.id, OCC.c.next_remind_at, OCC.c.escalated_at).order_by(OCC.c.id)
        )
        return [tuple(r) for r in outbox], [tuple(r) for r in stages]


async def _held(w: World) -> list[datetime]:
    async with w.ctx.db.transaction() as s:
        return list(await s.scalars(select(Outbox.next_attempt_at)))


async def test_composed_ahead_the_slots_rows_wait_for_it(db: Database) -> None:
    w = await _world(db)
    before = await reminder_state(db)
    at_slot = await remind(w.ctx, MORNING)  # the reference: composed at 09:00
    assert at_slot.messages >= 2
    expected = await _state(db)
    await rewind(db, before)

    early = MORNING - timedelta(minutes=4)
    ahead = await remind(w.ctx, early, ahead=AHEAD)
    assert ahead.messages == at_slot.messages and ahead.stages == at_slot.stages
    assert await _state(db) == expected  # the same messages, the same next slots
    assert set(await _held(w)) == {MORNING}  # each held until 09:00
    dispatcher = Dispatcher(w.ctx, cast(Any, None))  # the sender's own question
    assert await dispatcher.candidates(MORNING - timedelta(seconds=1)) == []
    assert len(await dispatcher.candidates(MORNING)) == min(
        ahead.messages, w.ctx.settings.dispatch_batch
    )
    assert await dispatcher.next_due() == MORNING  # its sleep ends at the slot
    later = await remind(w.ctx, early + timedelta(minutes=2), ahead=AHEAD)
    assert later.messages == later.stages == 0  # nothing twice


async def test_a_slot_beyond_the_horizon_is_left_for_a_later_tick(db: Database) -> None:
    w = await _world(db)
    stats = await remind(w.ctx, MORNING - timedelta(minutes=6), ahead=AHEAD)  # up to 08:59
    assert stats.messages == stats.stages == 0
    assert await _held(w) == []
    assert (await remind(w.ctx, MORNING - timedelta(minutes=4), ahead=AHEAD)).messages >= 2
