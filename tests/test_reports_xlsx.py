"""The report workbook, read back with openpyxl: sheets, Thai headers, BE dates, results,
URLs, totals, and a page setup that prints on A4."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest

from bot.reports import ReportError, build_report_files
from bot.store.db import Database
from tests.test_reports_history import (
    NA_REASON,
    O10_URL,
    O12_URL,
    O23_URL,
    History,
    bkk,
)

ITEM_HEADERS = {
    "A4": "ที่",
    "B4": "รหัส",
    "C4": "ประเภทข้อมูล",
    "D4": "รอบ",
    "E4": "ผู้รับผิดชอบ",
    "E5": "จัดทำ",
    "F5": "รวบรวม/ตรวจทาน",
    "G5": "เผยแพร่",
    "H4": "ความถี่ในการเผยแพร่ข้อมูล",
    "I4": "กำหนดเสร็จ",
    "J4": "ผลการดำเนินงาน",
    "K4": "วันที่ดำเนินการ",
    "L4": "ผู้เผยแพร่/ผู้ดำเนินการ",
    "M4": "หลักฐาน (URL)",
    "N4": "หมายเหตุ",
}


def load(data: bytes) -> Any:
    return openpyxl.load_workbook(io.BytesIO(data))


def items_by_key(ws: Any) -> dict[tuple[str, str], tuple[Any, ...]]:
    """Data rows of the items sheet by (code, period label)."""
    out = {}
    for row in ws.iter_rows(min_row=6, values_only=True):
        if row[0] is None:
            break
        out[(row[1], row[3])] = row
    return out


@pytest.fixture
async def q1(db: Database) -> tuple[History, bytes]:
    h = await History.create(db)
    await h.play_until(bkk(2027, 1, 5, 10))
    return h, (await build_report_files(h.world.ctx, "2570Q1")).xlsx


async def test_the_quarterly_workbook_holds_every_item_due_with_its_result(
    q1: tuple[History, bytes],
) -> None:
    _, data = q1
    wb = load(data)
    assert wb.sheetnames == ["สรุป", "ประเภทข้อมูล", "มาตรการ"]
    ws = wb["ประเภทข้อมูล"]
    assert ws["A1"].value == "รายงานผลการดำเนินงาน ไตรมาส ๑/๒๕๗๐"
    assert ws["A2"].value == "หน่วยงาน: อบต.ทดสอบ"
    assert ws["A3"].value == "ข้อมูล ณ ๕ ม.ค. ๒๕๗๐ · งานที่ครบกำหนด ๑ ต.ค. ๒๕๖๙ – ๓๑ ธ.ค. ๒๕๖๙"
    assert {ref: ws[ref].value for ref in ITEM_HEADERS} == ITEM_HEADERS
    rows = items_by_key(ws)
    # 22 quarterly confirmations, 16 yearly items, O23 Oct and Nov, O5's reported change
    assert len(rows) == 41
    assert [r[0] for r in ws.iter_rows(min_row=6, max_row=46, values_only=True)] == list(
        range(1, 42)
    )
    assert rows[("O10", "ปีงบ ๒๕๗๐")] == (
        11,  # O1–O9's confirmations, and O5's change first (due earlier)
        "O10",
        "แผนดำเนินงานประจำปี",
        "ปีงบ ๒๕๗๐",
        "นักวิเคราะห์นโยบายและแผน",
        "หัวหน้าสำนักปลัด",
        "เจ้าพนักงานธุรการ",
        "ปีละ ๑ ครั้ง",
        "๓๐ ธ.ค. ๒๕๖๙",
        "ตรงเวลา",
        "๒๘ พ.ย. ๒๕๖๙",
        "สมศรี ธุรการ",
        O10_URL,
        "เห็นออนไลน์ครั้งแรก ๒๘ พ.ย. ๒๕๖๙",  # the proof it went up within the period
    )
    # an annual results report due in FY 2570 reports on FY 2569: that is what it says
    assert ("O12", "ปีงบ ๒๕๗๐") not in rows
    o12 = rows[("O12", "ปีงบ ๒๕๖๙")]
    assert o12[8:13] == ("๓๐ ธ.ค. ๒๕๖๙", "ล่าช้า ๓ วัน", "๒ ม.ค. ๒๕๗๐", "สมศรี ธุรการ", O12_URL)
    o15 = rows[("O15", "ปีงบ ๒๕๗๐")]
    assert o15[9:] == ("ไม่มีในรอบนี้", "๒ ธ.ค. ๒๕๖๙", "สมศรี ธุรการ", "-", NA_REASON)
    assert rows[("O23", "ต.ค. ๒๕๖๙")][7:10] == (
        "เดือนละ ๑ ครั้ง",
        "๑๐ พ.ย. ๒๕๖๙",
        "ก่อนเริ่มติดตาม",
    )
    assert rows[("O23", "พ.ย. ๒๕๖๙")][8:13] == (
        "๙ ธ.ค. ๒๕๖๙",
        "ตรงเวลา",
        "๙ ธ.ค. ๒๕๖๙",
        "สมใจ พัสดุ",
        O23_URL,
    )
    change = rows[("O5", "แจ้งเปลี่ยนแปลง ๑ ธ.ค. ๒๕๖๙")]
    assert change[7:] == (
        "ปรับปรุงเมื่อมีการเปลี่ยนแปลง",
        "๔ ธ.ค. ๒๕๖๙",
        "เลยกำหนด ๓๒ วัน",
        "-",
        "-",
        "-",
        "รอจัดทำ (สมชาย วิเคราะห์)",
    )
    confirm = rows[("O1", "ไตรมาส ๑/๒๕๗๐")]
    assert confirm[4:12] == (
        "นักทรัพยากรบุคคล",
        "-",
        "-",
        "ยืนยันความเป็นปัจจุบันรายไตรมาส",
        "๓๐ ธ.ค. ๒๕๖๙",
        "ตรงเวลา",
        "๓ ธ.ค. ๒๕๖๙",
        "สมปอง บุคคล",
    )
    assert rows[("O2", "ไตรมาส ๑/๒๕๗๐")][9] == "เลยกำหนด ๖ วัน"
    # the evidence is a working link
    link_row = 6 + [k for k in rows].index(("O10", "ปีงบ ๒๕๗๐"))
    assert ws.cell(row=link_row, column=13).hyperlink.target == O10_URL


async def test_the_summary_sheet_totals_by_result_role_and_unit(
    q1: tuple[History, bytes],
) -> None:
    ws = load(q1[1])["สรุป"]
    values = [row for row in ws.iter_rows(values_only=True)]
    totals = {row[0]: (row[1], row[2]) for row in values[6:13]}
    assert values[5][:3] == ("ผลการดำเนินงาน", "จำนวน", "ร้อยละ")
    assert totals == {
        "ตรงเวลา": (3, 7.3),
        "ล่าช้า": (1, 2.4),
        "เลยกำหนด": (35, 85.4),
        "ไม่มีในรอบนี้": (1, 2.4),
        "ก่อนเริ่มติดตาม": (1, 2.4),
        "ยังไม่ถึงกำหนด": (0, 0),
        "รวม": (41, 100),
    }
    header = (
        "บทบาท",
        "หน่วยงาน",
        "ทั้งหมด",
        "ตรงเวลา",
        "ล่าช้า",
        "เลยกำหนด",
        "ไม่มีในรอบนี้",
        "ก่อนเริ่มติดตาม",
        "ยังไม่ถึงกำหนด",
    )
    assert header in values
    by_role = {row[0]: row[1:] for row in values if row[1] in ("สำนักปลัด", "กองคลัง")}
    assert by_role["นักวิเคราะห์นโยบายและแผน"] == ("สำนักปลัด", 7, 1, 1, 5, 0, 0, 0)
    assert by_role["นักวิชาการพัสดุ"] == ("กองคลัง", 5, 1, 0, 3, 0, 1, 0)
    by_unit = {row[0]: row[2:] for row in values[values.index(header) + 1 :] if row[0]}
    assert by_unit["กองคลัง"] == (7, 1, 0, 5, 0, 1, 0)


async def test_the_measures_sheet_is_shaped_like_the_seed(q1: tuple[History, bytes]) -> None:
    ws = load(q1[1])["มาตรการ"]
    assert [c.value for c in ws[4]] == [
        "รหัส",
        "กิจกรรม",
        "ขั้นตอนการปฏิบัติ",
        "ผู้รับผิดชอบ",
        "กำหนดเสร็จ",
        "รายงานผล",
        "ผลการดำเนินงาน",
        "วันที่ดำเนินการ",
        "ผู้เผยแพร่/ผู้ดำเนินการ",
        "หลักฐาน (URL)",
        "ครบกำหนดในช่วงนี้",
    ]
    assert ws["A5"].value == "๑) มาตรการเผยแพร่ข้อมูลต่อสาธารณะ"
    row6 = [c.value for c in ws[6]]
    assert row6[0] == "M1.1" and row6[3:10] == [
        "สำนักปลัด",
        "พ.ค. ๒๕๗๐",
        "ไตรมาส ๓",  # corrected: the seed says ๒, before it is due (data/corrections.yaml)
        "ยังไม่ถึงกำหนด",
        "-",
        "-",
        "-",
    ]
    assert row6[10] is None  # not due in Q1
    steps = ws["C8"].value  # M1.3: three steps, numbered in Thai digits
    assert steps.startswith("๑. พิจารณากลั่นกรอง") and "\n๓. " in steps
    assert ws["A9"].value == "๒) มาตรการปรับปรุงประสิทธิภาพการปฏิบัติงานและการให้บริการ"


async def test_every_sheet_prints_on_a4(q1: tuple[History, bytes]) -> None:
    wb = load(q1[1])
    for ws in wb.worksheets:
        assert ws.page_setup.paperSize == 9  # A4
        assert ws.page_setup.orientation == "landscape"
        assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0
        assert ws.sheet_properties.pageSetUpPr.fitToPage is True
        assert ws.column_dimensions["A"].width > 0
    items = wb["ประเภทข้อมูล"]
    assert items.print_title_rows == "$4:$5"
    assert items.column_dimensions["C"].width == 34
    assert items["C6"].alignment.wrap_text is True
    assert items.freeze_panes == "D6"
    assert wb["มาตรการ"].print_title_rows == "$4:$4"


async def test_arabic_digits_by_setting_and_the_annual_report(db: Database) -> None:
    h = await History.create(db, thai_digits=False)
    await h.play_until(bkk(2027, 1, 5, 10))
    files = await build_report_files(h.world.ctx, "2570")
    wb = load(files.xlsx)
    rows = items_by_key(wb["ประเภทข้อมูล"])
    assert rows[("O12", "ปีงบ 2569")][8:11] == ("30 ธ.ค. 2569", "ล่าช้า 3 วัน", "2 ม.ค. 2570")
    # the year: the four activities are due in it, not yet done
    measures = [list(r) for r in wb["มาตรการ"].iter_rows(min_row=5, values_only=True)]
    activity_rows = [r for r in measures if r[0] and str(r[0]).startswith("M")]
    assert [(r[0], r[4], r[6], r[10]) for r in activity_rows] == [
        ("M1.1", "พ.ค. 2570", "ยังไม่ถึงกำหนด", "✓"),
        ("M1.2", "ก.ย. 2570", "ยังไม่ถึงกำหนด", "✓"),
        ("M1.3", "ก.ย. 2570", "ยังไม่ถึงกำหนด", "✓"),
        ("M2.1", "ก.ย. 2570", "ยังไม่ถึงกำหนด", "✓"),
    ]
    assert files.title == "รายงานผลการดำเนินงานประจำปีงบประมาณ 2570"
    assert "🕒 เสร็จล่าช้า (1): O12" in files.text
    assert "🗂 กิจกรรมตามมาตรการที่ครบกำหนดในช่วงนี้: เสร็จ 0 จาก 4" in files.text
    assert files.chart.startswith(b"\x89PNG")


@pytest.mark.parametrize("key", ["2570Q5", "2570M10", "Q1", "next year", ""])
async def test_a_bad_period_is_refused(sqlite_db: Database, key: str) -> None:
    h = await History.create(sqlite_db)
    with pytest.raises(ReportError):
        await build_report_files(h.world.ctx, key)
