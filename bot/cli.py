"""``python -m bot``: the command line.  Each subcommand builds what it needs from Settings."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from bot import __version__
from bot.catalogue.loader import CatalogueError, load_catalogue
from bot.catalogue.schema import Catalogue, Measure
from bot.cli_errors import PROG, CliError, explain, load_settings, open_database, safe_url
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.domain.fiscal import fiscal_year
from bot.domain.thai import ThaiDateError, be_iso, normalise_digits, parse_be_year, parse_date
from bot.services.context import AppContext

if TYPE_CHECKING:
    from bot.reports.period_report import Scope
    from bot.schedule.workdays import DayChanges
    from bot.store.db import Database

Command = Callable[[argparse.Namespace, Settings, Clock], int]


def _out(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _err(text: str) -> None:
    sys.stderr.write(text.rstrip("\n") + "\n")


# -- what people type: BE years and dates (Thai digits welcome) -----------------------------


def be_year_arg(text: str) -> int:
    """``--fy 2570``; ``--fy 2026`` is refused with "2026 → did you mean 2569?"."""
    try:
        return parse_be_year(text)
    except ThaiDateError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def be_date_arg(text: str) -> date:
    """``--track-from 2569-10-01`` (BE); a CE date is refused with the BE one suggested."""
    try:
        return parse_date(text)
    except ThaiDateError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def any_date_arg(text: str) -> date:
    """A date in BE (``2570-05-10``) or CE (``2027-05-10``)."""
    try:
        return parse_date(text, ce_ok=True)
    except ThaiDateError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def period_arg(scope: Scope) -> Callable[[str], str]:
    """``--quarter 2570Q1`` (``half``: 2570H1, ``year``: 2570), checked and normalised."""

    def parse(text: str) -> str:
        from bot.reports.period_report import ReportPeriodError, parse_report_period

        try:
            return parse_report_period(text, scope).key
        except ReportPeriodError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


# -- calendar -------------------------------------------------------------------------------


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
            _err(f"unknown role {args.role!r}; known roles: {known}")
            return 2
        role_key = role.key
    item = normalise_digits(args.item).strip().upper() if args.item else None
    if item and catalogue.item(item) is None and catalogue.activity(item) is None:
        _err(
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
        _out(to_csv(rows))
    elif args.format == "table":
        _out(to_table(rows, fy, thai_digits=settings.thai_digits))
    else:
        stamp = clock.now()
        by_role: dict[str, list] = {}  # type: ignore[type-arg]
        for r in rows:
            by_role.setdefault(r.role_key, []).append(r)
        if args.out is None and role_key is not None:
            _out(to_ics(by_role.get(role_key, []), catalogue.role(role_key).name, fy, stamp=stamp))
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
            _err(f"wrote {path} ({len(role_rows)} events)")
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
        _err(f"note: the office's own days off are left out ({type(exc).__name__})")
        return NO_CHANGES


# -- holidays -------------------------------------------------------------------------------


def _holiday_change(args: argparse.Namespace, settings: Settings, clock: Clock, add: bool) -> int:
    from bot.fmt import Fmt
    from bot.services.holidays import HolidayError, add_day_off, change_text, remove_day_off
    from bot.services.org import get_org

    async def go(ctx: AppContext) -> int:
        fmt = Fmt.of(settings)
        try:
            async with ctx.db.transaction() as s:
                org = await get_org(s)
                if add:
                    change = await add_day_off(s, ctx, org, args.date, args.name, clock.now())
                else:
                    change = await remove_day_off(s, ctx, org, args.date, clock.now())
        except HolidayError as exc:
            _err(f"error: {exc}")
            return 1
        _out(change_text(fmt, change) + "\n")
        return 0

    return _run_async(go, settings, clock)


def cmd_holidays_add(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    return _holiday_change(args, settings, clock, add=True)


def cmd_holidays_remove(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    return _holiday_change(args, settings, clock, add=False)


def cmd_holidays_list(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    from bot.fmt import Fmt
    from bot.services.holidays import list_days_off, list_text
    from bot.services.org import get_org

    async def go(ctx: AppContext) -> int:
        fy = args.fy or fiscal_year(ctx.today())
        async with ctx.db.transaction() as s:
            org = await get_org(s)
            days = await list_days_off(s, ctx, org, fy)
            name = org.name
        fmt = Fmt.of(settings)
        _out(list_text(fmt, name, days) + "\n")
        return 0

    return _run_async(go, settings, clock)


# -- catalogue ------------------------------------------------------------------------------


def write_catalogue(out: Path, text: str, *, force: bool, now: datetime) -> str:
    """Write a catalogue file; never over another one without ``force``, and keep a backup."""
    if out.exists():
        old = out.read_text(encoding="utf-8")
        if old == text:
            return f"{out} already holds this catalogue: unchanged"
        if not force:
            raise CatalogueError(
                out, None, "exists and differs: not overwritten (use --force; a backup is kept)"
            )
        backup = out.with_name(f"{out.name}.{now:%Y%m%d-%H%M%S}.bak")
        backup.write_text(old, encoding="utf-8")
        out.write_text(text, encoding="utf-8")
        return f"wrote {out} (the previous one is in {backup})"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return f"wrote {out}"


def _import_workbook(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    """``catalogue import table.xlsx``: the spreadsheet back into catalogue YAML."""
    from bot.catalogue.loader import dump_catalogue
    from bot.catalogue.sheet import read_workbook

    cat = read_workbook(args.file)
    header = (
        f"# Read by `python -m bot catalogue import` from {Path(args.file).name}.\n"
        "# Edit freely; validated on load.\n\n"
    )
    text = dump_catalogue(cat, header=header)
    out = Path(args.out) if args.out else Path("data/catalogue") / f"ita-{cat.fiscal_year}.yaml"
    if str(out) == "-":
        _out(text)
        return 0
    done = write_catalogue(out, text, force=args.force, now=clock.now().astimezone(settings.tz))
    _err(f"{done}: {len(cat.items)} items, {len(cat.activities)} activities")
    return 0


def cmd_catalogue_import(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    from bot.catalogue.importer import DEFAULT_CORRECTIONS, import_seed, plural, render_catalogue
    from bot.catalogue.sheet import is_workbook

    if is_workbook(args.file):
        return _import_workbook(args, settings, clock)
    kwargs = {"aliases": args.aliases} if args.aliases else {}
    corrections = None if args.no_corrections else (args.corrections or DEFAULT_CORRECTIONS)
    result = import_seed(
        args.file,
        corrections=corrections,
        expect_items=args.items if args.items is not None else True,
        **kwargs,
    )
    text = render_catalogue(result)
    out = (
        Path(args.out)
        if args.out
        else Path("data/catalogue") / f"ita-{result.catalogue.fiscal_year}.yaml"
    )
    if str(out) == "-":
        for line in result.report():
            _err(line)
        _out(text)
        return 0
    done = write_catalogue(out, text, force=args.force, now=clock.now().astimezone(settings.tz))
    for line in result.report():  # once the catalogue is out: a refused --out is one line
        _err(line)
    cat = result.catalogue
    _err(
        f"{done}: {len(cat.items)} items, {len(cat.activities)} activities, "
        f"{len(result.fixes)} fixes, {len(result.corrections)} corrections, "
        f"{plural(len(result.warnings), 'warning')}"
    )
    return 0


def cmd_catalogue_export(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    """The catalogue as a spreadsheet (or YAML), to edit and import back."""
    from bot.catalogue.loader import SHIPPED_CATALOGUE, dump_catalogue
    from bot.catalogue.sheet import catalogue_workbook

    source = args.file or settings.catalogue_file or SHIPPED_CATALOGUE
    cat = read_catalogue(str(source))
    data = dump_catalogue(cat).encode("utf-8") if args.format == "yaml" else catalogue_workbook(cat)
    out = Path(args.out or f"catalogue-{cat.fiscal_year}.{args.format}")
    if out.exists() and not args.force:
        raise CatalogueError(out, None, "exists: not overwritten (use --force)")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    _err(f"wrote {out}: {len(cat.items)} items, {len(cat.activities)} activities from {source}")
    return 0


def cmd_catalogue_adopt(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    """An office follows an edition in a fiscal year; other years are not touched."""
    from bot.services.adoption import adopt_for_offices, describe

    shared = read_catalogue(args.file)
    measures: tuple[Measure, ...] | None = None
    if args.no_measures:
        measures = ()
    elif args.measures:
        measures = read_catalogue(args.measures).measures

    async def go(ctx: AppContext) -> int:
        report = await adopt_for_offices(
            ctx,
            shared,
            args.fy,
            clock.now(),
            org_id=args.org,
            every_office=args.all,
            measures=measures,
        )
        _out(describe(report))
        return 0

    return _run_async(go, settings, clock)


def read_catalogue(path: str) -> Catalogue:
    """A catalogue file: YAML, or a workbook written by ``catalogue export``."""
    from bot.catalogue.sheet import is_workbook, read_workbook

    return read_workbook(path) if is_workbook(path) else load_catalogue(path)


def cmd_catalogue_check(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    cat = read_catalogue(args.file)
    _out(
        f"{args.file}: OK — {cat.edition}, {len(cat.items)} items, {len(cat.measures)} measures, "
        f"{len(cat.activities)} activities, {len(cat.roles)} roles\n"
    )
    return 0


# -- store ------------------------------------------------------------------------------------


def _run_async(
    coro_fn: Callable[[AppContext], Awaitable[int]],
    settings: Settings,
    clock: Clock,
    *,
    create: bool = False,
) -> int:
    """Run one async command against the configured database, disposing of it afterwards.

    The database must exist and be migrated (see :func:`~bot.cli_errors.open_database`),
    unless ``create``: it is made and migrated first (:func:`open_migrated`)."""
    from bot.app import build_context

    async def runner() -> int:
        db = await (open_migrated(settings) if create else open_database(settings))
        ctx = build_context(settings, clock, db)
        try:
            return await coro_fn(ctx)
        finally:
            await ctx.db.dispose()

    return asyncio.run(runner())


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    from bot.store.migrate import current_revision

    async def go(ctx: AppContext) -> int:
        _err(
            f"database at revision {await current_revision(ctx.db)} ({safe_url(settings.database_url)})"
        )
        return 0

    return _run_async(go, settings, clock, create=True)


async def open_migrated(settings: Settings) -> Database:
    """The configured database, created if missing and migrated to this version's schema —
    as ``run`` does on start; refused, in one line, when a newer version migrated it."""
    from bot.cli_errors import newer_schema
    from bot.store.migrate import current_revision, known_revisions, upgrade

    db = await open_database(settings, create=True)
    try:
        current = await current_revision(db)
        if current is not None and current not in known_revisions():
            raise CliError(newer_schema(safe_url(settings.database_url), current))
        await upgrade(db)
    except BaseException:
        await db.dispose()
        raise
    return db


def cmd_org_init(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    from bot.services.materialise import materialise
    from bot.services.org import catalogue_for, init_org
    from bot.store import repo

    load_catalogue(settings.catalogue_file)  # a broken catalogue stops us before the database

    async def go(ctx: AppContext) -> int:
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
        _out(
            f"office #{org_id} {args.name!r} created{' (the default office)' if default else ''}; "
            f"fiscal years {', '.join(map(str, stats.fiscal_years))}: {stats.created} occurrences, "
            f"{stats.before_tracking} before tracking; its own measures: {activities} activities\n"
        )
        return 0

    return _run_async(go, settings, clock, create=True)


def cmd_org_list(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    from bot.services.org import list_orgs

    async def go(ctx: AppContext) -> int:
        async with ctx.db.transaction() as s:
            offices = await list_orgs(s)
        _out("id\tname\tdefault\ttracking since\tpeople\n")
        for org, people in offices:
            since = be_iso(org.tracking_since.astimezone(settings.tz).date())
            default = "default" if org.is_default else "-"
            _out(f"{org.id}\t{org.name}\t{default}\t{since}\t{people}\n")
        return 0

    return _run_async(go, settings, clock)


def cmd_org_include_past(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    from bot.services.org import get_org, include_before_tracking

    async def go(ctx: AppContext) -> int:
        async with ctx.db.transaction() as s:
            org = await get_org(s)
            n = await include_before_tracking(s, ctx, org, clock.now())
        _out(
            f"{n} occurrences from before tracking are now tracked (and overdue ones will be reminded)\n"
        )
        return 0

    return _run_async(go, settings, clock)


def cmd_people_add(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    from bot.services.org import current_catalogue, get_org
    from bot.services.people import add_person, resolve_role

    async def go(ctx: AppContext) -> int:
        async with ctx.db.transaction() as s:
            org = await get_org(s)
            cat = await current_catalogue(s, ctx, org.id)
            role = resolve_role(cat, args.role) if args.role else None
            p = await add_person(
                s,
                org,
                name=args.name,
                now=clock.now(),
                telegram_id=args.telegram_id,
                role_key=role.key if role else None,
                is_admin=args.admin,
            )
            _out(
                f"person #{p.id} {p.name}"
                + (f" holds {role.name} ({role.key})" if role else "")
                + "\n"
            )
        return 0

    return _run_async(go, settings, clock)


def cmd_people_list(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    from bot.services.access import is_deployment_admin
    from bot.services.org import current_catalogue, get_org
    from bot.services.people import roster

    async def go(ctx: AppContext) -> int:
        async with ctx.db.transaction() as s:
            org = await get_org(s)
            lines = await roster(s, org, clock.now())
            names = {r.key: r.name for r in (await current_catalogue(s, ctx, org.id)).roles}
        _out("id\ttelegram\tname\troles\tstatus\n")
        for ln in lines:
            p = ln.person
            status = (
                ("deployment admin " if is_deployment_admin(ctx, p) else "")
                + ("admin " if p.is_admin else "")
            ) + ("active" if p.active else f"inactive: {p.inactive_reason}")
            tg = "-" if p.telegram_user_id is None else str(p.telegram_user_id)
            roles = ", ".join(names.get(k, k) for k in ln.roles) or "-"
            _out(f"{p.id}\t{tg}\t{p.name}\t{roles}\t{status}\n")
        return 0

    return _run_async(go, settings, clock)


def cmd_people_assign(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    from bot.services.org import current_catalogue, get_org
    from bot.services.people import assign_role, find_person, resolve_role, unassign_role

    async def go(ctx: AppContext) -> int:
        async with ctx.db.transaction() as s:
            org = await get_org(s)
            cat = await current_catalogue(s, ctx, org.id)
            role = resolve_role(cat, args.role)
            person = await find_person(s, org, args.person)
            if args.remove:
                n = await unassign_role(s, person, role.key, clock.now())
                _out(
                    f"{person.name} no longer holds {role.name}\n"
                    if n
                    else f"{person.name} did not hold {role.name}\n"
                )
                return 0
            await assign_role(s, org, person, role.key, clock.now(), replace=args.replace)
            _out(
                f"{person.name} now holds {role.name}"
                + (" (and nobody else does)" if args.replace else "")
                + "\n"
            )
        return 0

    return _run_async(go, settings, clock)


def cmd_people_deactivate(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    from bot.services.org import get_org
    from bot.services.people import deactivate, find_person

    async def go(ctx: AppContext) -> int:
        async with ctx.db.transaction() as s:
            org = await get_org(s)
            person = await find_person(s, org, args.person)
            await deactivate(s, person, clock.now(), args.reason)
            _out(f"{person.name} is inactive: no more messages\n")
        return 0

    return _run_async(go, settings, clock)


# -- invites ------------------------------------------------------------------------------------


async def _bot_username(settings: Settings) -> str:
    """The bot's @username for links: BOT_USERNAME, or asked of the Bot API with BOT_TOKEN."""
    if settings.bot_username:
        return settings.bot_username.lstrip("@")
    from telegram.error import TelegramError

    from bot.telegram.whoami import NoToken, scrub, whoami

    try:
        me = await whoami(settings)
    except NoToken:
        raise CliError(
            "invite links need the bot's @username: set BOT_USERNAME in .env (or BOT_TOKEN, "
            "and it is asked of Telegram)"
        ) from None
    except (TelegramError, OSError) as exc:
        raise CliError(
            f"could not ask Telegram for the bot's username ({scrub(str(exc), settings)}) — "
            "set BOT_USERNAME in .env, or check BOT_TOKEN and the network"
        ) from None
    if not me.username:
        raise CliError("Telegram gave no username for this bot — set BOT_USERNAME in .env")
    return me.username


