"""``python -m bot holidays``: an office's own days off, re-planned at once, in BE or CE."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import main
from bot.clock import FakeClock
from bot.config import Settings

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)  # Thursday 26 Nov 2026, 10:00 Bangkok


@pytest.fixture
def office(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Settings:
    st = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    assert main(["org", "init", "--name", "อบต.บางไทรป่า"], settings=st, clock=FakeClock(NOW)) == 0
    capsys.readouterr()
    return st


def run(argv: list[str], st: Settings, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv, settings=st, clock=FakeClock(NOW))
    out = capsys.readouterr()
    return code, out.out, out.err


def due(st: Settings, capsys: pytest.CaptureFixture[str], item: str, period: str) -> dict[str, str]:
    """The stage deadlines ``calendar`` prints for the default office."""
    code, out, _ = run(["calendar", "--fy", "2570", "--format", "csv", "--item", item], st, capsys)
    assert code == 0
    rows = csv.DictReader(io.StringIO(out))
    return {r["stage"]: r["due_date"] for r in rows if r["period"] == period}


def test_royal_ploughing_day_added_moves_o23_april(
    office: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["holidays", "list", "--fy", "2570"], office, capsys)
    assert code == 0
    assert "วันหยุดของอบต.บางไทรป่า ปีงบประมาณ ๒๕๗๐" in out
    assert "• ๑๐ ธ.ค. ๒๕๖๙ วันรัฐธรรมนูญ" in out
    assert "แรงงาน" not in out  # Labour Day: government offices work
    assert "ยังไม่มีวันพืชมงคลของปี ๒๕๗๐" in out  # the package knows it only up to 2026
    before = due(office, capsys, "O23", "2570M04")
    assert before == {"prepare": "2027-04-30", "collect": "2027-05-06", "publish": "2027-05-10"}

    code, out, _ = run(["holidays", "add", "2027-05-10", "--name", "วันพืชมงคล"], office, capsys)
    assert code == 0
    assert "เพิ่มวันหยุด ๑๐ พ.ค. ๒๕๗๐ วันพืชมงคล แล้ว" in out and "ปรับกำหนดส่ง ๑ รายการ" in out
    assert due(office, capsys, "O23", "2570M04") == {
        "prepare": "2027-04-29",
        "collect": "2027-05-05",
        "publish": "2027-05-07",
    }
    _, out, _ = run(["holidays", "list", "--fy", "๒๕๗๐"], office, capsys)  # Thai digits
    assert "• ๑๐ พ.ค. ๒๕๗๐ วันพืชมงคล (หน่วยงานเพิ่ม)" in out and "ยังไม่มีวันพืชมงคล" not in out

    code, out, _ = run(["holidays", "remove", "2570-05-10"], office, capsys)  # BE this time
    assert code == 0 and "ยกเลิกวันหยุด ๑๐ พ.ค. ๒๕๗๐ วันพืชมงคล แล้ว" in out
    assert due(office, capsys, "O23", "2570M04") == before


def test_working_a_cancelled_day_off(office: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert due(office, capsys, "O10", "2570")["publish"] == "2026-12-30"  # 31 Dec is off
    code, out, _ = run(["holidays", "remove", "2569-12-31"], office, capsys)
    assert code == 0 and "๓๑ ธ.ค. ๒๕๖๙ (วันสิ้นปี) เป็นวันทำการของหน่วยงานแล้ว" in out
    assert due(office, capsys, "O10", "2570") == {
        "prepare": "2026-12-24",
        "collect": "2026-12-29",
        "publish": "2026-12-31",
    }
    _, out, _ = run(["holidays", "list"], office, capsys)
    assert "วันหยุดราชการที่หน่วยงานทำงาน:\n• ๓๑ ธ.ค. ๒๕๖๙ วันสิ้นปี" in out
    code, out, _ = run(["holidays", "add", "2026-12-31", "--name", "x"], office, capsys)
    assert code == 0 and "๓๑ ธ.ค. ๒๕๖๙ วันสิ้นปี กลับเป็นวันหยุดแล้ว" in out
    assert due(office, capsys, "O10", "2570")["publish"] == "2026-12-30"


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["holidays", "add", "2569-11-28"], 1, "2569-11-28 is a Saturday or Sunday"),
        (["holidays", "remove", "2569-11-27"], 1, "2569-11-27 is not a day off"),
        (["holidays", "add", "2569-12-10"], 1, "already a government day off (วันรัฐธรรมนูญ)"),
        (["holidays", "add", "2570-02-30"], 2, "no such day"),
        (["holidays", "add", "next friday"], 2, "not a date"),
        (["holidays", "list", "--fy", "2026"], 2, "2026 → did you mean 2569?"),
    ],
)
def test_a_bad_change_is_refused_and_changes_nothing(
    office: Settings,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    code: int,
    message: str,
) -> None:
    before = run(["holidays", "list"], office, capsys)[1]
    got, out, err = run(argv, office, capsys)
    assert got == code and out == "" and message in err
    assert run(["holidays", "list"], office, capsys)[1] == before


def test_an_edited_holiday_table_applies_to_the_bot_and_the_calendar(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = tmp_path / "holidays.yaml"
    text = Path("data/holidays.yaml").read_text(encoding="utf-8")
    table.write_text(
        text.replace("days_off: []", "days_off:\n  - {date: 2570-05-10, name: วันพืชมงคล}"),
        encoding="utf-8",
    )
    st = Settings(
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        holidays_file=table,
    )
    assert run(["org", "init", "--name", "อบต.บางไทรป่า"], st, capsys)[0] == 0
    assert due(st, capsys, "O23", "2570M04")["publish"] == "2027-05-07"
    _, out, _ = run(["holidays", "list", "--fy", "2570"], st, capsys)
    assert "• ๑๐ พ.ค. ๒๕๗๐ วันพืชมงคล\n" in out and "ยังไม่มีวันพืชมงคล" not in out

    async def stored() -> date:
        from bot.store.db import Database
        from bot.store.models import Occurrence

        db = Database(st.database_url)
        try:
            async with db.transaction() as s:
                occ = await s.scalar(
                    select(Occurrence).where(
                        Occurrence.code == "O23", Occurrence.period_key == "2570M04"
                    )
                )
                assert occ is not None
                return occ.due_date
        finally:
            await db.dispose()

    assert asyncio.run(stored()) == date(2027, 5, 7)  # what the bot planned, too

    table.write_text(text.replace("month: 5", "month: 13"), encoding="utf-8")
    code, out, err = run(["calendar", "--fy", "2570"], st, capsys)
    assert code == 1 and out == "" and f"{table}:" in err and "month is 1..12" in err


def test_the_bot_does_not_start_on_a_bad_holiday_table(tmp_path: Path) -> None:
    from bot.app import build_application
    from bot.holiday_table import HolidayTableError

    table = tmp_path / "holidays.yaml"
    table.write_text("worked:\n  - {name: National Labor Day, in_leiu: true}\n", encoding="utf-8")
    st = Settings(_env_file=None, bot_token="1:x", holidays_file=table)
    with pytest.raises(HolidayTableError) as err:
        build_application(st)
    assert str(err.value).startswith(f"{table}:2: worked: unknown key 'in_leiu'")
