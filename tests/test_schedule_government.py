"""The government working calendar: the package's public and government holidays, less the
days government offices work (data/holidays.yaml), plus an office's own changes."""

import re
import tomllib
from datetime import date, timedelta
from pathlib import Path

import holidays
import pytest

from bot.catalogue.loader import load_catalogue
from bot.domain import Stage
from bot.domain.fiscal import fiscal_months, fy_end, fy_start
from bot.holiday_table import HolidayTableError, load_holiday_table, parse_holiday_table
from bot.schedule.policy import SchedulePolicy
from bot.schedule.rules import plan_item
from bot.schedule.workdays import (
    DayChanges,
    HolidayRules,
    WorkCalendar,
    missing_announced,
    package_holidays,
)

RULES = load_holiday_table()
CAL = WorkCalendar.government(range(2026, 2028), RULES)

# FY 2570 (1 Oct 2026 – 30 Sep 2027), day by day: "." a working day, "-" Saturday or
# Sunday, "H" a government day off on a weekday.  A new `holidays` release or an edit of
# data/holidays.yaml that moves any of these shows up here (and in every deadline).
FY2570 = {
    "2026-10": "..--.....--.H...--....H--.....-",
    "2026-11": "-.....--.....--.....--.....--.",
    "2026-12": "....--H..H.--.....--.....--...H",
    "2027-01": "H--.....--.....--.....--.....--",
    "2027-02": ".....--.....--.....--H....--",
    "2027-03": ".....--.....--.....--.....--...",
    "2027-04": "..--.H...--.HHH.--.....--.....",
    "2027-05": "--.H...--.....--...H.--.....--.",
    "2027-06": "..H.--.....--.....--.....--...",
    "2027-07": "..--.....--.....--HH...--..H..-",
    "2027-08": "-.....--...H.--.....--.....--..",
    "2027-09": "...--.....--.....--.....--....",
}

# every day off of FY 2570 the calendar names, weekends included (the first Thai name)
FY2570_DAYS_OFF = {
    date(2026, 10, 13): "วันนวมินทรมหาราช",
    date(2026, 10, 23): "วันปิยมหาราช",
    date(2026, 12, 5): "วันคล้ายวันเฉลิมพระชนมพรรษาพระบาทสมเด็จพระบรมชนกาธิเบศร",
    date(2026, 12, 7): "ชดเชยวันคล้ายวันเฉลิมพระชนมพรรษาพระบาทสมเด็จพระบรมชนกาธิเบศร",
    date(2026, 12, 10): "วันรัฐธรรมนูญ",
    date(2026, 12, 31): "วันสิ้นปี",
    date(2027, 1, 1): "วันขึ้นปีใหม่",
    date(2027, 1, 9): "วันเด็กแห่งชาติ",
    date(2027, 2, 21): "วันมาฆบูชา",
    date(2027, 2, 22): "ชดเชยวันมาฆบูชา",
    date(2027, 4, 6): "วันพระบาทสมเด็จพระพุทธยอดฟ้าจุฬาโลกมหาราช",
    date(2027, 4, 13): "วันสงกรานต์",
    date(2027, 4, 14): "วันสงกรานต์",
    date(2027, 4, 15): "วันสงกรานต์",
    date(2027, 5, 4): "วันฉัตรมงคล",
    date(2027, 5, 20): "วันวิสาขบูชา",
    date(2027, 6, 3): "วันเฉลิมพระชนมพรรษาสมเด็จพระนางเจ้าสุทิดา",
    date(2027, 7, 18): "วันอาสาฬหบูชา",
    date(2027, 7, 19): "วันเข้าพรรษา",
    date(2027, 7, 20): "ชดเชยวันอาสาฬหบูชา",
    date(2027, 7, 28): "วันเฉลิมพระชนมพรรษาพระบาทสมเด็จพระปรเมนทรรามาธิบดี",
    date(2027, 8, 12): "วันเฉลิมพระชนมพรรษาสมเด็จพระบรมราชชนนีพันปีหลวง",
}


def day_map(cal: WorkCalendar, fy: int) -> dict[str, str]:
    out = {}
    for y, m in fiscal_months(fy):
        d, marks = date(y, m, 1), ""
        while d.month == m:
            marks += "-" if d.weekday() >= 5 else ("." if cal.is_working_day(d) else "H")
            d += timedelta(days=1)
        out[f"{y}-{m:02d}"] = marks
    return out


def test_fy_2570_government_calendar_day_by_day() -> None:
    assert day_map(CAL, 2570) == FY2570
    days_off = CAL.holidays_between(fy_start(2570), fy_end(2570))
    assert [d for d, _ in days_off] == list(FY2570_DAYS_OFF)
    for d, name in days_off:
        assert name.startswith(FY2570_DAYS_OFF[d]), (d, name)
    working = sum(marks.count(".") for marks in FY2570.values())
    assert working == 243  # 261 weekdays, 18 of them days off


def test_labour_day_and_its_day_in_lieu_are_worked() -> None:
    listed = package_holidays([2027])
    assert date(2027, 5, 1) in listed and date(2027, 5, 3) in listed  # the package: public
    assert CAL.is_working_day(date(2027, 5, 3))  # Monday, the day in lieu
    assert CAL.holiday_name(date(2027, 5, 1)) is None
    # 1 May 2026 is a Friday: a working day for government offices
    assert WorkCalendar.government([2026], RULES).is_working_day(date(2026, 5, 1))


