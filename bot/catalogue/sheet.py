"""The catalogue as a workbook, for people who won't edit YAML, and back.

``catalogue export --format xlsx`` writes one sheet of items (one row each: number,
title, frequency, the three roles, the due-date override), one sheet of measures
(one row per activity), the roles and the edition.  ``catalogue import table.xlsx``
reads it back into the same data the YAML holds and validates it the same way: an
error names the file, the sheet and the row (``table.xlsx:รายการ:12: …``).

Cells hold what a clerk reads: Thai role names, the frequency's Thai phrase, months
as ``พ.ค.``.  Whatever has no column of its own (a per-item rule, co-roles beyond the
role cells, an activity's span) is one line of YAML in the ``อื่น ๆ`` column.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import yaml

from bot.catalogue.aliases import DEFAULT_ALIASES, load_aliases
from bot.catalogue.loader import CatalogueError, Where, validate_catalogue
from bot.catalogue.schema import Catalogue, Item, Role
from bot.catalogue.seedtext import norm
from bot.domain import FrequencyKind, Stage
from bot.domain.thai import (
    MONTH_ABBR,
    ThaiDateError,
    parse_month,
    to_arabic_digits,
    to_thai_digits,
)

ITEMS, MEASURES, ROLES, ABOUT = "รายการ", "มาตรการ", "บทบาท", "ข้อมูล"
ITEM_COLUMNS = (
    "ที่",
    "ประเภทข้อมูล",
    "ความถี่ในการเผยแพร่ข้อมูล",
    "จัดทำ",
    "รวบรวม/ตรวจทาน",
    "เผยแพร่",
    "กำหนดส่ง (ถ้าไม่ใช่ค่าปกติ)",
    "อื่น ๆ",
)
MEASURE_COLUMNS = (
    "มาตรการ",
    "ชื่อมาตรการ",
    "กิจกรรม",
    "ชื่อกิจกรรม",
    "ขั้นตอนการปฏิบัติ",
    "ผู้รับผิดชอบ",
    "กำหนดเสร็จ",
    "รายงานผล",
    "อื่น ๆ",
)
ROLE_COLUMNS = ("key", "ชื่อ", "ชื่อย่อ", "ชนิด", "ชื่ออื่น")
ABOUT_KEYS = ("edition", "fiscal_year", "source", "organisation")
STAGES = (Stage.PREPARE, Stage.COLLECT, Stage.PUBLISH)
NEXT_YEAR = "ปีถัดไป"
# an item's fields with a column of their own; any other goes to อื่น ๆ
_ITEM_SHOWN = {"code", "title", "frequency", "prepare", "collect", "publish", "rule", "co_roles"}


def is_workbook(path: str | Path) -> bool:
    return Path(path).suffix.lower() in (".xlsx", ".xlsm")


def _flow(value: dict[str, Any]) -> str:
    if not value:
        return ""
    text = yaml.safe_dump(value, allow_unicode=True, default_flow_style=True, width=10_000)
    return text.strip()


# -- writing ----------------------------------------------------------------------------------


def _role_cell(cat: Catalogue, item: Item, stage: Stage) -> str:
    keys = (item.stage_roles()[stage], *item.co_roles.get(stage, ()))
    return " / ".join(cat.role(k).name for k in keys)


def _frequency_cell(item: Item, phrases: dict[str, FrequencyKind]) -> str:
    phrase = item.frequency.phrase
    if phrase and phrases.get(norm(phrase)) is item.frequency.kind:
        return phrase
    return f"{phrase} [{item.frequency.kind.value}]".strip()


def _item_rows(cat: Catalogue, phrases: dict[str, FrequencyKind]) -> list[list[Any]]:
    rows = []
    for it in cat.items:
        data = it.model_dump(mode="json", exclude_defaults=True)
        rule = data.get("rule")
        extra = {k: v for k, v in data.items() if k not in _ITEM_SHOWN}
        rows.append(
            [
                it.code,
                it.title,
                _frequency_cell(it, phrases),
                *(_role_cell(cat, it, s) for s in STAGES),
                _flow(rule or {}),
                _flow(extra),
            ]
        )
    return rows


def _month_cell(month: int, fy_offset: int) -> str:
    return MONTH_ABBR[month - 1] + (f" {NEXT_YEAR}" if fy_offset else "")


def _measure_rows(cat: Catalogue) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for m in cat.measures:
        if not m.activities:
            rows.append([m.code, m.title, "", "", "", "", "", "", ""])
        for a in m.activities:
            data = a.model_dump(mode="json", exclude_defaults=True)
            shown = {"code", "title", "steps", "responsible", "due", "report_quarter"}
            extra = {k: v for k, v in data.items() if k not in shown}
            rows.append(
                [
                    m.code,
                    m.title,
                    a.code,
                    a.title,
                    "\n".join(a.steps),
                    cat.role(a.responsible).name,
                    _month_cell(a.due.month, a.due.fy_offset),
                    f"ไตรมาส {to_thai_digits(a.report_quarter)}",
                    _flow(extra),
                ]
            )
    return rows


def _sheet(
    wb: Any, title: str, header: tuple[str, ...], rows: list[list[Any]], widths: tuple[int, ...]
) -> None:
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(title)
    ws.append(list(header))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append(row)
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    for row_cells in ws.iter_rows(min_row=2):
        for cell in row_cells:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"


def catalogue_workbook(cat: Catalogue, *, aliases: Path = DEFAULT_ALIASES) -> bytes:
    """The catalogue as an XLSX workbook (see the module's docstring)."""
    from openpyxl import Workbook

    phrases = load_aliases(aliases).frequencies
    wb = Workbook()
    wb.remove(wb.active)
    _sheet(wb, ITEMS, ITEM_COLUMNS, _item_rows(cat, phrases), (6, 50, 30, 24, 24, 24, 30, 30))
    _sheet(wb, MEASURES, MEASURE_COLUMNS, _measure_rows(cat), (8, 30, 8, 40, 60, 20, 12, 10, 30))
    roles = [[r.key, r.name, r.short or "", r.kind, ", ".join(r.aliases)] for r in cat.roles]
    _sheet(wb, ROLES, ROLE_COLUMNS, roles, (20, 34, 20, 10, 60))
    about = [[k, getattr(cat, k)] for k in ABOUT_KEYS if getattr(cat, k) is not None]
    _sheet(wb, ABOUT, ("ข้อมูล", "ค่า"), about, (16, 60))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# -- reading ----------------------------------------------------------------------------------


class _Reader:
    def __init__(self, path: Path, wb: Any, aliases: Path) -> None:
        self.path, self.wb = path, wb
        self.phrases = load_aliases(aliases).frequencies
        self.where: dict[tuple[Any, ...], Where] = {}
        self.roles: tuple[Role, ...] = ()

    def fail(self, sheet: str | None, row: int | None, message: str) -> CatalogueError:
        return CatalogueError(self.path, row, message, sheet=sheet)

    def rows(
        self, title: str, header: tuple[str, ...], *, required: bool = True
    ) -> list[tuple[int, list[str]]]:
        """``(row number, cells as text)`` of a sheet's non-empty rows below its header."""
        if title not in self.wb.sheetnames:
            if not required:
                return []
            raise self.fail(
                None, None, f"no sheet named {title!r} (found {', '.join(self.wb.sheetnames)})"
            )
        out: list[tuple[int, list[str]]] = []
        for n, values in enumerate(self.wb[title].iter_rows(values_only=True), start=1):
            cells = ["" if v is None else str(v).strip() for v in values][: len(header)]
            cells += [""] * (len(header) - len(cells))
            if n == 1:
                if [norm(c) for c in cells] != [norm(h) for h in header]:
                    raise self.fail(title, 1, f"expected the columns {', '.join(header)}")
                continue
            if any(cells):
                out.append((n, cells))
        return out

    def extra(self, sheet: str, row: int, text: str) -> dict[str, Any]:
        if not text:
            return {}
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise self.fail(
                sheet, row, f"อื่น ๆ is not one line of YAML: {getattr(exc, 'problem', exc)}"
            ) from None
        if not isinstance(value, dict):
            raise self.fail(sheet, row, "อื่น ๆ must be a mapping such as {within_days: 30}")
        return value

    def role_key(self, sheet: str, row: int, text: str, column: str) -> list[str]:
        def find(name: str) -> str | None:
            k = norm(name)
            return next((r.key for r in self.roles if k in {norm(n) for n in r.names()}), None)

        if (key := find(text)) is not None:
            return [key]
        parts = [p for p in re.split(r"\s+/\s+|/", text) if p.strip()]
        keys = [find(p) for p in parts]
        if len(parts) < 2 or None in keys:
            raise self.fail(
                sheet,
                row,
                f"unknown role {text!r} in the {column} column; the roles are in sheet {ROLES!r}",
            )
        return [k for k in keys if k is not None]

    def frequency(self, row: int, text: str) -> dict[str, str]:
        m = re.match(r"^(.*?)\s*\[([a-z_]+)\]$", text)
        phrase, kind = (m.group(1), m.group(2)) if m else (text, None)
        if kind is None:
            found = self.phrases.get(norm(phrase))
            if found is None and phrase in {k.value for k in FrequencyKind}:
                return {"kind": phrase}
            if found is None:
                raise self.fail(
                    ITEMS,
                    row,
                    f"unknown frequency {phrase!r}; write a known phrase or add [monthly], [quarterly]…",
                )
            kind = found.value
        return {"kind": kind, "phrase": phrase} if phrase else {"kind": kind}

    # -- sheets ----------------------------------------------------------------------------
    def about(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for n, (key, value) in self.rows(ABOUT, ("ข้อมูล", "ค่า")):
            if key not in ABOUT_KEYS:
                raise self.fail(ABOUT, n, f"unknown entry {key!r}; one of {', '.join(ABOUT_KEYS)}")
            data[key] = (
                int(to_arabic_digits(value)) if key == "fiscal_year" and value.isdigit() else value
            )
            self.where[(key,)] = (ABOUT, n)
        return data

    def role_rows(self) -> list[dict[str, Any]]:
        out = []
        for i, (n, (key, name, short, kind, aliases)) in enumerate(self.rows(ROLES, ROLE_COLUMNS)):
            role: dict[str, Any] = {"key": key, "name": name, "kind": kind or "position"}
            if short:
                role["short"] = short
            if aliases:
                role["aliases"] = [a.strip() for a in aliases.split(",") if a.strip()]
            out.append(role)
            self.where[("roles", i)] = (ROLES, n)
        try:
            self.roles = tuple(Role.model_validate(r) for r in out)
        except ValueError:
            self.roles = ()  # reported by the catalogue's validation, at its row
        return out

    def item_rows(self) -> list[dict[str, Any]]:
        out = []
        for i, (n, cells) in enumerate(self.rows(ITEMS, ITEM_COLUMNS)):
            code, title, freq, *roles, rule, extra = cells
            item: dict[str, Any] = {"code": code.upper(), "title": title}
            co: dict[str, list[str]] = {}
            for stage, text, column in zip(STAGES, roles, ITEM_COLUMNS[3:6], strict=True):
                keys = self.role_key(ITEMS, n, text, column) if text else [""]
                item[stage.value] = keys[0]
                if keys[1:]:
                    co[stage.value] = keys[1:]
            item["frequency"] = self.frequency(n, freq)
            if rule:
                item["rule"] = self.extra(ITEMS, n, rule)
            more = self.extra(ITEMS, n, extra)
            if co:
                more["co_roles"] = {**co, **more.get("co_roles", {})}
            item.update(more)
            out.append(item)
            self.where[("items", i)] = (ITEMS, n)
        return out

    def measure_rows(self) -> list[dict[str, Any]]:
        measures: list[dict[str, Any]] = []
        for n, cells in self.rows(MEASURES, MEASURE_COLUMNS, required=False):
            mcode, mtitle, code, title, steps, responsible, due, quarter, extra = cells
            if not measures or measures[-1]["code"] != mcode:
                measures.append({"code": mcode, "title": mtitle, "activities": []})
                self.where[("measures", len(measures) - 1)] = (MEASURES, n)
            if not code:
                continue
            acts = measures[-1]["activities"]
            activity = {
                "code": code,
                "title": title,
                "steps": [s.strip() for s in steps.split("\n") if s.strip()],
                "responsible": self.role_key(MEASURES, n, responsible, "ผู้รับผิดชอบ")[0]
                if responsible
                else "",
                "due": self.month(n, due),
                "report_quarter": self.quarter(n, quarter),
                **self.extra(MEASURES, n, extra),
            }
            self.where[("measures", len(measures) - 1, "activities", len(acts))] = (MEASURES, n)
            acts.append(activity)
        return measures

    def month(self, row: int, text: str) -> dict[str, int]:
        body = text.replace(NEXT_YEAR, "").strip()
        try:
            month = parse_month(body)
        except ThaiDateError:
            raise self.fail(
                MEASURES,
                row,
                f"cannot read the month {text!r} (กำหนดเสร็จ); expected e.g. 'พ.ค.' or 'ต.ค. {NEXT_YEAR}'",
            ) from None
        return {"month": month, "fy_offset": int(NEXT_YEAR in text)}

    def quarter(self, row: int, text: str) -> int:
        digits = to_arabic_digits(re.sub(r"\D", "", to_arabic_digits(text)) or "")
        if not digits:
            raise self.fail(
                MEASURES,
                row,
                f"cannot read the report quarter {text!r}; expected 'ไตรมาส ๑'..'ไตรมาส ๔'",
            )
        return int(digits)


def read_workbook(path: str | Path, *, aliases: Path = DEFAULT_ALIASES) -> Catalogue:
    """A workbook written by :func:`catalogue_workbook` (and edited), validated like YAML."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    p = Path(path)
    try:
        wb = load_workbook(p, read_only=True, data_only=True)
    except (OSError, InvalidFileException, KeyError, ValueError) as exc:
        raise CatalogueError(p, None, f"cannot read the workbook: {exc}") from None
    try:
        reader = _Reader(p, wb, aliases)
        data = reader.about()
        data["roles"] = reader.role_rows()
        data["items"] = reader.item_rows()
        data["measures"] = reader.measure_rows()
    finally:
        wb.close()
    return validate_catalogue(data, p, reader.where)
