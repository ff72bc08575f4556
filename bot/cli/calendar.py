"""The calendar of deadlines and the office's own days off."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from bot.catalogue.loader import load_catalogue
from bot.cli.base import (
    in_context,
    write_err,
    write_out,
)
from bot.clock import Clock
from bot.config import Settings
from bot.domain.fiscal import fiscal_year
from bot.domain.thai import normalise_digits
from bot.services.context import AppContext

if TYPE_CHECKING:
    from bot.schedule.workdays import DayChanges


def cmd_calendar(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    from bot.calendar_export import calendar_for, fiscal_year_rows, to_csv, to_ics, to_table
    from bot.holiday_table import load_holiday_table

    catalogue = load_catalogue(args.catalogue or settings.catalogue_file)
    fy = args.fy or fiscal_year(clock.now().astimezone(settings.tz).date())
    role_key = None
    if args.role:
        role = catalogue.find_role(args.role)
        if role is None:
            known = ", ".join(f"{r.key} ({r.name})" for r in catalogue.roles)
            write_err(f"unknown role {args.role!r}; known roles: {known}")
            return 2
        role_key = role.key
    item = normalise_digits(args.item).strip().upper() if args.item else None
    if item and catalogue.item(item) is None and catalogue.activity(item) is None:
        write_err(
            f"unknown item {args.item!r}: use O1..O{len(catalogue.items)} or an activity such as M1.1"
        )
        return 2
    rows = fiscal_year_rows(
        catalogue,
        fy,
        settings.schedule,
        role=role_key,
        item=item,
        cal=calendar_for(
            fy,
            load_holiday_table(settings.holidays_file),
            settings.extra_holidays,
            _default_office_changes(settings, clock),
        ),
    )
    if args.format == "csv":
        write_out(to_csv(rows))
    elif args.format == "table":
        write_out(to_table(rows, fy, thai_digits=settings.thai_digits))
    else:
        stamp = clock.now()
        by_role: dict[str, list] = {}  # type: ignore[type-arg]
        for r in rows:
            by_role.setdefault(r.role_key, []).append(r)
        if args.out is None and role_key is not None:
            write_out(
                to_ics(by_role.get(role_key, []), catalogue.role(role_key).name, fy, stamp=stamp)
            )
            return 0
        out_dir = Path(args.out or f"calendar-{fy}")
        out_dir.mkdir(parents=True, exist_ok=True)
        for key, role_rows in sorted(by_role.items()):
            path = out_dir / f"{key}.ics"
            path.write_text(
                to_ics(role_rows, catalogue.role(key).name, fy, stamp=stamp),
                encoding="utf-8",
                newline="",
            )
            write_err(f"wrote {path} ({len(role_rows)} events)")
    return 0


def _default_office_changes(settings: Settings, clock: Clock) -> DayChanges:
    """The default office's own days off, if the configured database has an office (the
    calendar also works without a database: then the government calendar alone)."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.schedule.workdays import NO_CHANGES
    from bot.services.calendars import office_changes
    from bot.store import repo

    path = settings.sqlite_path()
    if path is not None and not path.exists():
        return NO_CHANGES

    async def go() -> DayChanges:
        from bot.app import build_context

        ctx = build_context(settings, clock)
        try:
            async with ctx.db.transaction() as s:
                org = await repo.default_org(s)
                return NO_CHANGES if org is None else await office_changes(s, org.id)
        finally:
            await ctx.db.dispose()

    try:
        return asyncio.run(go())
    except (SQLAlchemyError, OSError) as exc:
        write_err(f"note: the office's own days off are left out ({type(exc).__name__})")
        return NO_CHANGES


async def _holiday_change(args: argparse.Namespace, ctx: AppContext, add: bool) -> int:
    from bot.fmt import Fmt
    from bot.services.holidays import HolidayError, add_day_off, change_text, remove_day_off
    from bot.services.org import get_org

    fmt = Fmt.of(ctx.settings)
    try:
        async with ctx.db.transaction() as s:
            org = await get_org(s)
            if add:
                change = await add_day_off(s, ctx, org, args.date, args.name, ctx.clock.now())
            else:
                change = await remove_day_off(s, ctx, org, args.date, ctx.clock.now())
    except HolidayError as exc:
        write_err(f"error: {exc}")
        return 1
    write_out(change_text(fmt, change) + "\n")
    return 0


@in_context()
async def cmd_holidays_add(args: argparse.Namespace, ctx: AppContext) -> int:
    return await _holiday_change(args, ctx, add=True)


@in_context()
async def cmd_holidays_remove(args: argparse.Namespace, ctx: AppContext) -> int:
    return await _holiday_change(args, ctx, add=False)


@in_context()
async def cmd_holidays_list(args: argparse.Namespace, ctx: AppContext) -> int:
    from bot.fmt import Fmt
    from bot.services.holidays import list_days_off, list_text
    from bot.services.org import get_org

    fy = args.fy or fiscal_year(ctx.today())
    async with ctx.db.transaction() as s:
        org = await get_org(s)
        days = await list_days_off(s, ctx, org, fy)
        name = org.name
    fmt = Fmt.of(ctx.settings)
    write_out(list_text(fmt, name, days) + "\n")
    return 0
