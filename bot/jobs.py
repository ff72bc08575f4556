"""The few periodic jobs (APScheduler through PTB's JobQueue).  Never one job per reminder:
all the state is in the database, so a restart or an hour of downtime loses nothing."""

from __future__ import annotations

import logging
from datetime import time, timedelta
from typing import Any

from telegram.ext import Application

from bot.reports import run_due_reports
from bot.services.context import AppContext
from bot.services.dispatch import Dispatcher
from bot.services.jobruns import recorded
from bot.services.links import check_due_links
from bot.services.materialise import materialise
from bot.services.reminders import remind
from bot.services.supersede import drop_moved_on
from bot.telegram.context import BotContext
from bot.telegram.transport import transport_of

log = logging.getLogger(__name__)

# a job that is still running when its next run is due is not started twice, and
# missed runs collapse into one
JOB_KWARGS: dict[str, Any] = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}


@recorded
async def tick(context: BotContext) -> None:
    """Turn due reminder slots into outbox rows (for a part of the tick; the next few
    minutes' slots too, held until their time), drop the waiting
    notices whose stage has moved on, then wake the sender (the safety net: each commit that
    queues a message wakes it already).

    With the sender running on its own, composing may take most of the tick (it yields to
    the event loop between offices, and each batch's commit wakes the sender), so a
    national morning is composed faster than the cap sends it; without one, the rest of
    the tick is the sending's (:func:`dispatch_now`)."""
    ctx = context.ctx
    sender = context.application.bot_data.get("sender")
    share = 0.8 if sender is not None and sender.running else 0.3
    stats = await remind(
        ctx,
        ctx.clock.now(),
        budget_seconds=ctx.settings.tick_seconds * share,
        ahead=timedelta(seconds=ctx.settings.reminder_compose_ahead_seconds),
    )
    if stats.messages:
        log.info(
            "reminders: %d stages, %d messages, %d escalations",
            stats.stages,
            stats.messages,
            stats.escalations,
        )
    async with ctx.db.transaction() as s:  # moved some other way than by the chain
        await drop_moved_on(s)
    await dispatch_now(context)


async def dispatch_now(context: BotContext) -> None:
    """Wake the running sender; without one (a bot started without its start-up), send
    for a part of the tick."""
    sender = context.application.bot_data.get("sender")
    if sender is not None and sender.running:
        sender.poke()
        return
    ctx = context.ctx
    sent = await Dispatcher(ctx, transport_of(context.application)).run(
        budget_seconds=ctx.settings.tick_seconds * 0.6
    )
    if sent.claimed:
        log.info("dispatch: %s", sent)


@recorded
async def materialise_job(context: BotContext) -> None:
    ctx = context.ctx
    stats = await materialise(ctx, ctx.clock.now())
    log.info("materialised: %s", stats)


@recorded
async def reports_job(context: BotContext) -> None:
    """Queue the weekly digest and the quarterly reports that are due (each once)."""
    ctx = context.ctx
    queued = await run_due_reports(ctx, ctx.clock.now(), budget_seconds=50)
    if queued:
        log.info("reports: %d messages queued", queued)


@recorded
async def link_check_job(context: BotContext) -> None:
    """Check the evidence links that are due (weekly; daily 1 Feb–30 Apr); alerts go out
    with the next tick."""
    ctx = context.ctx
    budget = ctx.settings.link_check_interval_seconds * 0.8
    checked = await check_due_links(ctx, ctx.clock.now(), budget_seconds=budget)
    if checked:
        log.info("links: %d checked", checked)


def register_jobs(app: Application[Any, Any, Any, Any, Any, Any], ctx: AppContext) -> None:
    """The bot's periodic jobs: README's "Jobs" table lists the same ones (a test holds it)."""
    jq = app.job_queue
    if jq is None:  # pragma: no cover - the job-queue extra is a dependency
        raise RuntimeError("python-telegram-bot[job-queue] is required")
    every = ctx.settings.tick_seconds
    jq.run_repeating(tick, interval=every, first=2, name="tick", job_kwargs=JOB_KWARGS)
    # the digest and the reports are due at a slot (Monday 08:30, the first working day after
    # a quarter) and logged once each: asking every tick sends a missed one at the first tick
    jq.run_repeating(reports_job, interval=every, first=3, name="reports", job_kwargs=JOB_KWARGS)
    jq.run_daily(
        materialise_job, time=time(0, 30, tzinfo=ctx.tz), name="materialise", job_kwargs=JOB_KWARGS
    )
    jq.run_repeating(
        link_check_job,
        interval=ctx.settings.link_check_interval_seconds,
        first=60,
        name="link_check",
        job_kwargs=JOB_KWARGS,
    )
