"""Running the bot, delivering the outbox, health, backup, and the reports."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.base import (
    in_context,
    write_err,
    write_out,
)
from bot.cli.errors import CliError, open_database, open_migrated
from bot.clock import Clock
from bot.config import Settings
from bot.services.context import AppContext

if TYPE_CHECKING:
    from bot.reports.period_report import Scope


def cmd_run(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    from bot.app import MissingToken
    from bot.logs import configure

    configure(settings.log_level)
    from bot.runner import run_bot

    try:
        return run_bot(settings, clock)
    except MissingToken as exc:
        write_err(str(exc))
        return 2


def cmd_dispatch(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
    """Deliver the outbox without polling for updates (an extra sender, or a drain): woken by
    other processes' commits on PostgreSQL (LISTEN/NOTIFY), else every ``--idle`` seconds."""
    from bot.app import BOTFATHER_HELP, MissingToken, build_application
    from bot.logs import configure
    from bot.services.dispatch import Dispatcher
    from bot.services.sender import Sender
    from bot.telegram.context import app_context
    from bot.telegram.transport import transport_of

    if settings.bot_token is None or not settings.bot_token.get_secret_value().strip():
        write_err(str(MissingToken(BOTFATHER_HELP)))
        return 2

    async def go() -> int:
        stop = _stop_on_signals()  # from the first moment: a stop is never a traceback
        # like `run`, on a database made and migrated first (not "no such table" mid-send)
        db = await open_migrated(settings)
        configure(settings.log_level)  # after it: a refused database stays one line
        app = build_application(settings, clock=clock, db=db, with_jobs=False, startup=False)
        ctx = app_context(app)
        try:
            async with app:
                dispatcher = Dispatcher(ctx, transport_of(app))
                if args.once:
                    write_err(f"dispatch: {await dispatcher.run(stopping=stop.is_set)}")
                    await dispatcher.release()
                else:
                    await dispatcher.recover()
                    sender = Sender(ctx, transport_of(app), idle_seconds=args.idle)
                    await sender.start()
                    try:
                        await stop.wait()
                    finally:
                        await sender.stop()  # the message in hand, then its claims back
        finally:
            await ctx.db.dispose()
        return 0

    return asyncio.run(go())


def _stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM (instead of KeyboardInterrupt or death)."""
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


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
        write_out(scrub(text, settings) + "\n")
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
    write_err(f"backed up {path} to {done}")
    return 0


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

    @in_context()
    async def go(args: argparse.Namespace, ctx: AppContext) -> int:
        try:
            built.append(
                await build_report_files(ctx, key, now=clock.now(), lang=args.lang, scope=scope)
            )
        except ReportError as exc:
            write_err(f"error: {exc}")
            return 2
        return 0

    rc = go(args, settings, clock)
    if rc or not built:
        return rc
    files = built[0]
    out = Path(args.out or files.xlsx_name)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(files.xlsx)
    write_err(f"wrote {out}: {files.title}")
    if args.chart:
        Path(args.chart).write_bytes(files.chart)
        write_err(f"wrote {args.chart}")
    if args.text:
        write_out(files.text + "\n")
    return 0
