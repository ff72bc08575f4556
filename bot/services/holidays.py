"""An office's own days off: add one, work on a listed one, list a fiscal year's.

The government calendar (bot.schedule.workdays, data/holidays.yaml) is every office's;
each office adds its own days off (a provincial holiday, a special day the cabinet
announced, this year's วันพืชมงคล) and removes listed ones it works (the cabinet
cancelled it).  A change re-plans at once, in the same unit of work, the open stages of
the fiscal years the day can move; whoever's current deadline moved hears it in the
next reminder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.fiscal import fiscal_year, fy_end, fy_start
from bot.domain.thai import MONTH_FULL, be_iso, be_year
from bot.fmt import Fmt
from bot.schedule.workdays import AnnouncedDayOff, missing_announced
from bot.services.calendars import OFF, WORK, office_changes
from bot.services.context import AppContext
from bot.services.materialise import replan_office
from bot.store.models import OfficeDay, Organisation
from bot.texts import tr

MAX_NAME = 100
DEFAULT_NAME = "วันหยุดของหน่วยงาน"


class HolidayError(ValueError):
    """A change that cannot be made; ``reason`` names its text (``holidays.err.<reason>``)."""

    def __init__(self, reason: str, day: date, name: str = "") -> None:
        self.reason, self.day, self.name = reason, day, name
        super().__init__(tr("en", f"holidays.err.{reason}", day=be_iso(day), name=name, n=MAX_NAME))


@dataclass(frozen=True)
class HolidayChange:
    day: date
    action: str  # added | restored (a worked day off is off again) | removed | worked
    name: str
    moved: int  # occurrences whose deadlines moved


@dataclass(frozen=True)
class DayOff:
    day: date
    name: str
    own: bool  # the office's own addition (else the government calendar's)


@dataclass
class HolidayList:
    fy: int
    days_off: list[DayOff] = field(default_factory=list)
    worked: list[tuple[date, str]] = field(default_factory=list)  # listed days off worked
    missing: list[tuple[AnnouncedDayOff, int]] = field(default_factory=list)


def affected_years(day: date) -> list[int]:
    """The fiscal years whose deadlines ``day`` can move (rules may reach across 1 Oct)."""
    fy = fiscal_year(day)
    return [fy - 1, fy, fy + 1]


async def _apply(
    session: AsyncSession,
    ctx: AppContext,
    org: Organisation,
    day: date,
    action: str,
    name: str,
    now: datetime,
) -> HolidayChange:
    await session.flush()
    stats = await replan_office(session, ctx, org, affected_years(day), now)
    return HolidayChange(day, action, name, stats.rescheduled)


async def add_day_off(
    session: AsyncSession,
    ctx: AppContext,
    org: Organisation,
    day: date,
    name: str | None,
    now: datetime,
    *,
    actor_id: int | None = None,
) -> HolidayChange:
    """``day`` is a day off for this office (again, if it had worked a listed one)."""
    name = " ".join((name or "").split()) or DEFAULT_NAME
    if len(name) > MAX_NAME:
        raise HolidayError("name", day)
    listed = ctx.calendar(fiscal_year(day)).holiday_name(day)
    row = await session.get(OfficeDay, (org.id, day))
    if row is not None and row.kind == WORK:
        await session.delete(row)
        return await _apply(session, ctx, org, day, "restored", listed or row.name, now)
    if row is not None:
        raise HolidayError("already_off", day, row.name)
    if listed is not None:
        raise HolidayError("listed", day, listed)
    if day.weekday() >= 5:
        raise HolidayError("weekend", day)
    session.add(
        OfficeDay(org_id=org.id, day=day, kind=OFF, name=name, created_by=actor_id, created_at=now)
    )
    return await _apply(session, ctx, org, day, "added", name, now)


async def remove_day_off(
    session: AsyncSession,
    ctx: AppContext,
    org: Organisation,
    day: date,
    now: datetime,
    *,
    actor_id: int | None = None,
) -> HolidayChange:
    """``day`` is a working day for this office: its own day off dropped, or a listed
    day off worked."""
    row = await session.get(OfficeDay, (org.id, day))
    if row is not None and row.kind == OFF:
        await session.delete(row)
        return await _apply(session, ctx, org, day, "removed", row.name, now)
    if row is not None:
        raise HolidayError("already_worked", day)
    listed = ctx.calendar(fiscal_year(day)).holiday_name(day)
    if listed is None:
        raise HolidayError("not_off", day)
    if day.weekday() >= 5:
        raise HolidayError("weekend", day)
    session.add(
        OfficeDay(
            org_id=org.id,
            day=day,
            kind=WORK,
            name=listed[:200],
            created_by=actor_id,
            created_at=now,
        )
    )
    return await _apply(session, ctx, org, day, "worked", listed, now)


async def list_days_off(
    session: AsyncSession, ctx: AppContext, org: Organisation, fy: int
) -> HolidayList:
    """The office's days off in fiscal year ``fy``, the listed ones it works, and the
    yearly announced days off (วันพืชมงคล) not known yet."""
    changes = await office_changes(session, org.id)
    base, cal = ctx.calendar(fy), ctx.calendar(fy, changes)
    start, end = fy_start(fy), fy_end(fy)
    own = {d for d, _ in changes.off}
    return HolidayList(
        fy=fy,
        days_off=[DayOff(d, n, d in own) for d, n in cal.holidays_between(start, end)],
        worked=[(d, base.holiday_name(d) or "") for d in changes.work if start <= d <= end],
        missing=missing_announced(ctx.holiday_rules, cal, start, end),
    )


# -- in words (chat and the command line) -------------------------------------------------------


def list_text(fmt: Fmt, org_name: str, hl: HolidayList) -> str:
    lines = [fmt.t("holidays.header", org=org_name, fy=fmt.num(hl.fy)), ""]
    for d in hl.days_off:
        own = fmt.t("holidays.own") if d.own else ""
        lines.append(fmt.t("holidays.line", date=fmt.date(d.day), name=d.name + own))
    if not hl.days_off:
        lines.append(fmt.t("holidays.none"))
    if hl.worked:
        lines += ["", fmt.t("holidays.worked_header")]
        lines += [fmt.t("holidays.line", date=fmt.date(d), name=n) for d, n in hl.worked]
    for a, year in hl.missing:
        month = MONTH_FULL[a.month - 1] if fmt.lang == "th" else str(a.month)
        lines += [
            "",
            fmt.t(
                "holidays.missing",
                name=a.thai if fmt.lang == "th" else a.name,
                year=fmt.num(be_year(year)),
                month=month,
            ),
        ]
    return "\n".join(lines)


def change_text(fmt: Fmt, change: HolidayChange) -> str:
    done = fmt.t(f"holidays.{change.action}", date=fmt.date(change.day), name=change.name)
    moved = (
        fmt.t("holidays.moved", n=fmt.num(change.moved))
        if change.moved
        else fmt.t("holidays.unmoved")
    )
    return f"{done}\n{moved}"
