"""Plain-date tests of working days, occurrences, stage deadlines and reminder slots."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.catalogue.schema import Rule
from bot.domain import DueDate, FrequencyKind, Kind, Stage
from bot.holiday_table import load_holiday_table
from bot.schedule.policy import SchedulePolicy
from bot.schedule.reminders import (
    SlotKind,
    is_working_time,
    next_slot,
    next_working_time,
    reminder_slots,
)
from bot.schedule.rules import plan_activity, plan_change, plan_fiscal_year, plan_item
from bot.schedule.workdays import WorkCalendar
from tests.support.catalogues import item, tiny_catalogue

BKK = ZoneInfo("Asia/Bangkok")
CAL = WorkCalendar.government(range(2024, 2030), load_holiday_table())
POLICY = SchedulePolicy()


def test_weekends_and_holidays_are_not_working_days() -> None:
    assert CAL.is_working_day(date(2026, 11, 26))  # Thursday
    assert not CAL.is_working_day(date(2026, 11, 28))  # Saturday
    assert not CAL.is_working_day(date(2026, 12, 31))  # วันสิ้นปี
    assert not CAL.is_working_day(date(2026, 1, 2))  # the cabinet's special day off
    for d in (13, 14, 15):
        assert not CAL.is_working_day(date(2026, 4, d))  # Songkran


def test_due_on_new_years_eve_moves_to_30_december() -> None:
    [occ] = plan_item(item("O10", FrequencyKind.YEARLY), 2570, CAL, POLICY)
    assert occ.nominal_due == date(2026, 12, 31)
    assert occ.due == date(2026, 12, 30)
    assert occ.stage(Stage.PUBLISH).due == date(2026, 12, 30)  # type: ignore[union-attr]
    # 5 working days back from Wed 30 Dec, skipping the weekend and Mon 7 Dec? no: 23,24,25,28,29
    assert occ.stage(Stage.PREPARE).due == date(2026, 12, 23)  # type: ignore[union-attr]
    assert occ.stage(Stage.COLLECT).due == date(2026, 12, 28)  # type: ignore[union-attr]


def test_songkran_pushes_a_due_date_back_before_the_festival() -> None:
    rule = Rule(semiannual_due=(DueDate(month=4, day=14), DueDate(month=10, day=31, fy_offset=1)))
    h1, _ = plan_item(item("O11", FrequencyKind.SEMIANNUAL, rule), 2569, CAL, POLICY)
    # 13–15 Apr 2026 are Songkran; 11–12 are the weekend; 10 Apr is Friday
    assert h1.due == date(2026, 4, 10)
    # prepare: 5 working days before Fri 10 Apr; Mon 6 Apr is Chakri Day
    assert h1.stage(Stage.PREPARE).due == date(2026, 4, 2)  # type: ignore[union-attr]


def test_monthly_occurrences_and_the_fiscal_year_they_belong_to() -> None:
    occs = plan_item(item("O23", FrequencyKind.MONTHLY), 2570, CAL, POLICY)
    assert [o.period.key for o in occs][:3] == ["2570M10", "2570M11", "2570M12"]
    assert len(occs) == 12
    assert occs[0].nominal_due == date(2026, 11, 10)
    sept = occs[-1]
    assert sept.period.key == "2570M09"
    assert sept.nominal_due == date(2027, 10, 10)  # due in October 2027 …
    assert sept.fiscal_year == 2570  # … still listed in FY 2570
    assert sept.due == date(2027, 10, 8)  # 10 Oct 2027 is a Sunday


def test_semiannual_defaults() -> None:
    h1, h2 = plan_item(item("O11", FrequencyKind.SEMIANNUAL), 2570, CAL, POLICY)
    assert (h1.period.key, h1.nominal_due) == ("2570H1", date(2027, 4, 30))
    assert (h2.period.key, h2.nominal_due) == ("2570H2", date(2027, 10, 31))
    assert h2.due == date(2027, 10, 29)  # 31 Oct 2027 is a Sunday
    assert h2.fiscal_year == 2570


def test_yearly_and_at_least_yearly_are_due_at_the_end_of_quarter_one() -> None:
    for kind in (FrequencyKind.YEARLY, FrequencyKind.AT_LEAST_YEARLY):
        [occ] = plan_item(item("O35", kind), 2571, CAL, POLICY)
        assert occ.period.key == "2571"
        assert occ.nominal_due == date(2027, 12, 31)
        assert occ.due == date(2027, 12, 30)


def test_on_change_items_get_a_quarterly_confirmation_by_the_preparer() -> None:
    occs = plan_item(item("O1", FrequencyKind.ON_CHANGE), 2570, CAL, POLICY)
    assert [o.kind for o in occs] == [Kind.CONFIRM] * 4
    assert [o.period.key for o in occs] == ["2570Q1", "2570Q2", "2570Q3", "2570Q4"]
    assert [len(o.stages) for o in occs] == [1, 1, 1, 1]
    assert occs[0].stages[0].stage == Stage.CONFIRM
    assert occs[0].stages[0].role == "preparer"
    assert occs[0].due == date(2026, 12, 30)  # 31 Dec is a holiday
    assert occs[1].due == date(2027, 3, 31)
    assert occs[3].due == date(2027, 9, 30)


def test_a_reported_change_opens_an_occurrence_due_in_three_working_days() -> None:
    o1 = item("O1", FrequencyKind.ON_CHANGE)
    occ = plan_change(o1, date(2026, 11, 26), CAL, POLICY)  # Thursday
    assert occ.kind is Kind.CHANGE
    assert occ.due == date(2026, 12, 1)  # Fri 27, Mon 30, Tue 1
    stages = {s.stage: s.due for s in occ.stages}
    assert stages[Stage.PREPARE] == date(2026, 11, 27)  # never before the next working day
    assert stages[Stage.COLLECT] == date(2026, 11, 27)
    assert stages[Stage.PUBLISH] == date(2026, 12, 1)
    assert occ.fiscal_year == 2570
    assert occ.period.key == "2570C20261126"
    assert plan_change(o1, date(2026, 11, 26), CAL, POLICY, seq=2).period.key == "2570C20261126-2"
    longer = plan_change(
        o1, date(2026, 11, 26), CAL, POLICY.model_copy(update={"change_due_working_days": 10})
    )
    # 27 Nov, 30 Nov, 1–4 Dec, 8, 9, 11, 14 Dec: 7 Dec (in lieu) and 10 Dec are holidays
    assert longer.due == date(2026, 12, 14)


def test_activity_is_due_on_the_last_working_day_of_its_month() -> None:
    cat = tiny_catalogue()
    [act] = cat.activities
    occ = plan_activity(act, 2570, CAL, POLICY)
    assert occ.kind is Kind.ACTIVITY
    assert occ.nominal_due == date(2027, 5, 31)
    assert occ.due == date(2027, 5, 31)  # Monday
    assert [s.stage for s in occ.stages] == [Stage.PREPARE]
    assert occ.stages[0].role == "office"
    assert occ.period.key == "2570"


def test_item_rule_overrides_the_global_policy() -> None:
    rule = Rule(monthly_due_day=15, prepare_offset=3)
    occs = plan_item(item("O23", FrequencyKind.MONTHLY, rule), 2570, CAL, POLICY)
    assert occs[0].nominal_due == date(2026, 11, 15)
    assert occs[0].due == date(2026, 11, 13)  # Sunday → Friday
    assert occs[0].stage(Stage.PREPARE).due == date(2026, 11, 10)  # type: ignore[union-attr]
    # and the global setting applies to every item without a rule
    glob = POLICY.model_copy(update={"monthly_due_day": 5})
    assert plan_item(item("O23", FrequencyKind.MONTHLY), 2570, CAL, glob)[0].nominal_due == date(
        2026, 11, 5
    )


def test_leap_year_february() -> None:
    rule = Rule(monthly_due_day=31, monthly_months_after=1)
    occs = plan_item(item("O23", FrequencyKind.MONTHLY, rule), 2571, CAL, POLICY)
    jan = next(o for o in occs if o.period.key == "2571M01")
    assert jan.nominal_due == date(2028, 2, 29)
    assert jan.due == date(2028, 2, 29)  # Tuesday
    common = plan_item(item("O23", FrequencyKind.MONTHLY, rule), 2570, CAL, POLICY)
    assert next(o for o in common if o.period.key == "2570M01").nominal_due == date(2027, 2, 28)


def test_whole_year_plan_covers_every_item_and_activity() -> None:
    occs = plan_fiscal_year(tiny_catalogue(), 2570, CAL, POLICY)
    codes = {o.code for o in occs}
    assert codes == {"O1", "O10", "O11", "O23", "O35", "M1.1"}
    assert len(occs) == 4 + 1 + 2 + 12 + 1 + 1


# -- reminder slots ------------------------------------------------------------------------


def test_reminder_slots_for_a_deadline() -> None:
    deadline = date(2026, 12, 30)  # Wednesday
    slots = reminder_slots(deadline, CAL, POLICY, BKK, until=date(2027, 1, 8))
    days = [(s.day, s.kind) for s in slots]
    assert days[:3] == [
        (date(2026, 12, 23), SlotKind.LEAD),  # 7 days before
        (date(2026, 12, 29), SlotKind.LEAD),  # 1 day before
        (date(2026, 12, 30), SlotKind.DUE),
    ]
    # then each working day while overdue: 31 Dec and 1 Jan are holidays, 2–3 Jan the weekend
    assert days[3:] == [
        (date(2027, 1, 4), SlotKind.OVERDUE),
        (date(2027, 1, 5), SlotKind.OVERDUE),
        (date(2027, 1, 6), SlotKind.OVERDUE),
        (date(2027, 1, 7), SlotKind.OVERDUE),
        (date(2027, 1, 8), SlotKind.OVERDUE),
    ]
    assert [s.overdue_working_days for s in slots[3:]] == [1, 2, 3, 4, 5]
    assert [s.escalates(POLICY) for s in slots[3:]] == [False, False, True, True, True]
    # every slot at 09:00 Bangkok = 02:00 UTC
    assert all(s.at.astimezone(BKK).time() == time(9, 0) for s in slots)
    assert slots[0].at == datetime(2026, 12, 23, 2, 0, tzinfo=UTC)


def test_lead_reminder_on_a_weekend_moves_back_to_a_working_day() -> None:
    deadline = date(2026, 11, 30)  # Monday: 7 days before is Monday 23, 1 day before is Sunday 29
    slots = reminder_slots(deadline, CAL, POLICY, BKK, until=deadline)
    assert [s.day for s in slots] == [date(2026, 11, 23), date(2026, 11, 27), date(2026, 11, 30)]


def test_next_slot_catches_up_once_after_downtime() -> None:
    deadline = date(2026, 12, 30)
    # the bot was down from before the 29 Dec slot until Monday 4 Jan, 10:15
    now = datetime(2027, 1, 4, 3, 15, tzinfo=UTC)
    nxt = next_slot(deadline, now, CAL, POLICY, BKK)
    assert nxt.day == date(2027, 1, 5) and nxt.kind is SlotKind.OVERDUE
    # exactly at a slot's instant, the next one is the following slot
    at_nine = datetime(2026, 12, 23, 2, 0, tzinfo=UTC)
    assert next_slot(deadline, at_nine, CAL, POLICY, BKK).day == date(2026, 12, 29)


def test_civil_hours() -> None:
    thu_10 = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    assert is_working_time(thu_10, CAL, POLICY, BKK)
    thu_night = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)  # 21:00 Bangkok
    assert not is_working_time(thu_night, CAL, POLICY, BKK)
    assert next_working_time(thu_night, CAL, POLICY, BKK) == datetime(
        2026, 11, 27, 1, 30, tzinfo=UTC
    )
    fri_night = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
    assert next_working_time(fri_night, CAL, POLICY, BKK) == datetime(
        2026, 11, 30, 1, 30, tzinfo=UTC
    )
    early = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)  # 07:00 Bangkok, Thursday
    assert next_working_time(early, CAL, POLICY, BKK) == datetime(2026, 11, 26, 1, 30, tzinfo=UTC)
    assert next_working_time(thu_10, CAL, POLICY, BKK) == thu_10


@pytest.mark.parametrize("offsets", [(5, 2, 0), (10, 3, 1), (0, 0, 0)])
def test_stage_offsets_are_configurable(offsets: tuple[int, int, int]) -> None:
    p, c, u = offsets
    policy = POLICY.model_copy(
        update={"prepare_offset": p, "collect_offset": c, "publish_offset": u}
    )
    [occ] = plan_item(item("O10", FrequencyKind.YEARLY), 2570, CAL, policy)
    due = {s.stage: s.due for s in occ.stages}
    assert CAL.between(due[Stage.PREPARE], occ.due) == p
    assert CAL.between(due[Stage.COLLECT], occ.due) == c
    assert CAL.between(due[Stage.PUBLISH], occ.due) == u
