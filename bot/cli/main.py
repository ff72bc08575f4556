"""The parser, and :func:`main`: parse, load the settings, run, explain a mistake in one line."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot import __version__
from bot.cli.base import (
    Command,
    Parser,
    any_date_arg,
    be_date_arg,
    be_year_arg,
    period_arg,
    write_err,
)
from bot.cli.calendar import cmd_calendar, cmd_holidays_add, cmd_holidays_list, cmd_holidays_remove
from bot.cli.catalogue import (
    cmd_catalogue_adopt,
    cmd_catalogue_check,
    cmd_catalogue_export,
    cmd_catalogue_import,
)
from bot.cli.errors import PROG, explain, load_settings
from bot.cli.handin import cmd_oit
from bot.cli.invites import cmd_admin_invite, cmd_invite
from bot.cli.operations import cmd_backup, cmd_dispatch, cmd_health, cmd_report, cmd_run
from bot.cli.roster import (
    cmd_db_upgrade,
    cmd_org_include_past,
    cmd_org_init,
    cmd_org_list,
    cmd_people_add,
    cmd_people_assign,
    cmd_people_deactivate,
    cmd_people_list,
)
from bot.clock import Clock, SystemClock
from bot.config import Settings

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[Parser]


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog=PROG,
        description="The ITA duty bot: reminds a Thai local office of its OIT disclosure duties.",
    )
    p.add_argument("--version", action="version", version=f"ita-duty-bot {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    _calendar(sub)
    _catalogue(sub)
    _holidays(sub)
    _store(sub)
    _invites(sub)
    _report(sub)
    _oit(sub)
    _operations(sub)
    return p


def _calendar(sub: Subparsers) -> None:
    """calendar: every deadline of a fiscal year"""
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


def _catalogue(sub: Subparsers) -> None:
    """catalogue import, export, check, adopt"""
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


def _holidays(sub: Subparsers) -> None:
    """holidays: the office's own days off"""
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


def _store(sub: Subparsers) -> None:
    """db, org and people"""
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


def _invites(sub: Subparsers) -> None:
    """admin invite, invite"""
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


def _report(sub: Subparsers) -> None:
    """report: a quarterly, six-month or annual report"""
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


def _oit(sub: Subparsers) -> None:
    """oit: the ITAS hand-in of a fiscal year"""
    oit = sub.add_parser("oit", help="write the ITAS hand-in of a fiscal year (XLSX, text)")
    oit.add_argument("--fy", type=be_year_arg, required=True, help="a BE fiscal year, e.g. 2570")
    oit.add_argument("--out", help="the XLSX file (default itas-oit-<fy>.xlsx)")
    oit.add_argument("--text", action="store_true", help="also print the text to paste into ITAS")
    oit.add_argument("--org", type=int, help="the office's id (default: the default office)")
    oit.add_argument("--lang", choices=("th", "en"), help="default: DEFAULT_LANGUAGE")
    oit.set_defaults(func=cmd_oit)


def _operations(sub: Subparsers) -> None:
    """run, health, backup, dispatch"""
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
        write_err(f"error: {problem}")
        return problem.code
