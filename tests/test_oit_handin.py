"""The ITAS hand-in end to end: ``/oit`` in chat (the XLSX and the text to paste), and
``python -m bot oit --fy 2570 --out oit.xlsx`` on the same database."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import openpyxl
import pytest

from bot.cli import main
from bot.store.db import Database
from tests.support.chat import buttons, text_of
from tests.support.websites import DRIVE, OFFICE
from tests.test_health import where
from tests.test_links_chat import CLERK, at_publish, office


def sheet_rows(content: bytes, sheet: int = 0) -> tuple[object, list[tuple[object, ...]]]:
    wb = openpyxl.load_workbook(io.BytesIO(content))
    ws = wb.worksheets[sheet]
    return ws, [r for r in ws.iter_rows(min_row=5, values_only=True)]


async def test_the_hand_in_lists_every_item_with_its_links_and_what_is_missing(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with office(db, **where(db)) as (w, site, h):
        await at_publish(db, w, "O10", "O12")
        o10 = site.url(OFFICE, "/ita/o10")
        assert "ลิงก์เปิดได้" in text_of(await h.say(CLERK, f"/done O10 {o10}"))
        drive = site.url(DRIVE, "/file/d/abc/view")
        [warn] = await h.say(CLERK, f"/done O12 {drive}")
        await h.press(CLERK, warn, buttons(warn)["📌 ใช้ลิงก์นี้"])

        said = await h.say(CLERK, "/oit")
        text = text_of([c for c in said if c.method == "sendMessage"])
        [doc] = [c for c in said if c.method == "sendDocument"]
        assert next(iter(doc.filenames.values())) == "itas-oit-2570.xlsx"
        content = next(iter(doc.files.values()))

        bad = text_of(await h.say(CLERK, "/oit 2027"))  # a CE year: the BE one is meant
        assert "2027" in bad and "2570" in bad

    # the text: one block per item, in the catalogue's order
    assert "ข้อมูลสำหรับกรอก ITAS (OIT) อบต.ทดสอบ ปีงบประมาณ ๒๕๗๐" in text
    assert "ครบถ้วน ๑ จาก ๔๓ รายการ" in text, text
    block = text[text.index("O10 แผนดำเนินงานประจำปี") :].split("\n\n")[0]
    assert f"• ปีงบ ๒๕๗๐: {o10}" in block
    assert "ตรวจล่าสุด ๒๖ พ.ย. ๒๕๖๙" in block and "เห็นออนไลน์ครั้งแรก ๒๖ พ.ย. ๒๕๖๙" in block
    assert "ครบแล้ว" in block
    o12 = text[text.index("\nO12 ") :].split("\n\n")[0]
    assert drive in o12 and "ยังไม่เคยเปิดได้" in o12 and "ลิงก์เปิดไม่ได้ ต้องแก้ไข" in o12
    assert text.index("\nO1 ") < text.index("\nO2 ") < text.index("\nO10 ") < text.index("\nO43 ")

    # the workbook: A4, Thai, BE dates; the proof sheet has every check
    ws, rows = sheet_rows(content)
    assert ws.page_setup.paperSize == 9  # type: ignore[attr-defined]  # A4
    by_code = {r[1]: r for r in rows if r[1]}
    assert list(by_code)[:3] == ["O1", "O2", "O3"] and len(by_code) == 43
    o10_row = by_code["O10"]
    assert o10_row[3] == "ปีงบ ๒๕๗๐" and o10_row[4] == o10
    assert str(o10_row[5]).startswith("๒๖ พ.ย. ๒๕๖๙") and "เปิดได้" in str(o10_row[5])
    assert str(o10_row[6]).startswith("๒๖ พ.ย. ๒๕๖๙") and not o10_row[7]
    assert by_code["O12"][7] == "ลิงก์เปิดไม่ได้ ต้องแก้ไข"
    # O23 is monthly: twelve periods; October fell due before the office started tracking
    start = [r[0] for r in rows].index(23)
    o23 = {r[3]: r[7] for r in rows[start : start + 12]}
    assert len(o23) == 12 and rows[start + 1][1] is None  # one item, its number merged
    assert o23["ต.ค. ๒๕๖๙"] == "ก่อนเริ่มติดตาม ไม่มีหลักฐานในระบบ"
    assert o23["ธ.ค. ๒๕๖๙"] == o23["ก.ย. ๒๕๗๐"] == "ยังไม่เผยแพร่"
    proof, checks = sheet_rows(content, 1)
    checks = [r for r in proof.iter_rows(min_row=3, values_only=True)]  # type: ignore[attr-defined]
    assert [(r[0], r[4], r[5]) for r in checks] == [
        ("O10", "ตอนเผยแพร่", "เปิดได้"),
        ("O12", "ตอนเผยแพร่", checks[1][5]),
    ]
    assert "เข้าสู่ระบบ" in str(checks[1][5]) and len(str(checks[0][10])) == 64

    # the same hand-in from the command line
    out = tmp_path / "oit.xlsx"
    argv = ["oit", "--fy", "2570", "--out", str(out), "--text"]
    code = await asyncio.to_thread(main, argv, settings=w.ctx.settings, clock=w.clock)
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert f"wrote {out}" in printed.err and "O10 แผนดำเนินงานประจำปี" in printed.out
    _, cli_rows = sheet_rows(out.read_bytes())
    assert {r[1]: r[4] for r in cli_rows if r[1]}["O10"] == o10
