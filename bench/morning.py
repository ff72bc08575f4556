"""The lateness of the busiest morning: the bot as it runs, from 09:00 to its last reminder.

    python -m bench.morning --orgs 1000 --db sqlite --cap 500     # the quick form
    python -m bench.morning --orgs 7850 --db sqlite --cap 500     # national scale

A fresh national dataset, FY 2570 materialised and every office moved to the busiest
morning (bench.scene); then the application as ``python -m bot run`` builds it (its
periodic jobs on PTB's JobQueue, its continuously running sender) starts ``--before``
seconds before 09:00 (4 minutes: the running bot composes the slot's reminders up to
``REMINDER_COMPOSE_AHEAD_SECONDS``, 5 minutes, ahead and holds them until 09:00; ``--before
0`` starts it at 09:00, composing while it sends) on a clock that runs from there in real time, against the Bot API emulator, with the
configured cap raised to ``--cap`` messages a second (the emulator does not enforce
Telegram's own 30 a second here, so the run takes minutes, not the real 47).  The tick
composes the morning in its share of each 30 s tick while the sender delivers; the other
periodic jobs are left out (the fake morning owes a weekly digest, which is not the
morning's reminders).

The emulator runs in a process of its own (``bench/emuproc.py``), as Telegram is not in
the bot's process: in the bench's it would take the bot's interpreter lock for its own
HTTP handling.

``morning_lateness_s``: from 09:00 to the last of the morning's messages reaching the
emulator; printed next to ``N/cap`` (the messages over the cap: the time the cap alone
needs).  Target: ``morning_lateness_s`` ≤ ``N/cap + 60 s``.  Beside it, in the same run,
``morning_http_floor_msgs_per_s``: a bare HTTP client sending one of the morning's
messages to the same emulator (``bench/httpfloor.py``), and the bot's rate over it.
``--rate-limiter memory`` runs the sender with this process's own limiter instead of the
one shared in the database (what ``run`` uses), to show what the sharing costs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select

from bench.common import (
    BACKENDS,
    FISCAL_YEAR,
    FY_START,
    NATIONAL_ORGS,
    TOKEN,
    Backend,
    BenchDatabase,
    create_database,
    emit,
    verdict,
)
from bench.dataset import analyse, emit_stats, generate
from bench.emuproc import EmulatorProcess
from bench.httpfloor import http_floor
from bench.scene import busiest_day, set_scene
from bot.app import build_application, start_sender
from bot.clock import FakeClock, ShiftedClock
from bot.domain import OutboxStatus
from bot.services.context import AppContext
from bot.services.materialise import materialise
from bot.services.transport import buttons_from_stored
from bot.store.models import Occurrence, Outbox
from bot.telegram.transport import markup

SLACK_SECONDS = 60.0


async def _left(bench: BenchDatabase, at: datetime) -> tuple[int, int]:
    """Stages still due from 09:00, and messages not yet sent."""
    async with bench.db.transaction() as s:
        due = await s.scalar(
            select(func.count()).select_from(Occurrence).where(Occurrence.next_remind_at <= at)
        )
        pending = await s.scalar(
            select(func.count()).select_from(Outbox).where(Outbox.status != OutboxStatus.SENT.value)
        )
    return int(due or 0), int(pending or 0)


async def _done(bench: BenchDatabase, at: datetime) -> tuple[bool, bool]:
    """Whether every stage due from 09:00 is claimed, and whether nothing is left to send:
    one indexed row each at most (the bench asks every second, and on SQLite each asking
    takes a turn at the write lock: counting 300,000 stages would hold up the sender)."""
    unsent = (OutboxStatus.PENDING.value, OutboxStatus.SENDING.value)
    async with bench.db.transaction() as s:
        due = await s.scalar(select(Occurrence.id).where(Occurrence.next_remind_at <= at).limit(1))
        left = await s.scalar(select(Outbox.id).where(Outbox.status.in_(unsent)).limit(1))
    return due is None, left is None


async def morning(
    bench: BenchDatabase, at: datetime, cap: int, limit: float, limiter: str, before: float
) -> tuple[int, float, int]:
    """Run the bot from ``before`` seconds before 09:00 until the morning is delivered:
    (messages, lateness from 09:00, messages sent before 09:00)."""
    with EmulatorProcess(TOKEN) as emu:
        settings = bench.settings(telegram_api_base_url=emu.base_url)
        # above Telegram's 30, which the settings refuse
        update = {"rate_global_per_second": cap, "rate_limiter": limiter}
        settings = settings.model_copy(update=update)
        start = at - timedelta(seconds=before)
        clock, t0 = ShiftedClock(start), time.monotonic()  # then real time
        t9 = t0 + before  # 09:00 on that clock
        app = build_application(settings, clock=clock, db=bench.db, with_jobs=True, startup=False)
        assert app.job_queue is not None
        for name in ("reports", "link_check", "materialise"):  # the morning's own work only:
            for job in app.job_queue.jobs():  # (the digest this clock owes is not reminders)
                if job.name == name:
                    job.schedule_removal()
        async with app:
            sender = await start_sender(app)
            await app.start()
            composed = None
            try:
                while clock.monotonic() - t9 < limit:
                    await asyncio.sleep(1.0)
                    claimed, delivered = await _done(bench, at)
                    if claimed and composed is None:
                        composed = clock.monotonic() - t9  # < 0: before 09:00
                        emit("morning_composed_s", composed)  # every stage claimed, queued
                    if claimed and delivered:
                        break
            finally:
                await sender.stop()
                await app.stop()
        sent = emu.arrivals()
    arrived = sorted(t - t9 for t, _ in sent)
    early = sum(1 for a in arrived if a < 0)
    emit("morning_sent_before_0900", early)  # held until their slot: 0
    if arrived:
        emit("morning_arrival_p50_s", arrived[len(arrived) // 2])
        emit("morning_arrival_p99_s", arrived[int(len(arrived) * 0.99)])
    return len(sent), arrived[-1] if arrived else 0.0, early


async def run_one(
    backend: Backend, orgs: int, cap: int, limit: float, limiter: str, before: float
) -> None:
    emit("db", backend)
    emit("rate_limiter", limiter)
    emit("morning_started_before_0900_s", before)
    bench = await create_database(backend)
    try:
        emit_stats(await generate(bench, orgs))
        ctx = AppContext(settings=bench.settings(), clock=FakeClock(FY_START), db=bench.db)
        await materialise(ctx, FY_START, fiscal_years=[FISCAL_YEAR])
        busy = busiest_day(ctx, FISCAL_YEAR)
        emit("due_stages", await set_scene(bench, ctx, FISCAL_YEAR, busy.day))
        await analyse(bench)
        delivered, lateness, early = await morning(bench, busy.at, cap, limit, limiter, before)
        due, pending = await _left(bench, busy.at)
        async with bench.db.transaction() as s:
            n = int(await s.scalar(select(func.count()).select_from(Outbox)) or 0)
            sample = (await s.execute(select(Outbox.text, Outbox.reply_markup).limit(1))).one()
    finally:
        await bench.drop()
    emit("morning_messages", n)
    emit("morning_delivered", delivered)
    rate = delivered / lateness if lateness else 0.0
    emit("morning_delivered_msgs_per_s", rate)
    buttons = markup(buttons_from_stored(sample.reply_markup))  # as the bot sends them
    floor = await http_floor(sample.text or "", buttons.to_dict() if buttons else None)
    emit("morning_http_floor_msgs_per_s", floor)  # a bare client, the same emulator
    emit("morning_delivered_over_http_floor", rate / floor)
    emit("morning_cap_msgs_per_s", cap)
    emit("morning_n_over_cap_s", n / cap)
    emit("morning_lateness_s", lateness)
    emit("morning_left_undelivered", pending + due)
    ok = pending == due == early == 0 and lateness <= n / cap + SLACK_SECONDS
    emit(f"target_{backend}_lateness_le_n_over_cap_plus_60s", verdict(ok, orgs))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=(*BACKENDS, "both"), default="sqlite")
    parser.add_argument("--orgs", type=int, default=NATIONAL_ORGS)
    parser.add_argument("--cap", type=int, default=500)
    parser.add_argument("--limit", type=float, default=1800.0, help="give up after (seconds)")
    parser.add_argument(
        "--before",
        type=float,
        default=240.0,
        help="start the bot this many seconds before 09:00 (0: at 09:00)",
    )
    parser.add_argument(
        "--rate-limiter",
        choices=("database", "memory"),
        default="database",
        help="RATE_LIMITER: shared in the database (run's default) or this process's own",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    backends: list[Backend] = list(BACKENDS) if args.db == "both" else [args.db]

    async def run() -> None:
        for b in backends:
            await run_one(b, args.orgs, args.cap, args.limit, args.rate_limiter, args.before)

    asyncio.run(run())


if __name__ == "__main__":
    main()
