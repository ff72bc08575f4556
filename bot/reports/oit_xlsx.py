"""The ITAS hand-in as an XLSX workbook, A4, Thai, BE dates (see :mod:`bot.reports.oit`).

* **ITAS** — one row per period the fiscal year requires, grouped by item in the
  catalogue's order (ที่ · รายการ · ประเภทข้อมูล · รอบ · ลิงก์หลักฐาน · ตรวจล่าสุด ·
  เห็นออนไลน์ครั้งแรก · สิ่งที่ยังขาด);
* **proof** — every check of each evidence link: when, why (at publish, a retry, the
  schedule), the result, HTTP status, final URL, content type, size, the body's SHA-256
  and whether it changed: the record the office keeps for its own files.
"""

from __future__ import annotations

import io
from typing import Any

from bot.fmt import Fmt
from bot.reports.oit import (
    OitData,
    check_text,
    first_live_text,
    missing_text,
    period_text,
    when,
)
from bot.reports.xlsx import _data_cell, _header_cell, _setup_page, _Styles, _title, _url_cell

MAIN_WIDTHS = (6, 8, 36, 16, 44, 26, 20, 30)
MAIN_COLS = ("no", "code", "item", "period", "url", "checked", "first_live", "missing")
PROOF_WIDTHS = (8, 16, 44, 20, 12, 14, 9, 36, 18, 11, 20, 10)
PROOF_COLS = (
    "code", "period", "url", "at", "trigger", "result", "status", "final_url",
    "type", "size", "hash", "changed",
)  # fmt: skip
HEADER_ROW = 4
MISSING_FILL = "F8CBAD"


def _main_sheet(ws: Any, st: _Styles, fmt: Fmt, data: OitData) -> None:
    from openpyxl.styles import PatternFill

    missing_fill = PatternFill("solid", fgColor=MISSING_FILL)
    ncols = len(MAIN_COLS)
    _title(ws, st, _heading(fmt, data), ncols)
    for col, key in enumerate(MAIN_COLS, start=1):
        _header_cell(ws, st, HEADER_ROW, col, fmt.t(f"oit.col.{key}"))
    row = HEADER_ROW + 1
    for item in data.items:
        first = row
        for p in item.periods:
            _data_cell(ws, st, row, 1, item.number, center=True)
            _data_cell(ws, st, row, 2, item.code, center=True)
            _data_cell(ws, st, row, 3, item.title)
            _data_cell(ws, st, row, 4, period_text(fmt, p))
            _url_cell(ws, st, row, 5, p.url, fmt.t("oit.no_url"))
            _data_cell(ws, st, row, 6, check_text(fmt, p, data.tz) if p.url else "")
            _data_cell(ws, st, row, 7, first_live_text(fmt, p, data.tz) if p.url else "")
            c = _data_cell(ws, st, row, 8, missing_text(fmt, p))
            if p.missing:
                c.fill = missing_fill
            row += 1
        if row - first > 1:
            for col in (1, 2, 3):
                ws.merge_cells(start_row=first, start_column=col, end_row=row - 1, end_column=col)
    ws.freeze_panes = f"D{HEADER_ROW + 1}"
    _setup_page(ws, MAIN_WIDTHS, f"{HEADER_ROW}:{HEADER_ROW}")


def _proof_sheet(ws: Any, st: _Styles, fmt: Fmt, data: OitData) -> None:
    _title(
        ws, st, [fmt.t("oit.proof_title", org=data.org_name, fy=fmt.num(data.fy))], len(PROOF_COLS)
    )
    for col, key in enumerate(PROOF_COLS, start=1):
        _header_cell(ws, st, 2, col, fmt.t(f"oit.proof.{key}"))
    row = 3
    for item in data.items:
        for p in item.periods:
            for c in p.checks:
                result = (
                    fmt.t("link.state.live")
                    if c.live
                    else fmt.t(f"link.reason.{c.reason}", status=fmt.num(c.http_status or 0))
                )
                values: list[object] = [
                    item.code, period_text(fmt, p), p.url, when(fmt, c.at, data.tz),
                    fmt.t(f"oit.trigger.{c.trigger}"), result, c.http_status, c.final_url,
                    c.content_type, c.size, c.body_hash, fmt.t("xlsx.yes") if c.changed else "",
                ]  # fmt: skip
                for col, value in enumerate(values, start=1):
                    _data_cell(ws, st, row, col, value, center=col in (1, 7, 12))
                row += 1
    ws.freeze_panes = "A3"
    _setup_page(ws, PROOF_WIDTHS, "2:2")


def _heading(fmt: Fmt, data: OitData) -> list[str]:
    return [
        fmt.t("oit.title", org=data.org_name, fy=fmt.num(data.fy)),
        fmt.t("oit.count", n=fmt.num(data.complete), total=fmt.num(len(data.items))),
        fmt.t("oit.as_of", when=when(fmt, data.now, data.tz), edition=data.edition),
    ]


def oit_workbook(fmt: Fmt, data: OitData) -> Any:
    from openpyxl import Workbook

    st = _Styles()
    wb = Workbook()
    main = wb.active
    main.title = fmt.t("oit.sheet.main")
    _main_sheet(main, st, fmt, data)
    _proof_sheet(wb.create_sheet(fmt.t("oit.sheet.proof")), st, fmt, data)
    wb.properties.title = fmt.t("oit.title", org=data.org_name, fy=fmt.num(data.fy))
    wb.properties.creator = "ITA duty bot"
    return wb


def oit_xlsx(fmt: Fmt, data: OitData) -> bytes:
    buf = io.BytesIO()
    oit_workbook(fmt, data).save(buf)
    return buf.getvalue()
