"""Each office's working calendar: the government calendar with the office's own days.

The government calendar (the ``holidays`` package and data/holidays.yaml) is shared and
built once per fiscal year by :meth:`AppContext.calendar`; an office's additions and
removals (the ``office_day`` rows) are read in the unit of work that needs them, so a
change made from the command line or in chat applies at once, in every process.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.schedule.workdays import NO_CHANGES, DayChanges, WorkCalendar
from bot.services.context import AppContext
from bot.store.models import OfficeDay

OFF = "off"  # a day off the office adds
WORK = "work"  # a listed day off the office works


def _changes(rows: Iterable[OfficeDay]) -> DayChanges:
    off, work = [], []
    for r in sorted(rows, key=lambda r: r.day):
        if r.kind == OFF:
            off.append((r.day, r.name))
        else:
            work.append(r.day)
    return DayChanges(off=tuple(off), work=tuple(work)) if off or work else NO_CHANGES


async def office_changes(session: AsyncSession, org_id: int) -> DayChanges:
    return _changes(await session.scalars(select(OfficeDay).where(OfficeDay.org_id == org_id)))


async def changes_by_office(
    session: AsyncSession, org_ids: list[int] | None = None
) -> dict[int, DayChanges]:
    """The changes of the listed offices (None: all), in one query; offices without any
    are left out."""
    q = select(OfficeDay)
    if org_ids is not None:
        q = q.where(OfficeDay.org_id.in_(org_ids))
    rows: dict[int, list[OfficeDay]] = defaultdict(list)
    for r in await session.scalars(q):
        rows[r.org_id].append(r)
    return {org_id: _changes(rs) for org_id, rs in rows.items()}


@dataclass(frozen=True)
class OfficeCalendar:
    """One office's calendar, for any fiscal year: ``cal(fy)``."""

    ctx: AppContext
    changes: DayChanges = NO_CHANGES

    def __call__(self, fy: int | None = None) -> WorkCalendar:
        return self.ctx.calendar(fy, self.changes)


async def office_calendar(session: AsyncSession, ctx: AppContext, org_id: int) -> OfficeCalendar:
    return OfficeCalendar(ctx, await office_changes(session, org_id))
