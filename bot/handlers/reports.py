"""The head's ``/digest`` and ``/report``: built now and sent straight back to the asker.

Both answer in the private chat only, to the head and the admins.  The data is read in
one transaction; the chart and the workbook are drawn afterwards (in a worker thread),
so no database lock is held while matplotlib works.  Nothing here goes through the
outbox or the digest log: the scheduled weekly digest is unaffected.
"""

from __future__ import annotations

from bot.domain.fiscal import fiscal_year
from bot.domain.thai import BEYearError, ThaiDateError, parse_be_year
from bot.handlers.common import Context, Turn, handler
from bot.reports.digest_data import digest_data
from bot.reports.oit import build_oit
from bot.reports.period_report import ReportPeriodError, parse_report_period, report_data
from bot.reports.service import default_report_period, render_digest_files, render_report_files
from bot.services.outbox import Attachment


@handler("head")
async def digest(turn: Turn, context: Context) -> None:
    """``/digest``: this week's digest now, with its chart (not logged as the weekly one)."""
    data = await digest_data(turn.session, turn.ctx, turn.person.org_id, turn.now)
    fmt = turn.fmt

    async def draw() -> None:  # after the commit: no lock is held while matplotlib works
        out = await render_digest_files(fmt, data)
        turn.say(out.text)
        turn.attach(out.files)

    turn.after_commit(draw)


@handler("head")
async def report(turn: Turn, context: Context) -> None:
    """``/report [2570Q1 | 2570H1 | 2570]``: the report's message, chart and XLSX.

    Without a period: the last completed quarter's report as it was scheduled (the
    six-month report after ไตรมาส ๒, the annual report after ไตรมาส ๔)."""
    args = list(context.args or [])
    try:
        period = parse_report_period("".join(args)) if args else default_report_period(turn.today)
    except ReportPeriodError as exc:
        text = " ".join(args)[:40]
        if exc.suggestion:  # 2026Q1 → 2569Q1
            turn.say(turn.t("be.suggest", text=text, suggestion=exc.suggestion[:40]))
            return
        turn.say(turn.t("report.bad_period", text=text) + "\n" + turn.t("report.usage"))
        return
    data = await report_data(turn.session, turn.ctx, turn.person.org_id, period, turn.now)
    fmt = turn.fmt

    async def draw() -> None:
        files = await render_report_files(fmt, data)
        turn.say(files.text)
        turn.attach(files.attachments(fmt))

    turn.after_commit(draw)


@handler()
async def oit(turn: Turn, context: Context) -> None:
    """``/oit [2570]``: the ITAS hand-in — the XLSX, and the text to paste one item at a time."""
    args = list(context.args or [])
    try:
        if len(args) > 1:
            raise ThaiDateError("too many arguments")
        fy = parse_be_year(args[0]) if args else fiscal_year(turn.today)
    except BEYearError as exc:
        turn.say(turn.t("be.suggest", text=exc.text[:20], suggestion=exc.suggestion[:20]))
        return
    except ThaiDateError:
        turn.say(turn.t("oit.usage"))
        return
    ctx, org_id, fmt, now = turn.ctx, turn.person.org_id, turn.fmt, turn.now

    async def build() -> None:  # after the commit: its own read, then the workbook
        files = await build_oit(ctx, fy, org_id=org_id, now=now, fmt=fmt)
        turn.say_lines(files.lines)
        turn.attach([Attachment("document", files.filename, files.xlsx, files.lines[0])])

    turn.after_commit(build)
