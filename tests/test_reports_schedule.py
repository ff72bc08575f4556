"""When the digest and the reports go out: once a week / once a quarter, in civil hours,
across restarts, with a missed slot caught up once."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
from sqlalchemy import select

from bot.holiday_table import load_holiday_table
from bot.reports import default_report_period, report_due, run_due_reports, weekly_due
from bot.reports.service import Delivery
from bot.schedule.policy import SchedulePolicy
from bot.schedule.workdays import WorkCalendar
from bot.services.context import AppContext
from bot.store.db import Database
from bot.store.models import DigestLog, Outbox, OutboxFile
from tests.support.world import World, staff_world
from tests.support.world import test_settings as make_settings
from tests.test_reports_history import BKK, bkk

SETTINGS = make_settings()
CAL = WorkCalendar.government(range(2025, 2029), load_holiday_table())


def weekly(now: datetime, **settings: object) -> str | None:
    due = weekly_due(now, make_settings(**settings), BKK)
    return None if due is None else due.key


def report(now: datetime) -> Delivery | None:
    return report_due(now, SETTINGS, BKK, CAL)


# -- pure: which slot is due --------------------------------------------------------------------


def test_the_weekly_slot_is_monday_0830_and_lasts_until_the_next_slot_day() -> None:
    assert weekly(bkk(2026, 11, 30, 8, 29)) is None  # Monday: wait for 08:30
    assert weekly(bkk(2026, 11, 30, 8, 30)) == "2026-W49"
    assert weekly(bkk(2026, 12, 1, 10)) == "2026-W49"  # Tuesday: a missed Monday
    assert weekly(bkk(2026, 12, 6, 23, 59)) == "2026-W49"  # until Sunday night
    assert weekly(bkk(2026, 12, 7, 0, 0)) is None  # the next slot's day
    assert weekly(bkk(2027, 1, 4, 9)) == "2027-W01"  # ISO weeks
    due = weekly_due(bkk(2026, 11, 30, 9), SETTINGS, BKK)
    assert due is not None and due.slot == bkk(2026, 11, 30, 8, 30)


def test_the_weekly_slot_is_configurable() -> None:
    wed7 = {"digest_weekday": 2, "digest_time": time(7)}
    assert weekly(bkk(2026, 12, 2, 6, 59), **wed7) is None  # Wednesday before 07:00
    assert weekly(bkk(2026, 12, 2, 7, 0), **wed7) == "2026-W49"
    # Monday and Tuesday: last week's Wednesday digest, if it was missed
    assert weekly(bkk(2026, 12, 1, 12), **wed7) == "2026-W48"


def test_the_quarterly_report_waits_for_the_first_working_day_after_the_quarter() -> None:
    # FY 2570 Q1 ends Thu 31 Dec 2026; 31 Dec and 1 Jan are holidays → Monday 4 Jan 2027
    assert report(bkk(2027, 1, 1, 10)) is None
    assert report(bkk(2027, 1, 4, 8, 29)) is None
    due = report(bkk(2027, 1, 4, 8, 30))
    assert due is not None and due.key == "2570Q1" and due.period is not None
    assert due.period.key == "2570Q1" and due.logs == (("quarterly", "2570Q1"),)
    assert due.slot == bkk(2027, 1, 4, 8, 30)
    # still due (to be caught up) later in the quarter
    later = report(bkk(2027, 2, 15))
    assert later is not None and later.key == "2570Q1"


def test_after_q2_it_is_the_six_month_report_after_q4_the_annual_one() -> None:
    half = report(bkk(2027, 4, 1, 9))  # Q2 ends Wed 31 Mar 2027; Thu 1 Apr is a working day
    assert half is not None and half.period is not None
    assert half.period.key == "2570H1"
    assert half.logs == (("quarterly", "2570Q2"), ("half", "2570H1"))
    q3 = report(bkk(2027, 7, 1, 9))
    assert q3 is not None and q3.period is not None and q3.period.key == "2570Q3"
    annual = report(bkk(2027, 10, 1, 9))  # Q4 ends Thu 30 Sep 2027
    assert annual is not None and annual.period is not None
    assert annual.period.key == "2570" and annual.logs == (
        ("quarterly", "2570Q4"),
        ("annual", "2570"),
    )


def test_report_without_a_period_is_the_last_completed_quarters() -> None:
    assert default_report_period(bkk(2026, 11, 26).date()).key == "2569"  # after FY 2569's Q4
    assert default_report_period(bkk(2027, 1, 2).date()).key == "2570Q1"
    assert default_report_period(bkk(2027, 5, 2).date()).key == "2570H1"
    assert default_report_period(bkk(2027, 8, 2).date()).key == "2570Q3"


# -- with a database ----------------------------------------------------------------------------


async def log_rows(db: Database) -> list[tuple[str, str]]:
    async with db.transaction() as s:
        return [
            (r.kind, r.period_key)
            for r in await s.scalars(select(DigestLog).order_by(DigestLog.id))
        ]


async def outbox(db: Database, kind: str) -> list[Outbox]:
    async with db.transaction() as s:
        return list(await s.scalars(select(Outbox).where(Outbox.kind == kind)))


async def run_at(w: World, when: datetime, ctx: AppContext | None = None) -> int:
    w.clock.set(when)
    return await run_due_reports(ctx or w.ctx, when)


@pytest.mark.postgres
async def test_the_digest_goes_out_once_even_across_a_restart(db: Database) -> None:
    w = await staff_world(db)  # created Thu 26 Nov 2026, after this week's slot
    assert await run_at(w, bkk(2026, 11, 26, 10)) == 0
    assert await run_at(w, bkk(2026, 11, 30, 8, 29)) == 0
    assert await run_at(w, bkk(2026, 11, 30, 8, 30)) == 1
    assert await run_at(w, bkk(2026, 11, 30, 8, 31)) == 0
    # a restart: a new context (new caches) on the same database
    restarted = AppContext(settings=w.ctx.settings, clock=w.clock, db=db)
    assert await run_at(w, bkk(2026, 11, 30, 9), restarted) == 0
    assert await run_at(w, bkk(2026, 12, 1, 10), restarted) == 0
    assert await log_rows(db) == [("weekly", "2026-W49")]
    assert len(await outbox(db, "digest")) == 1


@pytest.mark.postgres
async def test_two_workers_at_once_send_one_digest(db: Database) -> None:
    import asyncio

    w = await staff_world(db)
    when = bkk(2026, 11, 30, 8, 30)
    w.clock.set(when)
    other = AppContext(settings=w.ctx.settings, clock=w.clock, db=db)
    counts = await asyncio.gather(run_due_reports(w.ctx, when), run_due_reports(other, when))
    assert sorted(counts) == [0, 1]
    assert len(await outbox(db, "digest")) == 1


async def test_a_missed_monday_is_caught_up_once(db: Database) -> None:
    w = await staff_world(db)
    # the bot was down on Monday 30 Nov and starts on Tuesday
    assert await run_at(w, bkk(2026, 12, 1, 10)) == 1
    assert await run_at(w, bkk(2026, 12, 1, 10, 1)) == 0
    assert await run_at(w, bkk(2026, 12, 2, 10)) == 0
    assert await log_rows(db) == [("weekly", "2026-W49")]


async def test_a_whole_missed_week_is_superseded_by_the_next_digest(db: Database) -> None:
    w = await staff_world(db)
    # down from before Monday 30 Nov; up on Saturday 5 Dec (a weekend: nothing), Monday
    # 7 Dec is a holiday (nothing); Tuesday 8 Dec: this week's digest only
    assert await run_at(w, bkk(2026, 12, 5, 10)) == 0
    assert await run_at(w, bkk(2026, 12, 7, 10)) == 0
    assert await run_at(w, bkk(2026, 12, 8, 10)) == 1
    assert await log_rows(db) == [("weekly", "2026-W50")]


async def test_an_early_office_does_not_get_last_weeks_digest_on_mondays_morning(
    db: Database,
) -> None:
    policy = SchedulePolicy(work_start=time(8, 0))
    w = await staff_world(db, schedule=policy)
    await run_at(w, bkk(2026, 12, 1, 10))  # W49 caught up on Tuesday
    # the office opens at 08:00; at 08:10 on Monday 14 Dec, W50 (never sent: the bot was
    # down all week) is not caught up any more, and W51's slot is at 08:30
    assert await run_at(w, bkk(2026, 12, 14, 8, 10)) == 0
    assert await run_at(w, bkk(2026, 12, 14, 8, 30)) == 1
    assert await log_rows(db) == [("weekly", "2026-W49"), ("weekly", "2026-W51")]


@pytest.mark.parametrize(
    "when",
    [
        bkk(2026, 11, 30, 20, 0),  # Monday night
        bkk(2026, 11, 30, 7, 0),  # Monday, before the office opens
        bkk(2026, 12, 5, 10, 0),  # Saturday
        bkk(2026, 12, 6, 10, 0),  # Sunday
        bkk(2026, 12, 10, 10, 0),  # Constitution Day
    ],
)
async def test_nothing_goes_out_at_night_at_weekends_or_on_holidays(
    sqlite_db: Database, when: datetime
) -> None:
    w = await staff_world(sqlite_db)
    assert await run_at(w, when) == 0
    assert await log_rows(sqlite_db) == []


async def test_the_quarterly_report_goes_out_on_the_first_working_day_after_the_quarter(
    db: Database,
) -> None:
    w = await staff_world(db)
    await run_at(w, bkk(2026, 12, 28, 10))  # this week's digest
    assert await run_at(w, bkk(2026, 12, 31, 10)) == 0  # New Year's Eve: a holiday
    assert await run_at(w, bkk(2027, 1, 1, 10)) == 0  # New Year's Day
    assert await run_at(w, bkk(2027, 1, 4, 8, 30)) == 2  # Monday: the digest and the report
    assert await run_at(w, bkk(2027, 1, 4, 9, 0)) == 0
    assert await run_at(w, bkk(2027, 1, 5, 9, 0)) == 0
    assert ("quarterly", "2570Q1") in await log_rows(db)
    [msg] = await outbox(db, "report")
    assert msg.chat_id == 1005
    assert msg.text.startswith("📑 รายงานผลการดำเนินงาน ไตรมาส ๑/๒๕๗๐")
    async with db.transaction() as s:
        files = list(
            await s.scalars(
                select(OutboxFile)
                .where(OutboxFile.outbox_id == msg.id)
                .order_by(OutboxFile.position)
            )
        )
    assert [(f.kind, f.filename) for f in files] == [
        ("photo", "ita-report-2570Q1.png"),
        ("document", "ita-report-2570Q1.xlsx"),
    ]
    assert files[0].content.startswith(b"\x89PNG") and files[1].content.startswith(b"PK")


async def test_the_six_month_and_annual_reports(db: Database) -> None:
    w = await staff_world(db)
    assert await run_at(w, bkk(2027, 4, 1, 9)) == 2  # Thu 1 Apr 2027: weekly catch-up + H1
    assert await run_at(w, bkk(2027, 10, 1, 9)) == 2  # Fri 1 Oct 2027: weekly + annual
    rows = await log_rows(db)
    assert ("quarterly", "2570Q2") in rows and ("half", "2570H1") in rows
    assert ("quarterly", "2570Q4") in rows and ("annual", "2570") in rows
    texts = sorted(m.text.splitlines()[0] for m in await outbox(db, "report"))
    assert texts == [
        "📑 รายงานผลการดำเนินงาน รอบ ๖ เดือน (รอบ ๖ เดือนแรก ปีงบ ๒๕๗๐)",
        "📑 รายงานผลการดำเนินงานประจำปีงบประมาณ ๒๕๗๐",
    ]


async def test_an_office_created_after_the_quarter_gets_no_report_for_it(db: Database) -> None:
    w = await staff_world(db, start=datetime(2027, 1, 2, 3, tzinfo=UTC))
    assert await run_at(w, bkk(2027, 1, 4, 9)) == 1  # this week's digest, but no Q1 report
    assert await log_rows(db) == [("weekly", "2027-W01")]


async def test_every_office_gets_its_own_and_a_time_budget_defers_the_rest(db: Database) -> None:
    from tests.support.world import make_world

    w = await staff_world(db)
    other = await make_world(db, start=w.clock.now())  # a second office, nobody in it yet
    monday = bkk(2026, 11, 30, 8, 30)
    w.clock.set(monday)
    assert await run_due_reports(w.ctx, monday, budget_seconds=0) == 0  # no time: next tick
    assert await log_rows(db) == []
    assert await run_due_reports(w.ctx, monday, budget_seconds=30) == 1  # only one has a head
    async with db.transaction() as s:
        offices = sorted(r.org_id for r in await s.scalars(select(DigestLog)))
    assert offices == sorted([w.org.id, other.org.id])  # logged even with nobody to tell