def test_royal_ploughing_day_is_a_government_day_off() -> None:
    cal = WorkCalendar.government(range(2025, 2027), RULES)
    assert cal.holiday_name(date(2025, 5, 9)) == "วันพืชมงคล"
    assert cal.holiday_name(date(2026, 5, 13)) == "วันพืชมงคล"
    assert not cal.is_working_day(date(2026, 5, 13))  # a Wednesday
    # the package's public category alone does not have it
    public = holidays.country_holidays("TH", years=2026, categories=("public",))
    assert date(2026, 5, 13) not in public


def test_a_year_whose_royal_ploughing_day_is_not_known_yet_says_so() -> None:
    [(announced, year)] = missing_announced(RULES, CAL, fy_start(2570), fy_end(2570))
    assert (announced.thai, year) == ("วันพืชมงคล", 2027)
    known = CAL.with_changes(DayChanges(off=((date(2027, 5, 10), "วันพืชมงคล"),)))
    assert missing_announced(RULES, known, fy_start(2570), fy_end(2570)) == []
    assert not known.is_working_day(date(2027, 5, 10))
    assert missing_announced(RULES, CAL, fy_start(2569), fy_end(2569)) == []  # 13 May 2026


def test_o23_april_2027_prepare_is_due_30_april_not_29() -> None:
    o23 = load_catalogue().item("O23")
    assert o23 is not None
    occs = {o.period.key: o for o in plan_item(o23, 2570, CAL, SchedulePolicy())}
    april = occs["2570M04"]
    assert april.due == date(2027, 5, 10)
    assert april.stage(Stage.PREPARE).due == date(2027, 4, 30)  # type: ignore[union-attr]
    assert april.stage(Stage.COLLECT).due == date(2027, 5, 6)  # type: ignore[union-attr]
    # on the public calendar (Labour Day's day in lieu off) it was 29 April
    public = WorkCalendar(package_holidays(range(2026, 2029)))
    occs = {o.period.key: o for o in plan_item(o23, 2570, public, SchedulePolicy())}
    assert occs["2570M04"].stage(Stage.PREPARE).due == date(2027, 4, 29)  # type: ignore[union-attr]


def test_an_office_adds_and_removes_days_off() -> None:
    changes = DayChanges(
        off=((date(2026, 11, 27), "วันหยุดจังหวัด"),),
        work=(date(2026, 12, 31),),  # the cabinet cancelled it
    )
    cal = CAL.with_changes(changes)
    assert not cal.is_working_day(date(2026, 11, 27))
    assert cal.holiday_name(date(2026, 11, 27)) == "วันหยุดจังหวัด"
    assert cal.is_working_day(date(2026, 12, 31))
    assert CAL.is_working_day(date(2026, 11, 27))  # the shared calendar is untouched
    assert CAL.with_changes(DayChanges()) is CAL


def test_the_holidays_package_version_is_pinned() -> None:
    project = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))
    [pin] = [d for d in project["project"]["dependencies"] if d.startswith("holidays")]
    assert pin == "holidays>=0.109,<0.110"
    assert re.match(r"^0\.109(\.|$)", holidays.__version__)  # type: ignore[attr-defined]


def test_the_table_dates_its_own_days_off(tmp_path: Path) -> None:
    path = tmp_path / "holidays.yaml"
    path.write_text(
        "worked: []\ndays_off:\n  - {date: 2570-05-10, name: วันพืชมงคล}\n"
        "  - {date: 2027-05-11, name: วันหยุดพิเศษ}\n",
        encoding="utf-8",
    )
    rules = load_holiday_table(path)
    assert rules.days_off == ((date(2027, 5, 10), "วันพืชมงคล"), (date(2027, 5, 11), "วันหยุดพิเศษ"))
    cal = WorkCalendar.government([2027], rules)
    assert not cal.is_working_day(date(2027, 5, 10))
    assert not cal.is_working_day(date(2027, 5, 3))  # nothing worked: Labour Day in lieu is off
    assert WorkCalendar.government([2027], HolidayRules()).holidays == cal.holidays - {
        date(2027, 5, 10),
        date(2027, 5, 11),
    }


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("worked:\n  - name: National Labor Day\n    in_leiu: true\n", 2, "unknown key 'in_leiu'"),
        ("worked: []\ndays_off:\n  - {date: 2570-02-30, name: x}\n", 3, "no such day"),
        ("days_off:\n  - {date: 2570-05-10}\n", 2, "name is required"),
        ("announced:\n  - {name: X, thai: ก, month: 13}\n", 2, "month is 1..12"),
        ("weekends: []\n", 1, "unknown section 'weekends'"),
    ],
)
def test_a_bad_table_names_its_file_and_line(text: str, line: int, message: str) -> None:
    with pytest.raises(HolidayTableError) as err:
        parse_holiday_table(text, Path("data/holidays.yaml"))
    assert str(err.value).startswith(f"data/holidays.yaml:{line}: ")
    assert message in str(err.value)
