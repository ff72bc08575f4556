"""All the wiring: which update goes to which handler, and the one error handler."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.domain import callbacks as cb
from bot.fmt import Fmt
from bot.handlers import admin, head, items, reports, staff, start
from bot.handlers.common import Context, PTBHandler

log = logging.getLogger(__name__)


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("start", start.start))
    app.add_handler(CommandHandler("help", staff.help_command))
    app.add_handler(CommandHandler("lang", staff.lang, filters=private))
    app.add_handler(CommandHandler("cancel", staff.cancel, filters=private))
    app.add_handler(CommandHandler("tasks", staff.tasks, filters=private))
    app.add_handler(CommandHandler("done", staff.done_command, filters=private))
    app.add_handler(CommandHandler("item", items.item, filters=private))
    app.add_handler(CommandHandler("changed", staff.changed, filters=private))
    app.add_handler(CommandHandler("status", head.status, filters=private))
    app.add_handler(CommandHandler("digest", reports.digest, filters=private))
    app.add_handler(CommandHandler("report", reports.report, filters=private))
    app.add_handler(CommandHandler("oit", reports.oit, filters=private))
    app.add_handler(CommandHandler("invite", admin.invite))
    app.add_handler(CommandHandler("people", admin.people, filters=private))
    app.add_handler(CommandHandler("assign", admin.assign, filters=private))
    app.add_handler(CommandHandler("deactivate", admin.deactivate_command, filters=private))
    app.add_handler(CommandHandler("linkgroup", admin.linkgroup))
    app.add_handler(CommandHandler("holidays", admin.holidays_command, filters=private))

    buttons: list[tuple[type[cb.Callback], PTBHandler]] = [
        (cb.StageCall, staff.button),
        (cb.MyList, staff.my_list_button),
        (cb.LinkCall, staff.link_button),
        (cb.Language, staff.lang_button),
        (cb.ReportChange, staff.changed_button),
        (cb.Invite, admin.invite_button),
        (cb.Assign, admin.assign_button),
        (cb.Deactivate, admin.deactivate_button),
        (cb.LinkGroup, admin.linkgroup_button),
    ]
    for kind, button in buttons:
        app.add_handler(CallbackQueryHandler(button, pattern=cb.pattern(kind)))
    app.add_handler(CallbackQueryHandler(stale_button))

    app.add_handler(MessageHandler(filters.COMMAND & private, staff.unknown_command))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND & private, staff.text_message))
    app.add_error_handler(on_error)


async def stale_button(update: Update, context: Context) -> None:
    """A forged or outdated button: say so, change nothing."""
    ctx = context.ctx
    if update.callback_query is not None:
        await update.callback_query.answer(Fmt.of(ctx.settings).t("stale_button"), show_alert=True)


async def on_error(update: object, context: Context) -> None:
    """The one error handler: log it, and tell the person something went wrong.  A failed
    poll for updates (no update, no job) is counted as an outage, without a traceback."""
    if update is None and context.job is None and context.error is not None:
        from bot.runner import unreachable

        outage = context.application.bot_data.get("poll_outage")
        if outage is not None and unreachable(context.error):
            outage.failed(context.error)
            return
    log.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        ctx = context.ctx
        try:
            await context.bot.send_message(
                update.effective_chat.id, Fmt.of(ctx.settings).t("error.generic")
            )
        except TelegramError:
            log.warning("could not tell the user about the error")
