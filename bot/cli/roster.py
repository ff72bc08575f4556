"""The database, the offices and the roster (who holds which role)."""

from __future__ import annotations

import argparse
from datetime import datetime, time
from typing import TYPE_CHECKING

from bot.catalogue.loader import load_catalogue
from bot.catalogue.schema import Measure
from bot.cli.base import (
    in_context,
    write_err,
    write_out,
)
from bot.cli.catalogue import read_catalogue
from bot.cli.errors import PROG, CliError, safe_url
from bot.clock import Clock
from bot.config import Settings
from bot.domain.fiscal import fiscal_year
from bot.domain.thai import be_iso
from bot.services.context import AppContext

if TYPE_CHECKING:
    pass


@in_context(create=True)
async def cmd_db_upgrade(args: argparse.Namespace, ctx: AppContext) -> int:
    from bot.store.migrate import current_revision

    write_err(
        f"database at revision {await current_revision(ctx.db)} ({safe_url(ctx.settings.database_url)})"
    )
    return 0


def cmd_org_init(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    from bot.services.materialise import materialise
    from bot.services.org import catalogue_for, init_org
    from bot.store import repo

    load_catalogue(settings.catalogue_file)  # a broken catalogue stops us before the database

    @in_context(create=True)
    async def go(args: argparse.Namespace, ctx: AppContext) -> int:
        now = clock.now()
        since = None
        if args.track_from:
            since = datetime.combine(args.track_from, time(0), tzinfo=settings.tz)
        measures: tuple[Measure, ...] | None = None
        if args.no_measures:
            measures = ()
        elif args.measures:
            measures = read_catalogue(args.measures).measures
        async with ctx.db.transaction() as s:
            first = await repo.default_org(s)
            if first is not None and not args.another:
                raise CliError(
                    f"there is an office already (#{first.id} {first.name}) — `{PROG} org list` "
                    "shows them; to add another office to this database, give --another"
                )
            org = await init_org(s, ctx, args.name, now, tracking_since=since, measures=measures)
            org_id, default = org.id, org.is_default
            own = await catalogue_for(s, ctx, org_id, fiscal_year(now.astimezone(ctx.tz).date()))
            activities = len(own.activities) if own else 0
        stats = await materialise(ctx, now, org_ids=[org_id])
        write_out(
            f"office #{org_id} {args.name!r} created{' (the default office)' if default else ''}; "
            f"fiscal years {', '.join(map(str, stats.fiscal_years))}: {stats.created} occurrences, "
            f"{stats.before_tracking} before tracking; its own measures: {activities} activities\n"
        )
        return 0

    return go(args, settings, clock)


@in_context()
async def cmd_org_list(args: argparse.Namespace, ctx: AppContext) -> int:
    from bot.services.org import list_orgs

    async with ctx.db.transaction() as s:
        offices = await list_orgs(s)
    write_out("id\tname\tdefault\ttracking since\tpeople\n")
    for org, people in offices:
        since = be_iso(org.tracking_since.astimezone(ctx.settings.tz).date())
        default = "default" if org.is_default else "-"
        write_out(f"{org.id}\t{org.name}\t{default}\t{since}\t{people}\n")
    return 0


@in_context()
async def cmd_org_include_past(args: argparse.Namespace, ctx: AppContext) -> int:
    from bot.services.org import get_org, include_before_tracking

    async with ctx.db.transaction() as s:
        org = await get_org(s)
        n = await include_before_tracking(s, ctx, org, ctx.clock.now())
    write_out(
        f"{n} occurrences from before tracking are now tracked (and overdue ones will be reminded)\n"
    )
    return 0


@in_context()
async def cmd_people_add(args: argparse.Namespace, ctx: AppContext) -> int:
    from bot.services.org import current_catalogue, get_org
    from bot.services.people import add_person, resolve_role

    async with ctx.db.transaction() as s:
        org = await get_org(s)
        cat = await current_catalogue(s, ctx, org.id)
        role = resolve_role(cat, args.role) if args.role else None
        p = await add_person(
            s,
            org,
            name=args.name,
            now=ctx.clock.now(),
            telegram_id=args.telegram_id,
            role_key=role.key if role else None,
            is_admin=args.admin,
        )
        write_out(
            f"person #{p.id} {p.name}" + (f" holds {role.name} ({role.key})" if role else "") + "\n"
        )
    return 0


@in_context()
async def cmd_people_list(args: argparse.Namespace, ctx: AppContext) -> int:
    from bot.services.access import is_deployment_admin
    from bot.services.org import current_catalogue, get_org
    from bot.services.people import roster

    async with ctx.db.transaction() as s:
        org = await get_org(s)
        lines = await roster(s, org, ctx.clock.now())
        names = {r.key: r.name for r in (await current_catalogue(s, ctx, org.id)).roles}
    write_out("id\ttelegram\tname\troles\tstatus\n")
    for ln in lines:
        p = ln.person
        status = (
            ("deployment admin " if is_deployment_admin(ctx, p) else "")
            + ("admin " if p.is_admin else "")
        ) + ("active" if p.active else f"inactive: {p.inactive_reason}")
        tg = "-" if p.telegram_user_id is None else str(p.telegram_user_id)
        roles = ", ".join(names.get(k, k) for k in ln.roles) or "-"
        write_out(f"{p.id}\t{tg}\t{p.name}\t{roles}\t{status}\n")
    return 0


@in_context()
async def cmd_people_assign(args: argparse.Namespace, ctx: AppContext) -> int:
    from bot.services.org import current_catalogue, get_org
    from bot.services.people import assign_role, find_person, resolve_role, unassign_role

    async with ctx.db.transaction() as s:
        org = await get_org(s)
        cat = await current_catalogue(s, ctx, org.id)
        role = resolve_role(cat, args.role)
        person = await find_person(s, org, args.person)
        if args.remove:
            n = await unassign_role(s, person, role.key, ctx.clock.now())
            write_out(
                f"{person.name} no longer holds {role.name}\n"
                if n
                else f"{person.name} did not hold {role.name}\n"
            )
            return 0
        await assign_role(s, org, person, role.key, ctx.clock.now(), replace=args.replace)
        write_out(
            f"{person.name} now holds {role.name}"
            + (" (and nobody else does)" if args.replace else "")
            + "\n"
        )
    return 0


@in_context()
async def cmd_people_deactivate(args: argparse.Namespace, ctx: AppContext) -> int:
    from bot.services.org import get_org
    from bot.services.people import deactivate, find_person

    async with ctx.db.transaction() as s:
        org = await get_org(s)
        person = await find_person(s, org, args.person)
        await deactivate(s, person, ctx.clock.now(), args.reason)
        write_out(f"{person.name} is inactive: no more messages\n")
    return 0
