"""Run the bot as ``python -m bot run`` builds it over weeks of an injected clock.

:class:`Simulation` builds the application with :func:`bot.app.build_application` (its
JobQueue jobs, its start-up with the running sender) against the Bot API emulator, and moves
a :class:`~bot.clock.FakeClock` forward.  It never hard-codes when a job runs: each job
fires at the times its own APScheduler trigger gives.  Like the scheduler with
``coalesce=True`` when it looks only now and then, a job due several times since the last
look runs once, at the latest of those times; the test says how often to look (``hops``).
After each run it waits until the sender has delivered everything due.
"""

from __future__ import annotations

import asyncio
import math
from datetime import datetime, timedelta
from typing import Any

from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func, or_, select
from telegram.ext import Application, Job

from bot.app import build_application
from bot.clock import FakeClock
from bot.config import Settings
from bot.domain import OutboxStatus
from bot.store.db import Database
from bot.store.models import Outbox

#: How far :meth:`Simulation.settle` lets the clock run on to a row about to fall due.
PASSING_SECONDS = 65.0

App = Application[Any, Any, Any, Any, Any, Any]


def latest_fire(job: Job[Any], after: datetime, until: datetime) -> datetime | None:
    """The latest time in ``(after, until]`` at which ``job``'s trigger fires, or None."""
    trigger = job.job.trigger
    if isinstance(trigger, IntervalTrigger):
        # the trigger's times are start_date + k·interval; its start_date is real time (when
        # the job was added), so the lattice is extended back to the simulated dates
        step = trigger.interval.total_seconds()
        k = math.floor((until - trigger.start_date).total_seconds() / step)
        at: datetime = trigger.start_date + timedelta(seconds=k * step)
        return at if at > after else None
    found = None
    at = trigger.get_next_fire_time(None, after + timedelta(microseconds=1))
    while at is not None and at <= until:
        found = at
        at = trigger.get_next_fire_time(at, at + timedelta(microseconds=1))
    return found


class Simulation:
    def __init__(self, settings: Settings, clock: FakeClock, db: Database) -> None:
        self.settings = settings
        self.clock = clock
        self.db = db
        self.app: App | None = None
        self.last_look: datetime = clock.now()
        self.fired: list[tuple[str, datetime]] = []

    async def start(self) -> App:
        """What ``run_polling`` does before it polls: initialize, then the start-up."""
        app = build_application(self.settings, clock=self.clock, db=self.db)
        await app.initialize()
        assert app.post_init is not None
        await app.post_init(app)
        self.app, self.last_look = app, self.clock.now()
        return app

    async def stop(self) -> None:
        app, self.app = self.app, None
        assert app is not None and app.post_shutdown is not None
        await app.post_shutdown(app)
        await app.shutdown()

    def jobs(self) -> list[Job[Any]]:
        assert self.app is not None and self.app.job_queue is not None
        return list(self.app.job_queue.jobs())

    async def look(self, until: datetime) -> None:
        """Move the clock to ``until``, running each job that fell due meanwhile (once)."""
        due = sorted(
            (at, job.name or "", job)
            for job in self.jobs()
            if (at := latest_fire(job, self.last_look, until)) is not None
        )
        for at, name, job in due:
            if at > self.clock.now():
                self.clock.set(at)
            assert self.app is not None
            await job.run(self.app)
            self.fired.append((name, at))
            await self.settle()
        if until > self.clock.now():
            self.clock.set(until)
        self.last_look = max(until, self.clock.now())

    async def skip(self, until: datetime) -> None:
        """The bot is down: time passes, nothing runs."""
        self.clock.set(until)
        self.last_look = until

    async def settle(self) -> None:
        """Wait (in real time, a minute at most) until the sender has sent every row due.  A
        row due within :data:`PASSING_SECONDS` (a chat's second after its last message, a
        group's minute) is waited for too: the clock is moved to it, as real time would."""
        async with asyncio.timeout(60):
            while True:
                while await self._in_hand():  # noqa: ASYNC110 - a table has no event to await
                    await asyncio.sleep(0.005)
                soon = await self._next_pending()
                if soon is None or soon - self.clock.now() > timedelta(seconds=PASSING_SECONDS):
                    return
                self.clock.set(max(soon, self.clock.now()))
                assert self.app is not None
                self.app.bot_data["sender"].poke()

    async def _next_pending(self) -> datetime | None:
        async with self.db.transaction() as s:
            at: datetime | None = await s.scalar(
                select(func.min(Outbox.next_attempt_at)).where(
                    Outbox.status == OutboxStatus.PENDING.value
                )
            )
        return at

    async def _in_hand(self) -> int:
        async with self.db.transaction() as s:
            n = await s.scalar(
                select(func.count())
                .select_from(Outbox)
                .where(
                    or_(
                        Outbox.status == OutboxStatus.SENDING.value,
                        (Outbox.status == OutboxStatus.PENDING.value)
                        & (Outbox.next_attempt_at <= self.clock.now()),
                    )
                )
            )
        return int(n or 0)
