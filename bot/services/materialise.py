"""Materialisation: the catalogue's occurrences of a fiscal year become rows.

Idempotent: running it again creates nothing new.  The current and the next fiscal
year are kept materialised, so the next year appears by itself before 1 October.

Each office plans each fiscal year from the catalogue it adopted for that year
(``python -m bot catalogue adopt``); the configured catalogue is only the default for
a year not adopted yet, and adopting it then pins it.  What is stored is compared with
the plan by bot.services.reconcile (history kept, completed stages never touched); the
plan's rows come from bot.services.yearplan.  Rows due before the office started
tracking are stored as history but never reminded ("before tracking").

In bulk: a batch of offices is one transaction of a fixed number of statements (the
offices, their adoptions and their stored rows read in one query each; one
``executemany`` of new rows, one per kind of update, one of history), whatever the
number of offices in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.fiscal import fiscal_year
from bot.schedule.workdays import NO_CHANGES, DayChanges
from bot.services.bulkinsert import collect_rows, insert_batch
from bot.services.calendars import changes_by_office
from bot.services.context import AppContext
from bot.services.reconcile import (
    MaterialiseStats,
    Writes,
    acted_on,
    reconcile,
    retiring,
)
from bot.services.storedrows import Stored
from bot.services.yearplan import Templates, YearPlan
from bot.store.models import Occurrence, Organisation, OrgCatalogue

__all__ = ["BATCH", "MaterialiseStats", "materialise", "replan_office"]

#: Offices per transaction: the per-transaction cost is shared, and SQLite's write lock is
#: still held for well under a second (a tick or a press waits at most that long).
BATCH = 100


@dataclass(frozen=True)
class _Office:
    id: int
    tracking: date  # the day tracking started, in the bot's time zone
    include_before_tracking: bool


async def _offices(session: AsyncSession, ctx: AppContext, ids: Sequence[int]) -> list[_Office]:
    org = Organisation.__table__.c
    rows = await session.execute(
        select(org.id, org.tracking_since, org.include_before_tracking)
        .where(org.id.in_(ids))
        .order_by(org.id)
    )
    return [_Office(i, t.astimezone(ctx.tz).date(), bool(inc)) for i, t, inc in rows]


async def _adoptions(
    session: AsyncSession, ids: Sequence[int], years: Sequence[int]
) -> dict[tuple[int, int], int]:
    oc = OrgCatalogue.__table__.c
    rows = await session.execute(
        select(oc.org_id, oc.fiscal_year, oc.catalogue_id).where(
            oc.org_id.in_(ids), oc.fiscal_year.in_(years)
        )
    )
    return {(o, y): c for o, y, c in rows}


class _Batch:
    """One transaction's offices: plans resolved, stored rows read, writes collected."""

    def __init__(
        self, session: AsyncSession, ctx: AppContext, templates: Templates, stored: Stored
    ) -> None:
        self.session, self.ctx, self.templates, self.stored = session, ctx, templates, stored
        self.writes = Writes(templates.now)
        self.insert = templates.insert(session)
        self.params: list[tuple[Any, ...]] = []
        self.stats = MaterialiseStats()

    async def plan(
        self, org_id: int, fy: int, adopted: int | None, changes: DayChanges
    ) -> YearPlan:
        t, s = self.templates, self.session
        version, catalogue = await (t.version(s, adopted) if adopted else t.default(s, org_id, fy))
        planned = t.plan(version, catalogue, fy, changes)
        cal = self.ctx.calendar(fy, changes)
        return YearPlan(version, catalogue, planned, cal, changes, fy, self.ctx.tz)

    def office_year(
        self, office: _Office, plan: YearPlan, rows: list[Row[Any]], acted: set[int]
    ) -> None:
        """Reconcile what is stored (if anything) and add the plan's missing rows."""
        have: set[tuple[str, str]] = set()
        templates = self.templates.rows(plan.version, plan.catalogue, plan.fy, plan.changes)
        if rows:
            stats, have = reconcile(
                self.ctx, self.stored, rows, plan, templates, acted, self.writes
            )
            self.stats.add(stats)
        missing = [t for t in templates if (t["code"], t["period_key"]) not in have]
        created, before = collect_rows(
            self.insert,
            office.id,
            office.include_before_tracking,
            office.tracking,
            missing,
            self.params,
        )
        self.stats.created += created
        self.stats.before_tracking += before

    async def run(
        self,
        plans: dict[tuple[int, int], YearPlan],
        offices: list[_Office],
        stored: dict[tuple[int, int], list[Row[Any]]] | None = None,
    ) -> None:
        """Every (office, year) of ``plans``: a fixed number of statements in all."""
        if stored is None:
            years = sorted({y for _, y in plans})
            stored = await self.stored.read(self.session, [o.id for o in offices], years)
        candidates = [
            i
            for key, rows in stored.items()
            if key in plans
            for i in retiring(self.stored, rows, plans[key].version)
        ]
        acted = await acted_on(self.session, candidates) if candidates else set()
        by_id = {o.id: o for o in offices}
        for (org_id, fy), plan in plans.items():
            self.office_year(by_id[org_id], plan, stored.get((org_id, fy), []), acted)
        await self.writes.apply(self.session)
        await insert_batch(self.session, self.insert, self.params)
        self.params = []


