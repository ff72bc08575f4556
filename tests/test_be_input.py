"""People type Buddhist Era years: read them as BE, with Thai digits, and refuse a year
that looks like a CE one with the BE year suggested."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.clock import FakeClock
from bot.config import Settings
from bot.domain.fiscal import parse_period
from bot.domain.thai import BEYearError, ThaiDateError, be_iso, parse_be_year, parse_date
from bot.reports.period_report import ReportPeriodError, parse_report_period

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)


def test_years_are_be_and_thai_digits_are_welcome() -> None:
    assert parse_be_year("2570") == 2570
    assert parse_be_year(" ๒๕๗๐ ") == 2570
    assert parse_be_year("２５７０") == 2570  # full-width, as some keyboards type
    for text, suggestion in (("2026", "2569"), ("1999", "2542"), ("๒๐๒๖", "2569")):
        with pytest.raises(BEYearError) as err:
            parse_be_year(text)
        assert err.value.suggestion == suggestion
        assert f"→ did you mean {suggestion}?" in str(err.value)
    for bad in ("25700", "70", "ปีหน้า", "", "3000"):
        with pytest.raises(ThaiDateError):
            parse_be_year(bad)


def test_dates_are_be_unless_ce_is_allowed() -> None:
    assert parse_date("2569-10-01") == date(2026, 10, 1)
    assert parse_date("๑/๑๐/๒๕๖๙") == date(2026, 10, 1)
    assert parse_date("2027-05-10", ce_ok=True) == date(2027, 5, 10)
    assert parse_date("2570-05-10", ce_ok=True) == date(2027, 5, 10)
    with pytest.raises(BEYearError) as err:
        parse_date("2026-10-01")
    assert err.value.suggestion == "2569-10-01"
    for bad in ("2570-02-29", "2569-13-01", "1 ต.ค. 2569", "tomorrow"):
        with pytest.raises(ThaiDateError):
            parse_date(bad)
    assert be_iso(date(2027, 5, 10)) == "2570-05-10"


def test_period_keys_are_be() -> None:
    assert parse_period("2570Q1").start == date(2026, 10, 1)
    assert parse_report_period("๒๕๗๐q๑").key == "2570Q1"
    with pytest.raises(BEYearError, match=r"2026Q1 → did you mean 2569Q1\?"):
        parse_period("2026Q1")
    with pytest.raises(ReportPeriodError) as err:
        parse_report_period("2026H1")
    assert err.value.suggestion == "2569H1"


def cli(
    argv: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> tuple[int, str, str]:
    st = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    code = main(argv, settings=st, clock=FakeClock(NOW))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize(
    ("argv", "suggestion"),
    [
        (["calendar", "--fy", "2026"], "2026 → did you mean 2569?"),
        (["calendar", "--fy", "1999"], "1999 → did you mean 2542?"),
        (["report", "--quarter", "2026Q1"], "2026Q1 → did you mean 2569Q1?"),
        (["report", "--half", "2026H2"], "2026H2 → did you mean 2569H2?"),
        (["report", "--fy", "2026"], "2026 → did you mean 2569?"),
        (["org", "init", "--name", "x", "--track-from", "2026-10-01"], "did you mean 2569-10-01?"),
        (["holidays", "list", "--fy", "2026"], "2026 → did you mean 2569?"),
        (
            ["catalogue", "adopt", "data/catalogue/ita-2565.yaml", "--fy", "2027"],
            "2027 → did you mean 2570?",
        ),
    ],
)
def test_a_ce_year_on_the_command_line_is_refused(
    argv: list[str], suggestion: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = cli(argv, capsys, tmp_path)
    assert code == 2 and out == ""
    assert suggestion in err and "Buddhist Era" in err
    assert not (tmp_path / "bot.db").exists()  # nothing was done
    assert not list(Path.cwd().glob("ita-report-2026*.xlsx"))


def test_track_from_is_a_be_date(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = cli(
        ["org", "init", "--name", "อบต.ทดสอบ", "--track-from", "๒๕๖๙-๑๐-๐๑"], capsys, tmp_path
    )
    # from 1 Oct 2026, all of FY 2570 is tracked (read as CE 2569, all would be before)
    m = re.search(r": (\d+) occurrences, (\d+) before tracking", out)
    assert code == 0 and m is not None and int(m.group(1)) > 200 and m.group(2) == "0"


def test_the_calendar_table_names_periods_in_thai(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = cli(["calendar", "--fy", "๒๕๗๐", "--item", "O23"], capsys, tmp_path)
    assert code == 0
    assert "ต.ค. ๒๕๖๙" in out and "ก.ย. ๒๕๗๐" in out and "2570M10" not in out
    _, out, _ = cli(["calendar", "--fy", "2570", "--item", "O1"], capsys, tmp_path)
    assert "ไตรมาส ๑/๒๕๗๐" in out and "ไตรมาส ๔/๒๕๗๐" in out and "2570Q1" not in out
    _, out, _ = cli(["calendar", "--fy", "2570", "--item", "O12"], capsys, tmp_path)
    assert "ปีงบ ๒๕๖๙" in out  # an annual results report: the year it reports on
    _, out, _ = cli(["calendar", "--fy", "2570", "--item", "O11"], capsys, tmp_path)
    assert "รอบ ๖ เดือนแรก ปีงบ ๒๕๗๐" in out
    # the CSV keeps the keys, for machines
    _, out, _ = cli(
        ["calendar", "--fy", "2570", "--format", "csv", "--item", "O1"], capsys, tmp_path
    )
    assert {r["period"] for r in csv.DictReader(io.StringIO(out))} == {
        "2570Q1",
        "2570Q2",
        "2570Q3",
        "2570Q4",
    }
