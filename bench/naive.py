"""The naive design every figure is measured against: one APScheduler job per reminder.

At materialisation it adds one ``DateTrigger`` job to a ``MemoryJobStore`` for every
reminder slot (7 days before, 1 day before, the day) of every stage of every occurrence
of the fiscal year, for every office; at 09:00 the scheduler fires that morning's jobs,
and each job sends its message at once, with no limiter.

The baseline is given its best case wherever there is a choice:

* jobs are added in run-time order with increasing ids, so every ``MemoryJobStore``
  insert is an append (its list is kept sorted by run time and id; added in any other
  order, each insert shifts the tail of a list of millions of entries and building a
  national year becomes quadratic);
* the store is a plain in-memory list: no persistence, so a restart would lose every job;
* only the slots up to each deadline are scheduled (the overdue reminders every working
  day could not be scheduled in advance at all).
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from apscheduler.job import Job
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from telegram import Bot
from telegram.error import RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from bench.common import percentile, settle_memory
from bench.scene import plan_of
from bot.schedule.reminders import reminder_slots
from bot.services.context import AppContext

Slot = tuple[str, str, str]  # code, period key, stage
#: How long the naive dispatch may take before the benchmark gives up on it.
WAIT_SECONDS = 120.0


def send_reminder(org_id: int, code: str, period_key: str, stage: str) -> None:
    """What a naive job would run (never called here: the scheduler stays paused)."""


def slots_by_instant(ctx: AppContext, fy: int) -> list[tuple[datetime, list[Slot]]]:
    """Every reminder slot of one office's fiscal year, grouped by instant, in time order."""
    cal = ctx.calendar(fy)
    out: dict[datetime, list[Slot]] = defaultdict(list)
    for p in plan_of(ctx, fy):
        for st in p.stages:
            for s in reminder_slots(st.due, cal, ctx.policy, ctx.tz, until=st.due):
                out[s.at].append((p.code, p.period.key, st.stage.value))
    return sorted(out.items())


@dataclass
class NaiveScheduler:
    scheduler: BackgroundScheduler
    jobs: int
    build_seconds: float
    memory_bytes: int  # RSS growth from building and starting it

    @property
    def store(self) -> MemoryJobStore:
        store: MemoryJobStore = self.scheduler._lookup_jobstore("default")
        return store

    def shutdown(self) -> None:
        self.scheduler.shutdown(wait=False)
        self.store.remove_all_jobs()


def _job_id(n: int) -> str:
    return f"remind-{n:010d}"


def build(ctx: AppContext, fy: int, org_ids: Sequence[int]) -> NaiveScheduler:
    """One job per reminder slot of every office's year, in a started (paused) scheduler."""
    slots = slots_by_instant(ctx, fy)
    before = settle_memory()
    t0 = time.perf_counter()
    scheduler = BackgroundScheduler(jobstores={"default": MemoryJobStore()}, timezone=ctx.tz)
    n = 0
    for at, group in slots:
        for org_id in org_ids:
            for code, period_key, stage in group:
                scheduler.add_job(
                    send_reminder,
                    DateTrigger(at),
                    args=(org_id, code, period_key, stage),
                    id=_job_id(n),
                    misfire_grace_time=None,
                )
                n += 1
    scheduler.start(paused=True)  # the pending jobs go into the store
    seconds = time.perf_counter() - t0
    return NaiveScheduler(scheduler, n, seconds, settle_memory() - before)


@dataclass
class NaiveTick:
    due_jobs: int
    fetch_seconds: float
    office_seconds: list[float] = field(default_factory=list)

    @property
    def office_p50(self) -> float:
        return percentile(self.office_seconds, 50)

    @property
    def office_p95(self) -> float:
        return percentile(self.office_seconds, 95)


def _drop_fired(naive: NaiveScheduler, at: datetime) -> int:
    """The store as it stands at ``at``: the jobs before it have fired and gone.

    Removing them one by one through the public API shifts the whole list each time
    (hours at national scale), so the fired prefix is cut in one go.
    """
    store = naive.store
    jobs: list[tuple[Job, float]] = store._jobs
    cut = bisect.bisect_left([ts for _, ts in jobs], at.timestamp())
    for job, _ in jobs[:cut]:
        del store._jobs_index[job.id]
    del jobs[:cut]
    return cut


def tick(naive: NaiveScheduler, at: datetime, *, offices: int) -> NaiveTick:
    """What the naive scheduler does at 09:00 on the busiest day.

    ``get_due_jobs`` returns every job due (one call for the whole country); then each
    fired ``DateTrigger`` job is removed from the store, as ``_process_jobs`` does.  The
    per-office figure is that removal for one office's jobs (the first ``offices``
    offices): the counterpart of our claim of one office's due stages.
    """
    _drop_fired(naive, at)
    t0 = time.perf_counter()
    due = naive.store.get_due_jobs(at)
    fetch = time.perf_counter() - t0
    by_office: dict[int, list[Job]] = defaultdict(list)
    for job in due:
        by_office[job.args[0]].append(job)
    result = NaiveTick(len(due), fetch)
    for org_id in sorted(by_office)[:offices]:
        t0 = time.perf_counter()
        for job in by_office[org_id]:
            job.trigger.get_next_fire_time(job.next_run_time, at)
            naive.scheduler.remove_job(job.id, "default")
        result.office_seconds.append(time.perf_counter() - t0)
    return result


# -- dispatch --------------------------------------------------------------------------------


@dataclass
class NaiveDispatch:
    messages: int
    delivered: int = 0
    rate_limited: int = 0  # 429s seen by the jobs (each one a lost message: no retry)
    other_errors: int = 0
    seconds: float = 0.0
    send_times: list[float] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return self.messages - self.delivered


async def dispatch(base_url: str, token: str, wave: Sequence[tuple[int, str]]) -> NaiveDispatch:
    """One job per message, all due at the same instant, each sending at once."""
    bot = Bot(
        token,
        base_url=f"{base_url}/bot",
        base_file_url=f"{base_url}/file/bot",
        request=HTTPXRequest(connection_pool_size=8),
    )
    result = NaiveDispatch(len(wave))
    done = asyncio.Event()
    finished = 0
    started: list[float] = []

    async def send(chat_id: int, text: str) -> None:
        nonlocal finished
        if not started:
            started.append(time.perf_counter())
        try:
            await bot.send_message(chat_id=chat_id, text=text)
            result.delivered += 1
            result.send_times.append(time.perf_counter())
        except RetryAfter:
            result.rate_limited += 1
        except TelegramError:
            result.other_errors += 1
        finally:
            finished += 1
            if finished == len(wave):
                done.set()

    async with bot:
        scheduler = AsyncIOScheduler(timezone=UTC)
        at = datetime.now(UTC) + timedelta(seconds=1)
        for chat_id, text in wave:
            scheduler.add_job(send, DateTrigger(at), args=(chat_id, text), misfire_grace_time=None)
        scheduler.start()
        try:
            await asyncio.wait_for(done.wait(), WAIT_SECONDS)
        finally:
            scheduler.shutdown(wait=False)
        result.seconds = time.perf_counter() - started[0]
    return result
