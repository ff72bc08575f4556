"""What an annual results report covers: the fiscal year just ended, named as such
everywhere, while its deadline and the year whose duties it counts among stay."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, update

from bot.catalogue.loader import (
    SHIPPED_CATALOGUE,
    CatalogueError,
    dump_catalogue,
    load_catalogue,
    parse_catalogue,
)
from bot.catalogue.schema import default_reports_on
from bot.cli import main
from bot.clock import FakeClock
from bot.config import Settings
from bot.domain import FrequencyKind, OccStatus
from bot.holiday_table import load_holiday_table
from bot.schedule.policy import SchedulePolicy
from bot.schedule.rules import plan_item
from bot.schedule.workdays import WorkCalendar
from bot.services.materialise import materialise
from bot.store.db import Database
from bot.store.models import Occurrence
from tests.support.botapi import BotApiEmulator
from tests.support.chat import User, chat_harness, text_of
from tests.support.world import chat_world

RESULTS_REPORTS = {"O12", "O20", "O24", "O28", "O41"}
ANALYST = User(1001, "สมชาย")


def test_the_shipped_catalogue_says_which_items_report_on_the_year_before() -> None:
    cat = load_catalogue()
    assert {it.code for it in cat.items if it.reports_on == "previous_fy"} == RESULTS_REPORTS
    for it in cat.items:  # and the importer's rule derives exactly that from title and kind
        assert default_reports_on(it.title, it.frequency.kind) == it.reports_on
    assert default_reports_on("แผนดำเนินงานประจำปี", FrequencyKind.YEARLY) == "current_fy"
    assert default_reports_on("รายงานผลการสำรวจความพึงพอใจ", FrequencyKind.YEARLY) == "current_fy"
    assert default_reports_on("รายงานผลการดำเนินงานประจำปี", FrequencyKind.MONTHLY) == "current_fy"


def test_previous_fy_is_for_yearly_items_only() -> None:
    text = SHIPPED_CATALOGUE.read_text(encoding="utf-8")
    bad = text.replace(
        "  title: สรุปผลการจัดซื้อจัดจ้างหรือการจัดหาพัสดุรายเดือน\n",
        "  title: สรุปผลการจัดซื้อจัดจ้างหรือการจัดหาพัสดุรายเดือน\n  reports_on: previous_fy\n",
    )
    assert bad != text
    with pytest.raises(CatalogueError, match="O23: reports_on: previous_fy is for yearly items"):
        parse_catalogue(bad, "cat.yaml")


def test_the_plan_keeps_the_deadline_and_names_the_year_covered() -> None:
    cal = WorkCalendar.government(range(2026, 2028), load_holiday_table())
    o12 = load_catalogue().item("O12")
    assert o12 is not None
    [occ] = plan_item(o12, 2570, cal, SchedulePolicy())
    assert occ.period.key == "2570" and occ.fiscal_year == 2570 and occ.due == date(2026, 12, 30)
    assert occ.covered.key == "2569"
    assert (occ.covered.start, occ.covered.end) == (date(2025, 10, 1), date(2026, 9, 30))


def test_the_calendar_csv_shows_the_year_covered(
    capsys: pytest.CaptureFixture[str],
) -> None:
    st = Settings(_env_file=None, database_url="sqlite+aiosqlite:///no/such/bot.db")
    clock = FakeClock(datetime(2026, 11, 26, 3, 0, tzinfo=UTC))
    assert main(["calendar", "--fy", "2570", "--format", "csv"], settings=st, clock=clock) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    o12 = [r for r in table if r["item"] == "O12"]
    assert {(r["period"], r["period_start"], r["period_end"]) for r in o12} == {
        ("2569", "2025-10-01", "2026-09-30")
    }
    assert {r["stage"]: r["due_date"] for r in o12}["publish"] == "2026-12-30"
    assert {r["period"] for r in table if r["item"] == "O10"} == {"2570"}  # a plan: this year
    assert {r["period"] for r in table if r["item"] in RESULTS_REPORTS} == {"2569"}


async def test_reminders_and_item_history_name_the_year_covered(db: Database) -> None:
    w = await chat_world(db)
    async with db.transaction() as s:
        o12 = await s.scalar(select(Occurrence).where(Occurrence.code == "O12"))
    assert o12 is not None
    assert (o12.fiscal_year, o12.period_key, o12.covers_key) == (2570, "2570", "2569")
    assert (o12.period_start, o12.period_end) == (date(2025, 10, 1), date(2026, 9, 30))
    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        async with chat_harness(w, emu) as h:
            w.clock.set(datetime(2026, 12, 16, 2, 0, tzinfo=UTC))  # 7 days before prepare
            [reminder] = [c for c in await h.tick() if c.chat_id == ANALYST.id]
            text = reminder.params["text"]
            assert "O12 รายงานผลการดำเนินงานประจำปี [ปีงบ ๒๕๖๙]" in text
            assert "O10 แผนดำเนินงานประจำปี [ปีงบ ๒๕๗๐]" in text
            history = text_of(await h.say(ANALYST, "/item O12"))
            assert "ปีงบ ๒๕๖๙" in history and "ปีงบ ๒๕๗๐" not in history


@pytest.mark.postgres
async def test_stored_occurrences_are_relabelled_done_ones_too(db: Database) -> None:
    w = await chat_world(db)
    async with db.transaction() as s:  # as a database from before this change held them
        await s.execute(
            update(Occurrence)
            .where(Occurrence.code.in_(RESULTS_REPORTS), Occurrence.fiscal_year == 2570)
            .values(covers_key=None, period_start=date(2026, 10, 1), period_end=date(2027, 9, 30))
        )
        await s.execute(
            update(Occurrence)
            .where(Occurrence.code == "O20", Occurrence.fiscal_year == 2570)
            .values(status=OccStatus.DONE.value, stage="done", next_remind_at=None)
        )
    stats = await materialise(w.ctx, w.clock.now())
    assert stats.created == 0 and stats.rescheduled == 0  # labels, not deadlines
    async with db.transaction() as s:
        rows = list(
            await s.scalars(
                select(Occurrence).where(
                    Occurrence.code.in_(RESULTS_REPORTS), Occurrence.fiscal_year == 2570
                )
            )
        )
    assert {(o.code, o.covered_key, o.period_start) for o in rows} == {
        (code, "2569", date(2025, 10, 1)) for code in RESULTS_REPORTS
    }


def test_the_catalogue_file_keeps_the_field() -> None:
    text = dump_catalogue(load_catalogue())
    assert text.count("reports_on: previous_fy") == len(RESULTS_REPORTS)
    assert "reports_on: current_fy" not in text  # the default is left out
