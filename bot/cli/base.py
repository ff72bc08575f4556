"""What every command shares: output, the argument types people type, and :func:`in_context`."""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from typing import TYPE_CHECKING, NoReturn

from bot.cli.errors import open_database, open_migrated
from bot.clock import Clock
from bot.config import Settings
from bot.domain.thai import ThaiDateError, parse_be_year, parse_date
from bot.services.context import AppContext

if TYPE_CHECKING:
    from bot.reports.period_report import Scope


def write_out(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def write_err(text: str) -> None:
    sys.stderr.write(text.rstrip("\n") + "\n")


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


class Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line (not the usage, then the error)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


Command = Callable[[argparse.Namespace, Settings, Clock], int]
ContextCommand = Callable[[argparse.Namespace, AppContext], Awaitable[int]]


def in_context(*, create: bool = False) -> Callable[[ContextCommand], Command]:
    """``async def cmd(args, ctx)`` as a command: open the configured database, build the
    context on it, run, and dispose of the database whatever happens.

    The database must exist and be migrated (see :func:`~bot.cli.errors.open_database`),
    unless ``create``: it is made and migrated first (:func:`~bot.cli.errors.open_migrated`)."""

    def wrap(fn: ContextCommand) -> Command:
        @functools.wraps(fn)
        def command(args: argparse.Namespace, settings: Settings, clock: Clock) -> int:
            from bot.app import build_context

            async def run() -> int:
                db = await (open_migrated(settings) if create else open_database(settings))
                ctx = build_context(settings, clock, db)
                try:
                    return await fn(args, ctx)
                finally:
                    await ctx.db.dispose()

            return asyncio.run(run())

        return command

    return wrap
