"""A quarter of the running bot: the application as ``python -m bot run`` builds it, with its
JobQueue jobs and its sender, against the Bot API emulator, on an injected clock from
1 October 2026 to 6 January 2027.  Each job runs at the times its own trigger gives
(tests/support/simulate.py); nobody in the office does anything, so items fall overdue.

Asserted day by day: reminders only at the 09:00 slot of working days; nothing at night, at
weekends or on Thai holidays; escalation to the head after 3 working days overdue; the digest
every Monday (or the next working day) exactly once; the Q1 report with its XLSX on Monday
4 January 2027; materialisation every day; a restart over a Monday's digest slot that
duplicates nothing and loses nothing.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.domain import OutboxStatus
from bot.schedule.workdays import WorkCalendar
from bot.services.context import AppContext
from bot.store.db import Database
from bot.store.models import JobRun, Occurrence, Outbox
from bot.telegram.context import app_context
from tests.support.botapi import BotApiEmulator, Call
from tests.support.simulate import Simulation
from tests.support.world import World, chat_world

BKK = ZoneInfo("Asia/Bangkok")
START = datetime(2026, 10, 1, 6, 0, tzinfo=BKK)
END = datetime(2027, 1, 6, 23, 59, tzinfo=BKK)
RESTART_DAY = date(2026, 11, 16)  # a Monday: the bot is down over its 08:30 digest slot
DOWN, UP = time(8, 10), time(8, 50)
HEAD_CHAT = 1005
SEND = ("sendMessage", "sendPhoto", "sendDocument")


def looks() -> list[datetime]:
    """When the simulation looks at the triggers (30 s past the hour, so that the jobs due at
    a full hour have run): hourly in the day, at the 08:30 slot, every 4 hours at night."""
    out = []
    day = START.date()
    while day <= END.date():
        hours = [1, 5, *range(7, 18), 21]
        times = sorted([time(h, 0, 30) for h in hours] + [time(8, 30, 30)])
        out += [at for t in times if START < (at := datetime.combine(day, t, BKK)) <= END]
        day += timedelta(days=1)
    return out


def local(at: datetime | float) -> datetime:
    if isinstance(at, float):
        return datetime.fromtimestamp(at, UTC).astimezone(BKK)
    return at.astimezone(BKK)


async def run_quarter(w: World, emu: BotApiEmulator) -> tuple[Simulation, AppContext]:
    settings = w.ctx.settings.model_copy(update={"telegram_api_base_url": emu.base_url})
    sim = Simulation(settings, w.clock, w.ctx.db)
    app = await sim.start()
    ctx = app_context(app)
    down = datetime.combine(RESTART_DAY, DOWN, BKK)
    restarted = False
    for at in looks():
        if not restarted and at >= down:
            await sim.stop()
            await sim.skip(datetime.combine(RESTART_DAY, UP, BKK))
            await sim.start()  # a new process: a new application on the same database
            restarted = True
        await sim.look(at)
    await sim.stop()
    return sim, ctx


def expected_digest_days(cal: WorkCalendar) -> set[date]:
    days = set()
    monday = date(2026, 10, 5)
    while monday <= END.date():
        week = [monday + timedelta(days=i) for i in range(7)]
        first = next((d for d in week if cal.is_working_day(d) and d <= END.date()), None)
        if first is not None:
            days.add(first)
        monday += timedelta(days=7)
    return days


async def outbox(db: Database) -> list[Outbox]:
    async with db.transaction() as s:
        return list(await s.scalars(select(Outbox).order_by(Outbox.id)))


@pytest.mark.slow
async def test_a_quarter_of_the_running_bot(sqlite_db: Database) -> None:
    w = await chat_world(sqlite_db, start=START.astimezone(UTC))
    with BotApiEmulator(clock=lambda: w.clock.now().timestamp()) as emu:
        sim, ctx = await run_quarter(w, emu)
    cal = ctx.calendar(2570)
    policy = ctx.policy
    rows = await outbox(sqlite_db)
    sent = [r for r in rows if r.status == OutboxStatus.SENT.value]
    calls = [c for c in emu.calls() if c.method in SEND and c.ok]

    # nothing at night, at weekends or on holidays: every message went out in civil hours
    for c in calls:
        t = local(c.at)
        assert cal.is_working_day(t.date()), (t, c)
        assert policy.work_start <= t.time() < policy.work_end, (t, c)

    # reminders only at the 09:00 slot
    reminders = [r for r in sent if r.kind == "reminder"]
    assert len({local(r.sent_at).date() for r in reminders if r.sent_at}) > 5
    for r in reminders:
        assert r.sent_at is not None
        assert time(9, 0) <= local(r.sent_at).time() < time(9, 10), r.sent_at

    await check_escalations(sqlite_db, cal, sent)
    check_reports(sent, calls, cal)
    check_materialise(sim)
    await check_nothing_lost_or_twice(sqlite_db, rows, calls)


async def check_escalations(db: Database, cal: WorkCalendar, sent: list[Outbox]) -> None:
    escalations = [r for r in sent if r.kind == "escalation"]
    assert escalations and {r.chat_id for r in escalations} == {HEAD_CHAT}
    async with db.transaction() as s:
        occs = {o.id: o for o in await s.scalars(select(Occurrence))}
    checked = 0
    for r in escalations:
        assert r.sent_at is not None and local(r.sent_at).time() < time(9, 10)
        for occ_id in r.items or []:
            occ = occs[occ_id]
            assert occ.current_due is not None
            overdue = cal.between(occ.current_due, local(r.sent_at).date())
            if occ.current_due >= START.date():  # fell overdue in the simulated quarter
                assert overdue == 3, (occ.code, occ.current_due, r.sent_at)
                checked += 1
            else:
                assert overdue >= 3
    assert checked > 0


def check_reports(sent: list[Outbox], calls: list[Call], cal: WorkCalendar) -> None:
    digests = [r for r in sent if r.kind == "digest"]
    reports = [r for r in sent if r.kind == "report"]
    # the head's, and only the head's
    assert {r.chat_id for r in digests + reports} == {HEAD_CHAT}
    files = [c for c in calls if c.method in ("sendPhoto", "sendDocument")]
    assert {c.chat_id for c in files} == {HEAD_CHAT}
    days = Counter(local(r.sent_at).date() for r in digests if r.sent_at)
    assert set(days) == expected_digest_days(cal) and set(days.values()) == {1}, days
    assert date(2026, 12, 8) in days  # Monday 7 December is a holiday: Tuesday
    assert days[RESTART_DAY] == 1
    for r in digests:
        assert r.sent_at is not None and local(r.sent_at).time() >= time(8, 30)
    [report] = reports
    assert report.sent_at is not None and local(report.sent_at).date() == date(2027, 1, 4)
    [xlsx] = [c for c in files if c.method == "sendDocument"]
    assert xlsx.filenames and next(iter(xlsx.filenames.values())) == "ita-report-2570Q1.xlsx"
    assert local(xlsx.at).date() == date(2027, 1, 4)


def check_materialise(sim: Simulation) -> None:
    runs = [at for name, at in sim.fired if name == "materialise"]
    days = [local(at).date() for at in runs]
    first = START.date() + timedelta(days=1)
    assert days == [first + timedelta(days=i) for i in range((END.date() - first).days + 1)]
    assert {local(at).time() for at in runs} == {time(0, 30)}


async def check_nothing_lost_or_twice(db: Database, rows: list[Outbox], calls: list[Call]) -> None:
    assert {r.status for r in rows} <= {OutboxStatus.SENT.value, OutboxStatus.PENDING.value}
    waiting = [r for r in rows if r.status == OutboxStatus.PENDING.value]
    assert all(local(r.next_attempt_at) > END - timedelta(days=1) for r in waiting)
    texts = [c for c in calls if c.method == "sendMessage"]
    assert len(texts) == sum(1 for r in rows if r.status == OutboxStatus.SENT.value)
    ids = [(r.chat_id, r.telegram_message_id) for r in rows if r.telegram_message_id is not None]
    assert len(ids) == len(set(ids))
    async with db.transaction() as s:
        jobs = {j.name: j for j in await s.scalars(select(JobRun))}
    assert set(jobs) == {"tick", "reports", "materialise", "link_check"}
    assert all(j.ok for j in jobs.values()), {n: j.error for n, j in jobs.items()}