async def _materialise_batch(
    ctx: AppContext,
    templates: Templates,
    stored: Stored,
    ids: Sequence[int],
    years: Sequence[int],
    calendars: dict[int, DayChanges],
) -> MaterialiseStats:
    async with ctx.db.transaction() as s:
        batch = _Batch(s, ctx, templates, stored)
        offices = await _offices(s, ctx, ids)
        adopted = await _adoptions(s, ids, years)
        plans = {
            (o.id, y): await batch.plan(
                o.id, y, adopted.get((o.id, y)), calendars.get(o.id, NO_CHANGES)
            )
            for o in offices
            for y in years
        }
        await batch.run(plans, offices)
    batch.stats.orgs = len(offices)
    return batch.stats


async def materialise(
    ctx: AppContext,
    now: datetime,
    *,
    org_ids: list[int] | None = None,
    fiscal_years: list[int] | None = None,
    batch: int = BATCH,
) -> MaterialiseStats:
    """The daily job: the current and next fiscal year of every office, ``batch`` offices
    per transaction, each year from the catalogue the office adopted for it."""
    fy = fiscal_year(now.astimezone(ctx.tz).date())
    years = fiscal_years or [fy, fy + 1]
    total = MaterialiseStats(fiscal_years=years)
    templates, stored = Templates(ctx, now), Stored(ctx.db.engine.dialect)
    async with ctx.db.transaction() as s:
        ids = org_ids or list(await s.scalars(select(Organisation.id).order_by(Organisation.id)))
        calendars = await changes_by_office(s, org_ids)
    for i in range(0, len(ids), batch):
        stats = await _materialise_batch(
            ctx, templates, stored, ids[i : i + batch], years, calendars
        )
        total.add(stats)
        total.orgs += stats.orgs
    return total


async def replan_office(
    session: AsyncSession, ctx: AppContext, org: Organisation, years: list[int], now: datetime
) -> MaterialiseStats:
    """Re-plan, in this unit of work, the open stages of an office's fiscal ``years`` on
    its calendar as it is now (after a change of its days off), each year with the
    catalogue the office adopted for it.  Years it has no occurrences of are left alone."""
    changes = (await changes_by_office(session, [org.id])).get(org.id, NO_CHANGES)
    adopted = await _adoptions(session, [org.id], years)
    batch = _Batch(session, ctx, Templates(ctx, now), Stored(session.get_bind().dialect))
    stored = await batch.stored.read(session, [org.id], years)
    plans = {
        (org.id, fy): await batch.plan(org.id, fy, adopted[(org.id, fy)], changes)
        for fy in years
        if (org.id, fy) in adopted and stored.get((org.id, fy))
    }
    await batch.run(plans, await _offices(session, ctx, [org.id]), stored)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Occurrence):  # written past the ORM: read again when next used
            session.expire(obj)
    batch.stats.fiscal_years = [fy for _, fy in plans]
    return batch.stats
