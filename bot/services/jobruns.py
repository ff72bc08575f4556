"""Each periodic job records its runs in ``job_run``, for ``python -m bot health``.

:func:`recorded` wraps a job callback: when it starts, its row gets the start time and
the time it is next due (asked of its trigger, on the application's clock); when it ends,
whether it succeeded.  The same write gives every other job of the queue that has not run
yet a row with its first due time, and drops the rows of jobs the queue no longer has, so
the table is always the running bot's list of jobs.

Recording never breaks a job: a write that fails is logged and dropped, and the job goes
on.  While the database cannot be reached, a job's failure and its recording's are counted
in the process's one database outage (``AppContext.db_outage``: a line when it begins, one
when it ends), not logged each time; the next run tries again.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from telegram.ext import Job

from bot.logs import reason
from bot.services.context import AppContext
from bot.services.deliverypause import DELIVERY_ROW
from bot.store.db import unavailable
from bot.store.models import JobRun
from bot.telegram.context import BotContext

log = logging.getLogger(__name__)

__all__ = ["reason", "recorded", "schedule_of"]

JobCallback = Callable[[BotContext], Coroutine[Any, Any, None]]


def recorded(job: JobCallback) -> JobCallback:
    """``job``, writing each of its runs to ``job_run``."""
    warned: set[type[BaseException]] = set()

    async def quietly(ctx: AppContext, write: Coroutine[Any, Any, None]) -> None:
        try:
            await write
            if ctx.db_outage.ongoing:  # a write went through: the database is back
                ctx.db_outage.ok()
        except Exception as exc:
            if unavailable(exc):  # the database is away: one account of it for the process
                ctx.db_outage.failed(exc)
                return
            level = logging.DEBUG if type(exc) in warned else logging.WARNING
            warned.add(type(exc))
            log.log(level, "could not record a run of %s: %s", job.__name__, reason(exc))

    @functools.wraps(job)
    async def run(context: BotContext) -> None:
        ctx = context.ctx
        this = context.job
        name = this.name if this is not None and this.name else job.__name__
        others = [j for j in (context.job_queue.jobs() if context.job_queue else ()) if j.name]
        await quietly(ctx, _started(ctx, name, this, others))
        try:
            await job(context)
        except Exception as exc:
            if unavailable(exc):  # told once by the outage, tried again at the next run
                ctx.db_outage.failed(exc)
                return
            await quietly(ctx, _finished(ctx, name, error=reason(exc)))
            raise
        await quietly(ctx, _finished(ctx, name, error=None))

    return run


def schedule_of(job: Job[Any] | None, after: datetime) -> tuple[datetime | None, int | None]:
    """When ``job`` next fires after ``after`` (on the caller's clock), and its period."""
    trigger = getattr(getattr(job, "job", None), "trigger", None)
    if trigger is None:
        return None, None
    first = trigger.get_next_fire_time(after, after)
    second = trigger.get_next_fire_time(first, first) if first is not None else None
    every = int((second - first).total_seconds()) if first and second else None
    return first, every


def _upsert(session: AsyncSession, values: dict[str, Any]) -> Any:
    ins = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    return ins(JobRun).values(**values)


async def _started(ctx: AppContext, name: str, this: Job[Any] | None, jobs: list[Job[Any]]) -> None:
    now = ctx.clock.now()
    next_due, every = schedule_of(this, now)
    async with ctx.db.transaction() as s:
        # the other jobs' rows only when they are missing or gone, so that jobs running at
        # the same time each write their own row and nothing else
        existing = set(await s.scalars(select(JobRun.name)))
        for other in jobs:
            if other.name and other.name != name and other.name not in existing:
                due, period = schedule_of(other, now)
                stmt = _upsert(
                    s, {"name": other.name, "runs": 0, "next_due_at": due, "every_seconds": period}
                )
                await s.execute(stmt.on_conflict_do_nothing(index_elements=["name"]))
        # (the delivery pause's row is no job's: bot.services.deliverypause keeps it)
        keep = {name, DELIVERY_ROW, *(j.name for j in jobs if j.name)}
        gone = existing - keep if jobs else set()
        if gone:
            await s.execute(delete(JobRun).where(JobRun.name.in_(gone)))
        mine = {
            "worker_id": ctx.settings.worker_id,
            "every_seconds": every,
            "next_due_at": next_due,
            "started_at": now,
            "finished_at": None,
            "ok": None,
            "error": None,
        }
        stmt = _upsert(s, {"name": name, "runs": 1, **mine})
        await s.execute(
            stmt.on_conflict_do_update(
                index_elements=["name"], set_={**mine, "runs": JobRun.runs + 1}
            )
        )


async def _finished(ctx: AppContext, name: str, *, error: str | None) -> None:
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        row = await s.get(JobRun, name)
        if row is None:  # its start could not be written
            return
        row.finished_at, row.ok, row.error = now, error is None, error
        if error is None:
            row.last_ok_at = now
