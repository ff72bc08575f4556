"""The report as an XLSX workbook, shaped like the seed's report tables, ready to print.

Three sheets:

* **summary** — the results (on time, late, overdue, n/a, before tracking, not due) with
  counts and percentages, then the same by role and by unit;
* **items** — every item occurrence due in the period, in the shape of the seed's
  responsibility table (ที่ · ประเภทข้อมูล · ผู้รับผิดชอบ จัดทำ / รวบรวม/ตรวจทาน / เผยแพร่ ·
  ความถี่ในการเผยแพร่ข้อมูล) followed by the due date, the result, its date, who
  published it and the evidence URL;
* **measures** — the measures' activities in the shape of the seed's measure tables
  (กิจกรรม · ขั้นตอนการปฏิบัติ · ผู้รับผิดชอบ · กำหนดเสร็จ · รายงานผล) followed by the result.

Dates are Buddhist Era text (``๑๐ พ.ย. ๒๕๖๙``, or Arabic digits per settings); counts
are numbers.  Every sheet is set up for A4 landscape, fitted to the page width, with
wrapped text, fixed column widths and its header rows repeated on each printed page.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from typing import Any

from bot.domain.thai import MONTH_ABBR, MONTH_EN, be_year
from bot.fmt import Fmt
from bot.reports.period_report import (
    RESULT_LABELS,
    ActivityRow,
    ReportData,
    ReportRow,
    Result,
    Tally,
)
from bot.reports.summary import report_title, result_text

FONT_NAME = "TH SarabunPSK"  # the Thai government's standard document font
FONT_SIZE = 14
HEADER_FILL = "D9E2F3"
SECTION_FILL = "EDEDED"
RESULT_FILLS = {
    Result.ON_TIME: "E2F0D9",
    Result.LATE: "FFF2CC",
    Result.OVERDUE: "F8CBAD",
}

# column widths (characters) of the items and measures sheets
ITEM_WIDTHS = (5, 7, 34, 16, 15, 15, 15, 18, 13, 15, 13, 18, 32, 22)
MEASURE_WIDTHS = (7, 30, 44, 14, 11, 11, 15, 13, 16, 26, 11)
DATA_ROW = 6  # first data row of the items sheet (title 1–3, headers 4–5)


def month_text(fmt: Fmt, d: date) -> str:
    if fmt.lang == "th":
        return fmt.num(f"{MONTH_ABBR[d.month - 1]} {be_year(d.year)}")
    return f"{MONTH_EN[d.month - 1]} {d.year}"


class _Styles:
    def __init__(self) -> None:
        from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

        thin = Side(style="thin", color="808080")
        self.border = Border(left=thin, right=thin, top=thin, bottom=thin)
        self.font = Font(name=FONT_NAME, size=FONT_SIZE)
        self.bold = Font(name=FONT_NAME, size=FONT_SIZE, bold=True)
        self.title = Font(name=FONT_NAME, size=FONT_SIZE + 4, bold=True)
        self.link = Font(name=FONT_NAME, size=FONT_SIZE, color="0563C1", underline="single")
        self.wrap = Alignment(wrap_text=True, vertical="top")
        self.center = Alignment(wrap_text=True, vertical="top", horizontal="center")
        self.head = Alignment(wrap_text=True, vertical="center", horizontal="center")
        self.header_fill = PatternFill("solid", fgColor=HEADER_FILL)
        self.section_fill = PatternFill("solid", fgColor=SECTION_FILL)
        self.fills = {r: PatternFill("solid", fgColor=c) for r, c in RESULT_FILLS.items()}


def _setup_page(ws: Any, widths: Sequence[float], title_rows: str | None) -> None:
    from openpyxl.utils import get_column_letter

    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.5
    if title_rows:
        ws.print_title_rows = title_rows


def _title(ws: Any, st: _Styles, lines: Sequence[str], ncols: int) -> None:
    for i, text in enumerate(lines, start=1):
        ws.cell(row=i, column=1, value=text).font = st.title if i == 1 else st.font
        ws.merge_cells(start_row=i, start_column=1, end_row=i, end_column=ncols)


def _header_cell(ws: Any, st: _Styles, row: int, col: int, text: str) -> None:
    c = ws.cell(row=row, column=col, value=text)
    c.font, c.alignment, c.fill, c.border = st.bold, st.head, st.header_fill, st.border


def _data_cell(
    ws: Any, st: _Styles, row: int, col: int, value: object, *, center: bool = False
) -> Any:
    c = ws.cell(row=row, column=col, value=value)
    c.font, c.border = st.font, st.border
    c.alignment = st.center if center else st.wrap
    return c


def _url_cell(ws: Any, st: _Styles, row: int, col: int, url: str | None, none: str) -> None:
    c = _data_cell(ws, st, row, col, url or none)
    if url:
        c.hyperlink = url
        c.font = st.link


def _heading_lines(fmt: Fmt, data: ReportData) -> list[str]:
    return [
        report_title(fmt, data),
        fmt.t("xlsx.office", org=data.org_name),
        fmt.t(
            "xlsx.generated",
            date=fmt.date(data.as_of),
            start=fmt.date(data.period.start),
            end=fmt.date(data.period.end),
        ),
    ]


# -- the summary sheet ---------------------------------------------------------------------------


def _tally_table(
    ws: Any,
    st: _Styles,
    fmt: Fmt,
    row: int,
    title: str,
    first_cols: Sequence[str],
    entries: Sequence[tuple[Sequence[str], Tally]],
) -> int:
    ws.cell(row=row, column=1, value=title).font = st.bold
    row += 1
    heads = [*first_cols, fmt.t("xlsx.col.total"), *(fmt.t(RESULT_LABELS[r]) for r in Result)]
    for col, text in enumerate(heads, start=1):
        _header_cell(ws, st, row, col, text)
    for labels, tally in entries:
        row += 1
        values: list[object] = [*labels, tally.total, *(tally[r] for r in Result)]
        for col, v in enumerate(values, start=1):
            _data_cell(ws, st, row, col, v, center=col > len(first_cols))
    return row + 2


def _summary_sheet(ws: Any, st: _Styles, fmt: Fmt, data: ReportData) -> None:
    ncols = 2 + 1 + len(Result)
    _title(ws, st, _heading_lines(fmt, data), ncols)
    row = 5
    ws.cell(row=row, column=1, value=fmt.t("xlsx.totals_title")).font = st.bold
    row += 1
    for col, key in enumerate(("xlsx.col.result", "xlsx.col.count", "xlsx.col.percent"), 1):
        _header_cell(ws, st, row, col, fmt.t(key))
    total = data.totals.total
    for r in Result:
        row += 1
        _data_cell(ws, st, row, 1, fmt.t(RESULT_LABELS[r]))
        _data_cell(ws, st, row, 2, data.totals[r], center=True)
        share = round(100 * data.totals[r] / total, 1) if total else 0.0
        _data_cell(ws, st, row, 3, share, center=True).number_format = "0.0"
    row += 1
    _data_cell(ws, st, row, 1, fmt.t("xlsx.total_row")).font = st.bold
    _data_cell(ws, st, row, 2, total, center=True).font = st.bold
    _data_cell(ws, st, row, 3, 100.0 if total else 0.0, center=True).number_format = "0.0"
    row += 2
    view = data.view
    roles = sorted(data.by_role, key=lambda k: (view.unit_of(k), view.role_name(k)))
    row = _tally_table(
        ws,
        st,
        fmt,
        row,
        fmt.t("xlsx.by_role_title"),
        (fmt.t("xlsx.col.role"), fmt.t("xlsx.col.unit")),
        [((view.role_name(k), view.unit_of(k)), data.by_role[k]) for k in roles],
    )
    _tally_table(
        ws,
        st,
        fmt,
        row,
        fmt.t("xlsx.by_unit_title"),
        (fmt.t("xlsx.col.unit"), ""),
        [((u, ""), data.by_unit[u]) for u in sorted(data.by_unit)],
    )
    _setup_page(ws, (28, 16, 10, 11, 11, 11, 13, 15, 15), None)


# -- the items sheet -----------------------------------------------------------------------------


def _note(fmt: Fmt, row: ReportRow) -> str | None:
    if row.first_live is not None:  # the proof that it went up within the period
        live = f"{fmt.t('report.first_live')} {fmt.date(row.first_live)}"
        return f"{row.note}\n{live}" if row.note else live
    if row.note:
        return row.note
    if row.result in (Result.OVERDUE, Result.NOT_DUE) and row.stage not in ("done", ""):
        holders = ", ".join(row.holders) or "-"
        return f"{fmt.t('status.open', stage=fmt.stage(row.stage))} ({holders})"
    return None


def _frequency(fmt: Fmt, row: ReportRow) -> str:
    if row.kind == "confirm":
        return fmt.t("xlsx.kind.confirm")
    if row.kind == "change":
        return fmt.t("xlsx.kind.change")
    return row.frequency


def _items_sheet(ws: Any, st: _Styles, fmt: Fmt, data: ReportData) -> None:
    ncols = len(ITEM_WIDTHS)
    _title(ws, st, _heading_lines(fmt, data), ncols)
    h1, h2 = 4, 5
    singles = {
        1: "xlsx.col.no",
        2: "xlsx.col.code",
        3: "xlsx.col.item",
        4: "xlsx.col.period",
        8: "xlsx.col.frequency",
        9: "xlsx.col.due",
        10: "xlsx.col.result",
        11: "xlsx.col.completed",
        12: "xlsx.col.by",
        13: "xlsx.col.url",
        14: "xlsx.col.note",
    }
    for col, key in singles.items():
        _header_cell(ws, st, h1, col, fmt.t(key))
        _header_cell(ws, st, h2, col, "")
        ws.merge_cells(start_row=h1, start_column=col, end_row=h2, end_column=col)
    _header_cell(ws, st, h1, 5, fmt.t("xlsx.col.responsible"))
    for col in (6, 7):
        _header_cell(ws, st, h1, col, "")
    ws.merge_cells(start_row=h1, start_column=5, end_row=h1, end_column=7)
    for col, key in ((5, "xlsx.col.prepare"), (6, "xlsx.col.collect"), (7, "xlsx.col.publish")):
        _header_cell(ws, st, h2, col, fmt.t(key))
    none = fmt.t("xlsx.none")
    view = data.view
    for i, r in enumerate(data.rows, start=1):
        row = DATA_ROW + i - 1
        values: list[tuple[object, bool]] = [
            (i, True),
            (r.code, True),
            (r.title, False),
            (fmt.period(r.period_key), False),
            (view.role_name(r.prepare_role) if r.prepare_role else none, False),
            (view.role_name(r.collect_role) if r.collect_role else none, False),
            (view.role_name(r.publish_role) if r.publish_role else none, False),
            (_frequency(fmt, r) or none, False),
            (fmt.date(r.due), True),
            (result_text(fmt, r), False),
            (fmt.date(r.completed_on) if r.completed_on else none, True),
            (r.completed_by or none, False),
        ]
        for col, (value, center) in enumerate(values, start=1):
            c = _data_cell(ws, st, row, col, value, center=center)
            if col == 10 and r.result in st.fills:
                c.fill = st.fills[r.result]
        _url_cell(ws, st, row, 13, r.evidence_url, none)
        _data_cell(ws, st, row, 14, _note(fmt, r) or "")
    ws.freeze_panes = f"D{DATA_ROW}"
    _setup_page(ws, ITEM_WIDTHS, f"{h1}:{h2}")


# -- the measures sheet ----------------------------------------------------------------------------


def _steps(fmt: Fmt, steps: Sequence[str]) -> str:
    if len(steps) <= 1:
        return "".join(steps)
    return "\n".join(f"{fmt.num(i)}. {s}" for i, s in enumerate(steps, start=1))


def _measures_sheet(ws: Any, st: _Styles, fmt: Fmt, data: ReportData) -> None:
    ncols = len(MEASURE_WIDTHS)
    _title(ws, st, _heading_lines(fmt, data), ncols)
    head = 4
    keys = (
        "xlsx.col.code",
        "xlsx.col.activity",
        "xlsx.col.steps",
        "xlsx.col.responsible",
        "xlsx.col.due",
        "xlsx.col.report_quarter",
        "xlsx.col.result",
        "xlsx.col.completed",
        "xlsx.col.by",
        "xlsx.col.url",
        "xlsx.col.in_period",
    )
    for col, key in enumerate(keys, start=1):
        _header_cell(ws, st, head, col, fmt.t(key))
    none = fmt.t("xlsx.none")
    row = head
    current: str | None = None
    for a in data.activities:
        if a.measure_code != current:
            current = a.measure_code
            row += 1
            number = fmt.num(a.measure_code[1:])
            c = ws.cell(row=row, column=1, value=f"{number}) {a.measure_title}")
            c.font, c.fill, c.alignment = st.bold, st.section_fill, st.wrap
            ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=ncols)
        row += 1
        _activity_row(ws, st, fmt, data, row, a, none)
    ws.freeze_panes = f"C{head + 1}"
    _setup_page(ws, MEASURE_WIDTHS, f"{head}:{head}")


def _activity_row(
    ws: Any, st: _Styles, fmt: Fmt, data: ReportData, row: int, a: ActivityRow, none: str
) -> None:
    r = a.row
    values: list[tuple[object, bool]] = [
        (a.code, True),
        (a.title, False),
        (_steps(fmt, a.steps) or none, False),
        (data.view.role_name(a.responsible), False),
        (month_text(fmt, a.due_month), True),
        (fmt.t("report.quarter_label", q=fmt.num(a.report_quarter)), True),
        (result_text(fmt, r) if r else none, False),
        (fmt.date(r.completed_on) if r and r.completed_on else none, True),
        ((r.completed_by if r else None) or none, False),
    ]
    for col, (value, center) in enumerate(values, start=1):
        c = _data_cell(ws, st, row, col, value, center=center)
        if col == 7 and r is not None and r.result in st.fills:
            c.fill = st.fills[r.result]
    _url_cell(ws, st, row, 10, r.evidence_url if r else None, none)
    _data_cell(ws, st, row, 11, fmt.t("xlsx.yes") if a.in_period else "", center=True)


def report_workbook(fmt: Fmt, data: ReportData) -> Any:
    """The report as an openpyxl Workbook (sheets: summary, items, measures)."""
    from openpyxl import Workbook

    st = _Styles()
    wb = Workbook()
    summary = wb.active
    summary.title = fmt.t("xlsx.sheet.summary")
    _summary_sheet(summary, st, fmt, data)
    _items_sheet(wb.create_sheet(fmt.t("xlsx.sheet.items")), st, fmt, data)
    _measures_sheet(wb.create_sheet(fmt.t("xlsx.sheet.measures")), st, fmt, data)
    wb.properties.title = report_title(fmt, data)
    wb.properties.creator = "ITA duty bot"
    return wb


def report_xlsx(fmt: Fmt, data: ReportData) -> bytes:
    """The report's XLSX file as bytes."""
    buf = io.BytesIO()
    report_workbook(fmt, data).save(buf)
    return buf.getvalue()