def _make_invite(args: argparse.Namespace, settings: Settings, clock: Clock, *, admin: bool) -> int:
    from bot.services import onboarding
    from bot.services.org import current_catalogue, get_org
    from bot.services.people import find_person, resolve_role

    async def go(ctx: AppContext) -> int:
        username = await _bot_username(settings)  # first: no invite without a link to it
        now = clock.now()
        async with ctx.db.transaction() as s:
            org = await get_org(s)
            role = (
                resolve_role(await current_catalogue(s, ctx, org.id), args.role)
                if args.role
                else None
            )
            person = await find_person(s, org, args.person) if args.person else None
            code, inv = await onboarding.create_invite(
                s,
                ctx,
                org,
                now,
                role_key=role.key if role else None,
                person_id=person.id if person else None,
                make_admin=admin,
            )
            expires = inv.expires_at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
        what = "admin" if admin else (role.name if role else "?")
        if person:
            what += f" for {person.name}"
        link = onboarding.invite_link(username, code)
        _out(f"{link}\n")
        _err(f"invite for {what}; works once, expires {expires} ({settings.timezone})")
        return 0

    return _run_async(go, settings, clock)


def cmd_admin_invite(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    return _make_invite(args, settings, clock, admin=True)


def cmd_invite(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    return _make_invite(args, settings, clock, admin=False)


def cmd_run(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    from bot.app import MissingToken
    from bot.logs import configure

    configure(settings.log_level)
    from bot.runner import run_bot

    try:
        return run_bot(settings, clock)
    except MissingToken as exc:
        _err(str(exc))
        return 2


def cmd_dispatch(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    """Deliver the outbox without polling for updates (an extra sender, or a drain): woken by
    other processes' commits on PostgreSQL (LISTEN/NOTIFY), else every ``--idle`` seconds."""
    from bot.app import BOTFATHER_HELP, MissingToken, build_application
    from bot.services.dispatch import Dispatcher
    from bot.services.sender import Sender

    if settings.bot_token is None or not settings.bot_token.get_secret_value().strip():
        _err(str(MissingToken(BOTFATHER_HELP)))
        return 2

    async def go() -> int:
        # like `run`, on a database made and migrated first (not "no such table" mid-send)
        db = await open_migrated(settings)
        app = build_application(settings, clock=clock, db=db, with_jobs=False, startup=False)
        ctx: AppContext = app.bot_data["ctx"]
        async with app:
            if args.once:
                _err(f"dispatch: {await Dispatcher(ctx, app.bot).run()}")
            else:
                await Dispatcher(ctx, app.bot).recover()
                sender = Sender(ctx, app.bot, idle_seconds=args.idle)
                await sender.start()
                try:
                    await _until_stopped()
                finally:
                    await sender.stop()
        await ctx.db.dispose()
        return 0

    return asyncio.run(go())


async def _until_stopped() -> None:
    """Wait for SIGINT or SIGTERM."""
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


# -- operations -------------------------------------------------------------------------------


def cmd_health(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    """Database, Telegram, outbox and jobs; exit 1 when anything is wrong."""
    import json
    from datetime import timedelta

    from bot.services.health import Check, check_health, telegram_check
    from bot.telegram.whoami import scrub, whoami

    def ask() -> Awaitable[Check]:
        return telegram_check(
            lambda: whoami(settings, wait_seconds=args.wait), lambda t: scrub(t, settings)
        )

    async def go() -> int:
        db, problem = None, None
        try:
            db = await open_database(settings)
        except CliError as exc:
            problem = str(exc)
        try:
            health = await check_health(
                clock.now(),
                db,
                ask,
                database_problem=problem,
                outbox_max_age=timedelta(seconds=settings.health_outbox_max_age_seconds),
            )
        finally:
            if db is not None:
                await db.dispose()
        if args.json:
            text = json.dumps(health.as_dict(), ensure_ascii=False, indent=2)
        else:
            text = "\n".join(health.lines())
        _out(scrub(text, settings) + "\n")
        return 0 if health.ok else 1

    return asyncio.run(go())


def cmd_backup(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    """A consistent copy of the SQLite database while the bot runs (PostgreSQL: pg_dump)."""
    from bot.store.backup import BackupError, backup_sqlite

    path = settings.sqlite_path()
    if path is None:
        raise CliError(
            "backup copies the embedded SQLite database; DATABASE_URL is PostgreSQL: use "
            "pg_dump --format=custom --file=FILE (README, Operations)",
            code=2,
        )
    try:
        done = backup_sqlite(path, Path(args.out))
    except BackupError as exc:
        raise CliError(str(exc)) from None
    _err(f"backed up {path} to {done}")
    return 0


# -- reports ----------------------------------------------------------------------------------


def cmd_report(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    """Write a quarterly, six-month or annual report: the XLSX the head receives."""
    from bot.reports import ReportError, ReportFiles, build_report_files

    wanted: list[tuple[str | None, Scope]] = [
        (args.quarter, "quarter"),
        (args.half, "half"),
        (args.fy, "year"),
    ]
    key, scope = next((k, s) for k, s in wanted if k)
    built: list[ReportFiles] = []

    async def go(ctx: AppContext) -> int:
        try:
            built.append(
                await build_report_files(ctx, key, now=clock.now(), lang=args.lang, scope=scope)
            )
        except ReportError as exc:
            _err(f"error: {exc}")
            return 2
        return 0

    rc = _run_async(go, settings, clock)
    if rc or not built:
        return rc
    files = built[0]
    out = Path(args.out or files.xlsx_name)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(files.xlsx)
    _err(f"wrote {out}: {files.title}")
    if args.chart:
        Path(args.chart).write_bytes(files.chart)
        _err(f"wrote {args.chart}")
    if args.text:
        _out(files.text + "\n")
    return 0


# -- wiring ---------------------------------------------------------------------------------


class Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line (not the usage, then the error)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog=PROG,
        description="The ITA duty bot: reminds a Thai local office of its OIT disclosure duties.",
    )
    p.add_argument("--version", action="version", version=f"ita-duty-bot {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    cal = sub.add_parser("calendar", help="print every deadline of a fiscal year")
    cal.add_argument(
        "--fy", type=be_year_arg, help="BE fiscal year, e.g. 2570 (default: the current one)"
    )
    cal.add_argument("--format", choices=("table", "csv", "ics"), default="table")
    cal.add_argument("--role", help="only this role (key or Thai name, e.g. นักวิเคราะห์)")
    cal.add_argument("--item", help="only this item (O1..O43) or activity (M1.1)")
    cal.add_argument("--catalogue", help="catalogue YAML (default: the shipped one)")
    cal.add_argument("--out", help="ics: folder for one file per role (default calendar-<fy>/)")
    cal.set_defaults(func=cmd_calendar)

    cat = sub.add_parser("catalogue", help="import or check a duty catalogue")
    cat_sub = cat.add_subparsers(dest="catalogue_command", metavar="ACTION", required=True)
    imp = cat_sub.add_parser(
        "import", help="turn a seed document (or an exported XLSX) into a catalogue YAML"
    )
    imp.add_argument(
        "file", help="the seed text (data/seed/000_c89b0b1080fe7d54.txt) or a table .xlsx"
    )
    imp.add_argument(
        "--out", help="where to write (default data/catalogue/ita-<fy>.yaml; - for stdout)"
    )
    imp.add_argument("--aliases", help="alias tables (default data/aliases.yaml)")
    imp.add_argument(
        "--corrections", help="the document's corrections (default data/corrections.yaml)"
    )
    imp.add_argument("--no-corrections", action="store_true", help="apply no corrections")
    imp.add_argument(
        "--items", type=int, help="how many items the document must have (default: its edition's)"
    )
    imp.add_argument(
        "--force", action="store_true", help="overwrite an existing catalogue (keeps a backup)"
    )
    imp.set_defaults(func=cmd_catalogue_import)
    exp = cat_sub.add_parser("export", help="write a catalogue as a spreadsheet to edit")
    exp.add_argument("file", nargs="?", help="default: the configured (or shipped) catalogue")
    exp.add_argument("--format", choices=("xlsx", "yaml"), default="xlsx")
    exp.add_argument("--out", help="default catalogue-<fy>.xlsx")
    exp.add_argument("--force", action="store_true", help="overwrite an existing file")
    exp.set_defaults(func=cmd_catalogue_export)
    chk = cat_sub.add_parser("check", help="validate a catalogue (YAML or XLSX)")
    chk.add_argument("file")
    chk.set_defaults(func=cmd_catalogue_check)
    ado = cat_sub.add_parser(
        "adopt", help="an office follows a catalogue (YAML or XLSX) in one fiscal year"
    )
    ado.add_argument("file", help="the edition's catalogue, e.g. data/catalogue/ita-2565.yaml")
    ado.add_argument("--fy", type=be_year_arg, required=True, help="BE fiscal year, e.g. 2571")
    who = ado.add_mutually_exclusive_group()
    who.add_argument("--org", type=int, help="the office's id (default: the default office)")
    who.add_argument(
        "--all", action="store_true", help="every office (each keeps its own measures)"
    )
    mea = ado.add_mutually_exclusive_group()
    mea.add_argument("--measures", help="the office's own measures from this catalogue file")
    mea.add_argument("--no-measures", action="store_true", help="the office has no measures")
    ado.set_defaults(func=cmd_catalogue_adopt)

    hol = sub.add_parser("holidays", help="the office's own days off, on top of the government's")
    hol_sub = hol.add_subparsers(dest="holidays_command", metavar="ACTION", required=True)
    ha = hol_sub.add_parser(
        "add", help="a day off for this office (a local holiday, วันพืชมงคล); re-plans at once"
    )
    ha.add_argument("date", type=any_date_arg, help="BE or CE: 2570-05-10, 2027-05-10, 10/5/2570")
    ha.add_argument("--name", help="e.g. วันพืชมงคล")
    ha.set_defaults(func=cmd_holidays_add)
    hr = hol_sub.add_parser(
        "remove", help="work on this day: drop the office's day off, or a government one"
    )
    hr.add_argument("date", type=any_date_arg, help="BE or CE")
    hr.set_defaults(func=cmd_holidays_remove)
    hl = hol_sub.add_parser("list", help="the days off of a fiscal year")
    hl.add_argument("--fy", type=be_year_arg, help="BE fiscal year (default: the current one)")
    hl.set_defaults(func=cmd_holidays_list)

    db = sub.add_parser("db", help="the database")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = db_sub.add_parser("upgrade", help="run the migrations (run does this on start too)")
    up.set_defaults(func=cmd_db_upgrade)

    org = sub.add_parser("org", help="the office")
    org_sub = org.add_subparsers(dest="org_command", metavar="ACTION", required=True)
    oi = org_sub.add_parser(
        "init", help="create the office, adopt the shipped catalogue, start tracking"
    )
    oi.add_argument("--name", required=True, help="e.g. อบต.บางไทรป่า")
    oi.add_argument(
        "--track-from",
        type=be_date_arg,
        help="a BE date, e.g. 2569-10-01; default now. Earlier deadlines count as 'before tracking'",
    )
    om = oi.add_mutually_exclusive_group()
    om.add_argument(
        "--measures",
        help="the office's own measures from this catalogue file (default: the configured "
        "catalogue's, if it is this office's)",
    )
    om.add_argument("--no-measures", action="store_true", help="the office has no measures yet")
    oi.add_argument(
        "--another", action="store_true", help="add a further office to a database that has one"
    )
    oi.set_defaults(func=cmd_org_init)
    ol = org_sub.add_parser("list", help="the offices of this database")
    ol.set_defaults(func=cmd_org_list)
    op = org_sub.add_parser(
        "include-past", help="also track (and remind) what fell due before tracking began"
    )
    op.set_defaults(func=cmd_org_include_past)

    ppl = sub.add_parser("people", help="the roster: who holds which role")
    ppl_sub = ppl.add_subparsers(dest="people_command", metavar="ACTION", required=True)
    pa = ppl_sub.add_parser("add", help="add a person (before they open Telegram)")
    pa.add_argument(
        "--telegram-id", type=int, help="their Telegram user id (they can also join by invite)"
    )
    pa.add_argument("--name", required=True)
    pa.add_argument("--role", help="role key or Thai name, e.g. นักวิเคราะห์")
    pa.add_argument("--admin", action="store_true", help="may manage people and roles")
    pa.set_defaults(func=cmd_people_add)
    pl = ppl_sub.add_parser("list", help="everyone, with their roles")
    pl.set_defaults(func=cmd_people_list)
    ps = ppl_sub.add_parser("assign", help="give a person a role")
    ps.add_argument("--person", required=True, help="id, Telegram id or exact name")
    ps.add_argument("--role", required=True)
    ps.add_argument(
        "--replace", action="store_true", help="staff turnover: nobody else keeps the role"
    )
    ps.add_argument("--remove", action="store_true", help="take the role away instead")
    ps.set_defaults(func=cmd_people_assign)
    pd = ppl_sub.add_parser("deactivate", help="stop messaging a person")
    pd.add_argument("--person", required=True)
    pd.add_argument("--reason", default="deactivated by an admin")
    pd.set_defaults(func=cmd_people_deactivate)

    adm = sub.add_parser("admin", help="admins")
    adm_sub = adm.add_subparsers(dest="admin_command", metavar="ACTION", required=True)
    ai = adm_sub.add_parser(
        "invite", help="print a one-time deep link that makes its opener an admin"
    )
    ai.add_argument("--role", help="also give this role")
    ai.add_argument("--person", help="bind the link to this roster person (id or name)")
    ai.set_defaults(func=cmd_admin_invite)

    inv = sub.add_parser("invite", help="print a one-time deep link for a role")
    inv.add_argument("--role", required=True, help="role key or Thai name")
    inv.add_argument("--person", help="bind the link to this roster person (id or name)")
    inv.set_defaults(func=cmd_invite)

    rep = sub.add_parser("report", help="write a quarterly, six-month or annual report (XLSX)")
    which = rep.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--quarter", type=period_arg("quarter"), help="a quarter, e.g. 2570Q1 (ไตรมาส ๑ of FY 2570)"
    )
    which.add_argument(
        "--half", type=period_arg("half"), help="a half year, e.g. 2570H1 (รอบ ๖ เดือน)"
    )
    which.add_argument(
        "--fy", type=period_arg("year"), help="a BE fiscal year, e.g. 2570 (the annual report)"
    )
    rep.add_argument("--out", help="the XLSX file (default ita-report-<period>.xlsx)")
    rep.add_argument("--chart", help="also write the chart PNG to this file")
    rep.add_argument("--text", action="store_true", help="also print the chat message")
    rep.add_argument("--lang", choices=("th", "en"), help="default: DEFAULT_LANGUAGE")
    rep.set_defaults(func=cmd_report)

    run = sub.add_parser(
        "run", help="run the bot (long polling, or a webhook); migrates the database first"
    )
    run.set_defaults(func=cmd_run)

    hl = sub.add_parser(
        "health", help="database, Telegram, outbox and jobs; exits 1 when something is wrong"
    )
    hl.add_argument("--json", action="store_true", help="the same, for a machine")
    hl.add_argument(
        "--wait", type=float, default=10.0, help="seconds to wait for Telegram (default 10)"
    )
    hl.set_defaults(func=cmd_health)

    bk = sub.add_parser("backup", help="copy the SQLite database, consistently, while the bot runs")
    bk.add_argument("--out", required=True, help="the copy, e.g. backups/bot-2569-11-26.db")
    bk.set_defaults(func=cmd_backup)

    dsp = sub.add_parser("dispatch", help="only deliver the outbox (no polling)")
    dsp.add_argument("--once", action="store_true", help="stop when nothing is due")
    dsp.add_argument("--idle", type=float, default=5.0, help="seconds between polls of the outbox")
    dsp.set_defaults(func=cmd_dispatch)

    return p


def main(
    argv: Sequence[str] | None = None,
    *,
    settings: Settings | None = None,
    clock: Clock | None = None,
) -> int:
    # opt in to python-telegram-bot's future API (durations as timedelta); the int form warns
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) or a mistake (2), already told
        return int(exc.code or 0)
    func: Command = args.func
    try:
        settings = settings or load_settings()
        return func(args, settings, clock or SystemClock())
    except Exception as exc:
        problem = explain(exc, args, settings)
        if problem is None:
            raise
        _err(f"error: {problem}")
        return problem.code
