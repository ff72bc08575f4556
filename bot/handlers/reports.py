"""The head's ``/digest`` and ``/report``: built now and sent straight back to the asker.

Both answer in the private chat only, to the head and the admins.  The data is read in
one transaction; the chart and the workbook are drawn afterwards (in a worker thread),
so no database lock is held while matplotlib works.  Nothing here goes through the
outbox or the digest log: the scheduled weekly digest is unaffected.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, CommandHandler, filters

from bot.handlers.common import Context, app_ctx, current_person, fmt_for, is_head
from bot.handlers.staff import not_registered, reply
from bot.reports.data import ReportPeriodError, digest_data, parse_report_period, report_data
from bot.reports.service import default_report_period, render_digest_files, render_report_files
from bot.services.outbox import Attachment


async def send_files(update: Update, files: list[Attachment]) -> None:
    msg = update.effective_message
    if msg is None:
        return
    for f in files:
        if f.kind == "photo":
            await msg.reply_photo(photo=f.content, filename=f.filename, caption=f.caption)
        else:
            await msg.reply_document(document=f.content, filename=f.filename, caption=f.caption)


async def digest(update: Update, context: Context) -> None:
    """``/digest``: this week's digest now, with its chart (not logged as the weekly one)."""
    ctx = app_ctx(context)
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        person = await current_person(s, ctx, update)
        if person is None:
            await not_registered(update, context)
            return
        fmt = fmt_for(ctx, person)
        if not await is_head(s, ctx, person):
            await reply(update, fmt.t("head_only"))
            return
        data = await digest_data(s, ctx, person.org_id, now)
    out = await render_digest_files(fmt, data)
    await reply(update, out.text)
    await send_files(update, out.files)


async def report(update: Update, context: Context) -> None:
    """``/report [2570Q1 | 2570H1 | 2570]``: the report's message, chart and XLSX.

    Without a period: the last completed quarter's report as it was scheduled (the
    six-month report after ไตรมาส ๒, the annual report after ไตรมาส ๔)."""
    ctx = app_ctx(context)
    now = ctx.clock.now()
    args = list(context.args or [])
    async with ctx.db.transaction() as s:
        person = await current_person(s, ctx, update)
        if person is None:
            await not_registered(update, context)
            return
        fmt = fmt_for(ctx, person)
        if not await is_head(s, ctx, person):
            await reply(update, fmt.t("head_only"))
            return
        try:
            period = (
                parse_report_period("".join(args))
                if args
                else default_report_period(now.astimezone(ctx.tz).date())
            )
        except ReportPeriodError:
            await reply(
                update,
                fmt.t("report.bad_period", text=" ".join(args)[:40]) + "\n" + fmt.t("report.usage"),
            )
            return
        data = await report_data(s, ctx, person.org_id, period, now)
    files = await render_report_files(fmt, data)
    await reply(update, files.text)
    await send_files(update, files.attachments(fmt))


def register(app: Application[Any, Any, Any, Any, Any, Any], *, group: int = 0) -> None:
    """Add ``/digest`` and ``/report`` (private chats).  Call it before the catch-all
    unknown-command handler of the same group."""
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("digest", digest, filters=private), group=group)
    app.add_handler(CommandHandler("report", report, filters=private), group=group)
