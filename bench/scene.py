"""The busiest day of the fiscal year, and the national database as it stands that morning.

Offices are assumed to work on time: each stage is done on its deadline (after that
day's 09:00 reminder), so on the morning of day *D* an occurrence's current stage is
the first one whose deadline is on or after *D*, and it is due for a reminder at 09:00
if *D* is one of that stage's reminder days (7 days before, 1 day before, the day).
Every office has the same plan, so the busiest day is found from the plan alone: the
working day at 09:00 Bangkok with the most due stages.

:func:`set_scene` then moves every office's occurrences to that morning with one
``UPDATE … FROM`` (the bot's own transitions would take hours at national scale).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import Column, Date, MetaData, String, Table, func, insert, select, update

from bench.common import BenchDatabase
from bot.domain import OccStatus
from bot.domain.fiscal import fy_end, fy_start
from bot.schedule.reminders import first_slot_on_or_after, reminder_slots, slot_instant
from bot.schedule.rules import PlannedOccurrence, StageDeadline, plan_fiscal_year
from bot.services.context import AppContext
from bot.store.models import Occurrence, UTCDateTime

#: When a stage is done on its deadline day (local time), after the 09:00 reminder.
DONE_AT = time(16, 0)


def plan_of(ctx: AppContext, fy: int) -> list[PlannedOccurrence]:
    text, sha = ctx.configured_catalogue_text()
    return plan_fiscal_year(ctx.catalogue_from_text(sha, text), fy, ctx.calendar(fy), ctx.policy)


def current_stage(p: PlannedOccurrence, day: date) -> StageDeadline | None:
    """The open stage on the morning of ``day`` if every stage is done on its deadline."""
    return next((s for s in p.stages if s.due >= day), None)


def is_due(ctx: AppContext, p: PlannedOccurrence, day: date) -> bool:
    stage = current_stage(p, day)
    if stage is None:
        return False
    cal = ctx.calendar(p.fiscal_year)
    return first_slot_on_or_after(stage.due, day, cal, ctx.policy, ctx.tz).day == day


@dataclass
class BusiestDay:
    day: date
    at: datetime  # 09:00 Bangkok, in UTC
    stages_per_org: int  # stages due that morning, in our design
    naive_slots_per_org: int  # jobs firing that morning, in the naive design
    ranking: list[tuple[date, int]] = field(default_factory=list)


def busiest_day(ctx: AppContext, fy: int) -> BusiestDay:
    plan = plan_of(ctx, fy)
    cal = ctx.calendar(fy)
    counts: list[tuple[date, int]] = []
    day = fy_start(fy)
    while day <= fy_end(fy):
        if cal.is_working_day(day):
            counts.append((day, sum(is_due(ctx, p, day) for p in plan)))
        day += timedelta(days=1)
    counts.sort(key=lambda dc: (-dc[1], dc[0]))
    best, n = counts[0]
    naive = sum(
        s.day == best
        for p in plan
        for st in p.stages
        for s in reminder_slots(st.due, cal, ctx.policy, ctx.tz, until=st.due)
    )
    return BusiestDay(best, slot_instant(best, ctx.policy, ctx.tz), n, naive, counts[:5])


def _scene_row(ctx: AppContext, p: PlannedOccurrence, day: date) -> dict[str, Any]:
    cal = ctx.calendar(p.fiscal_year)
    stage = current_stage(p, day)
    row: dict[str, Any] = {"code": p.code, "period_key": p.period.key}
    if stage is None:  # every stage done, the last one on its deadline
        last = p.stages[-1].due
        row.update(
            stage="done",
            status=OccStatus.DONE.value,
            current_role=None,
            current_due=None,
            next_remind_at=None,
            completed_at=datetime.combine(last, DONE_AT, tzinfo=ctx.tz).astimezone(UTC),
        )
        return row
    index = p.stages.index(stage)
    started = (
        datetime.combine(p.stages[index - 1].due, DONE_AT, tzinfo=ctx.tz).astimezone(UTC)
        if index
        else None
    )
    row.update(
        stage=stage.stage.value,
        status=OccStatus.OPEN.value,
        current_role=stage.role,
        current_due=stage.due,
        next_remind_at=first_slot_on_or_after(stage.due, day, cal, ctx.policy, ctx.tz).at,
        completed_at=None,
        stage_started_at=started,
    )
    return row


async def set_scene(bench: BenchDatabase, ctx: AppContext, fy: int, day: date) -> int:
    """Move every office's occurrences of ``fy`` to the morning of ``day``; returns the
    number of stages due at 09:00 (what the tick will claim)."""
    meta = MetaData()
    scene = Table(
        "bench_scene",
        meta,
        Column("code", String(16), primary_key=True),
        Column("period_key", String(32), primary_key=True),
        Column("stage", String(16)),
        Column("status", String(20)),
        Column("current_role", String(64)),
        Column("current_due", Date),
        Column("next_remind_at", UTCDateTime()),
        Column("stage_started_at", UTCDateTime()),
        Column("completed_at", UTCDateTime()),
    )
    rows = [{"stage_started_at": None, **_scene_row(ctx, p, day)} for p in plan_of(ctx, fy)]
    occ = cast(Table, Occurrence.__table__)
    async with bench.db.engine.begin() as conn:
        await conn.run_sync(meta.create_all)
    try:
        async with bench.db.transaction() as s:
            await s.execute(insert(scene), rows)
            await s.execute(
                update(occ)
                .where(
                    occ.c.fiscal_year == fy,
                    occ.c.code == scene.c.code,
                    occ.c.period_key == scene.c.period_key,
                )
                .values(
                    stage=scene.c.stage,
                    status=scene.c.status,
                    current_role=scene.c.current_role,
                    current_due=scene.c.current_due,
                    next_remind_at=scene.c.next_remind_at,
                    stage_started_at=func.coalesce(
                        scene.c.stage_started_at, occ.c.stage_started_at
                    ),
                    completed_at=scene.c.completed_at,
                )
            )
    finally:
        async with bench.db.engine.begin() as conn:
            await conn.run_sync(meta.drop_all)
    at = datetime.combine(day, ctx.policy.reminder_time, tzinfo=ctx.tz).astimezone(UTC)
    async with bench.db.transaction() as s:
        due = await s.scalar(
            select(func.count()).select_from(occ).where(occ.c.next_remind_at <= at)
        )
    return int(due or 0)
