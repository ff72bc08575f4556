"""The catalogue on the command line: the spreadsheet round trip and `catalogue adopt`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from bot.catalogue.loader import SHIPPED_CATALOGUE, load_catalogue
from bot.cli import main
from bot.clock import FakeClock
from bot.config import Settings

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)


def run(
    argv: list[str], capsys: pytest.CaptureFixture[str], settings: Settings | None = None
) -> tuple[int, str, str]:
    st = settings or Settings(_env_file=None)
    code = main(argv, settings=st, clock=FakeClock(NOW))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "table.xlsx"
    code, _, err = run(["catalogue", "export", "--format", "xlsx", "--out", str(path)], capsys)
    assert code == 0 and "43 items, 4 activities" in err
    return path


def edit(path: Path, sheet: str, row: int, column: int, value: Any) -> None:
    wb = load_workbook(path)
    wb[sheet].cell(row=row, column=column, value=value)
    wb.save(path)


def test_the_spreadsheet_has_one_row_per_item_and_a_sheet_of_measures(table: Path) -> None:
    wb = load_workbook(table)
    assert wb.sheetnames == ["รายการ", "มาตรการ", "บทบาท", "ข้อมูล"]
    items = list(wb["รายการ"].iter_rows(values_only=True))
    assert items[0][:7] == (
        "ที่",
        "ประเภทข้อมูล",
        "ความถี่ในการเผยแพร่ข้อมูล",
        "จัดทำ",
        "รวบรวม/ตรวจทาน",
        "เผยแพร่",
        "กำหนดส่ง (ถ้าไม่ใช่ค่าปกติ)",
    )
    assert len(items) == 1 + 43
    assert items[10][:6] == (
        "O10",
        "แผนดำเนินงานประจำปี",
        "ปีละ ๑ ครั้ง",
        "นักวิเคราะห์นโยบายและแผน",
        "หัวหน้าสำนักปลัด",
        "เจ้าพนักงานธุรการ",
    )
    measures = list(wb["มาตรการ"].iter_rows(values_only=True))
    assert [r[2] for r in measures[1:]] == ["M1.1", "M1.2", "M1.3", "M2.1"]
    assert measures[1][6:8] == ("พ.ค.", "ไตรมาส ๓")


def test_round_trip(table: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "back.yaml"
    code, _, err = run(["catalogue", "import", str(table), "--out", str(out)], capsys)
    assert code == 0, err
    assert load_catalogue(out) == load_catalogue()
    body = SHIPPED_CATALOGUE.read_text(encoding="utf-8").split("\n\n", 1)[1]
    assert out.read_text(encoding="utf-8").split("\n\n", 1)[1] == body
    # an edit in the sheet comes back, with a rule in the due-date column
    edit(table, "รายการ", 11, 2, "แผนการดำเนินงานประจำปี")
    edit(table, "รายการ", 11, 7, "yearly_due: {month: 11, day: 30}")
    code, _, _ = run(["catalogue", "import", str(table), "--out", str(out), "--force"], capsys)
    o10 = load_catalogue(out).item("O10")
    assert code == 0 and o10 is not None and o10.title == "แผนการดำเนินงานประจำปี"
    assert o10.rule is not None and o10.rule.yearly_due is not None
    assert (o10.rule.yearly_due.month, o10.rule.yearly_due.day) == (11, 30)


@pytest.mark.parametrize(
    ("sheet", "row", "column", "value", "needle"),
    [
        ("รายการ", 12, 4, "นักบินอวกาศ", "unknown role 'นักบินอวกาศ' in the จัดทำ column"),
        ("รายการ", 12, 1, "O10", "duplicate item number O10"),
        ("รายการ", 12, 3, "สองปีครั้ง", "unknown frequency 'สองปีครั้ง'"),
        ("รายการ", 12, 7, "yearly_due: {month: 13, day: 1}", "O11: rule.yearly_due.month"),
        ("มาตรการ", 3, 8, "ไตรมาส ๕", "report_quarter"),
        ("มาตรการ", 3, 7, "เดือนห้า", "cannot read the month 'เดือนห้า'"),
    ],
)
def test_errors_name_the_file_sheet_and_row(
    table: Path,
    capsys: pytest.CaptureFixture[str],
    sheet: str,
    row: int,
    column: int,
    value: str,
    needle: str,
) -> None:
    edit(table, sheet, row, column, value)
    out = table.with_suffix(".yaml")
    code, _, err = run(["catalogue", "import", str(table), "--out", str(out)], capsys)
    assert code == 1
    assert f"{table}:{sheet}:{row}: " in err and needle in err, err
    assert not out.exists()  # nothing half-imported
    code, _, err = run(["catalogue", "check", str(table)], capsys)
    assert code == 1 and f"{table}:{sheet}:{row}: " in err


def test_adopt_from_the_command_line(
    table: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    st = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    code, out, _ = run(["org", "init", "--name", "อบต.บางไทรป่า"], capsys, st)
    assert code == 0 and "its own measures: 4 activities" in out
    code, out, _ = run(["org", "init", "--name", "อบต.อื่น", "--another"], capsys, st)
    assert code == 0 and "its own measures: 0 activities" in out
    code, out, _ = run(
        [
            "org",
            "init",
            "--another",
            "--name",
            "เทศบาลตำบลหนึ่ง",
            "--measures",
            str(SHIPPED_CATALOGUE),
        ],
        capsys,
        st,
    )
    assert code == 0 and "its own measures: 4 activities" in out
    # the exported table is the catalogue the office already follows
    code, out, _ = run(["catalogue", "adopt", str(table), "--fy", "2571"], capsys, st)
    assert code == 0 and "already follows ITA 2565" in out, out
    # a new numbering, edited in the sheet, for next year only
    edit(table, "ข้อมูล", 2, 2, "ITA 2568 (ทดสอบ)")
    edit(table, "รายการ", 11, 2, "ข้อมูลที่ต้องเปิดเผยรายการใหม่")
    code, out, err = run(["catalogue", "adopt", str(table), "--fy", "2571"], capsys, st)
    assert code == 0, err
    assert "office #1 อบต.บางไทรป่า: FY 2571 now follows ITA 2568 (ทดสอบ)" in out
    assert "(was ITA 2565 (OIT 2564–2565 numbering))" in out
    assert "another edition's: 128 plans removed, 0 with history withdrawn and kept" in out
    assert "other years untouched" in out
    code, _, err = run(["catalogue", "adopt", str(table), "--fy", "2569"], capsys, st)
    assert code == 1 and "2569 is over" in err
    code, out, _ = run(
        ["catalogue", "adopt", str(table), "--fy", "2571", "--org", "2", "--no-measures"],
        capsys,
        st,
    )
    assert code == 0 and "office #2 อบต.อื่น" in out and "0 activities of its own" in out
    code, out, _ = run(
        ["catalogue", "adopt", str(SHIPPED_CATALOGUE), "--fy", "2571", "--all"], capsys, st
    )
    assert code == 0, out
    assert [line.rsplit(": ", 1)[1] for line in out.splitlines()[:3]] == [
        "43 items, 4 activities of its own",  # each office keeps its own measures
        "43 items, 0 activities of its own",
        "43 items, 4 activities of its own",
    ]


def test_round_trip_of_every_field(tmp_path: Path) -> None:
    """Co-roles, a quarterly item, an unlisted phrase, a rule, activity spans and days."""
    from bot.catalogue.schema import Frequency, Rule
    from bot.catalogue.sheet import catalogue_workbook, read_workbook
    from bot.domain import FrequencyKind, Stage

    cat = load_catalogue()
    items = list(cat.items)
    items[3] = items[3].model_copy(update={"co_roles": {Stage.PREPARE: ("legal_officer",)}})
    items[14] = items[14].model_copy(
        update={"frequency": Frequency(kind=FrequencyKind.QUARTERLY, phrase="รายไตรมาส")}
    )
    items[15] = items[15].model_copy(
        update={"frequency": Frequency(kind=FrequencyKind.MONTHLY, phrase="ทุกต้นเดือน")}
    )
    items[9] = items[9].model_copy(update={"rule": Rule(prepare_offset=8, monthly_due_day=5)})
    m1 = cat.measures[0]
    acts = list(m1.activities)
    acts[0] = acts[0].model_copy(
        update={
            "within_days": 30,
            "due_phrase": "ภายใน ๓๐ วัน",
            "due": acts[0].due.model_copy(update={"month": 10}),
        }
    )
    acts[1] = acts[1].model_copy(
        update={
            "starts": acts[1].due.model_copy(update={"month": 10}),
            "due_phrase": "ตลอดปีงบประมาณ",
        }
    )
    rich = cat.model_copy(
        update={
            "items": tuple(items),
            "measures": (m1.model_copy(update={"activities": tuple(acts)}), *cat.measures[1:]),
        }
    )
    path = tmp_path / "rich.xlsx"
    path.write_bytes(catalogue_workbook(rich))
    assert read_workbook(path) == rich
    rows = list(load_workbook(path)["รายการ"].iter_rows(values_only=True))
    assert rows[4][3] == "นักวิเคราะห์นโยบายและแผน / นิติกร"
    assert rows[16][2] == "ทุกต้นเดือน [monthly]"
