"""Downtime caught up before 09:00, on SQLite and PostgreSQL: the catch-up is that day's
reminder of its stages, and the 09:00 message about the day's other stages still goes.

The ticks are the JobQueue's ``tick`` of the application ``python -m bot run`` builds, on the
world's fake clock, sending to the Bot API emulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from telegram.ext import Application

from bot.services.materialise import materialise
from bot.services.reminders import remind
from bot.store.db import Database
from bot.store.models import Occurrence, Outbox
from tests.support.botapi import BotApiEmulator
from tests.support.rewind import reminder_state, rewind
from tests.support.telegram import running_app
from tests.support.world import World, staff_world

pytestmark = pytest.mark.postgres  # the store is under test

MORNING = datetime(2026, 12, 16, 2, 0, tzinfo=UTC)  # Wednesday 09:00 Bangkok, a slot
MONDAY_EVE = MORNING - timedelta(days=2) + timedelta(hours=7)  # Monday 16:00
EARLY = MORNING - timedelta(minutes=30)  # 08:30: the office opens, the bot is back


App = Application[Any, Any, Any, Any, Any, Any]


async def _tick(w: World, app: App, at: datetime) -> None:
    """The JobQueue's tick, as it fires at ``at``."""
    assert app.job_queue is not None
    [job] = app.job_queue.get_jobs_by_name("tick")
    w.clock.set(at)
    await job.run(app)


async def _reminders(db: Database) -> dict[str, list[int]]:
    async with db.transaction() as s:
        rows = await s.execute(
            select(Outbox.dedupe_key, Outbox.items).where(Outbox.kind == "reminder")
        )
        return {key: list(items or []) for key, items in rows}


async def test_a_catch_up_at_0830_leaves_the_0900_message_its_own_stages(db: Database) -> None:
    w = await staff_world(db)
    await materialise(w.ctx, MONDAY_EVE)
    before = await reminder_state(db)
    await remind(w.ctx, MORNING)  # what 09:00 composes without downtime
    reference = await _reminders(db)
    key, (missed, *others) = next((k, i) for k, i in reference.items() if len(i) >= 2)
    await rewind(db, before)
    async with db.transaction() as s:  # its 09:00 on Tuesday went by while the bot was down
        await s.execute(
            update(Occurrence)
            .where(Occurrence.id == missed)
            .values(next_remind_at=MORNING - timedelta(days=1))
        )
    with BotApiEmulator() as emu:
        async with running_app(w, emu, jobs=True) as app:
            await _tick(w, app, EARLY)
            caught_up = await _reminders(db)
            assert caught_up == {f"{key}T083000": [missed]}  # that person, that stage, at once
            async with db.transaction() as s:
                nxt = await s.scalar(
                    select(Occurrence.next_remind_at).where(Occurrence.id == missed)
                )
            assert nxt is not None and nxt.replace(tzinfo=UTC) > MORNING  # not again today

            await _tick(w, app, MORNING)
            got = await _reminders(db)
            async with db.transaction() as s:
                statuses = list(await s.scalars(select(Outbox.status)))
        arrived = emu.sent_messages()
    assert got[key] == others  # the day's other stages are not dropped as a duplicate
    assert {k: v for k, v in got.items() if k not in caught_up} == {**reference, key: others}
    assert set(statuses) == {"sent"} and len(arrived) == len(statuses)  # all reached Telegram
