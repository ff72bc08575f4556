"""One pass over a seed document's lines: tables, rows and the drafts they build.

The tables are tab-separated or aligned with spaces (the header's columns then say
where each cell starts), with headers repeated on every page, rows continued on the
next page with an empty first cell, ``<p>`` fragments and look-alike characters.
Cells are kept as written; :mod:`bot.catalogue.importer` reads the fields, with the
corrections applied, once the whole document is known.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from bot.catalogue.aliases import Aliases
from bot.catalogue.loader import CatalogueError
from bot.catalogue.seeddrafts import (
    COLUMN_NAMES,
    DEFAULT_ITEM_COLUMNS,
    ActivityDraft,
    Column,
    Fix,
    ItemDraft,
    MeasureDraft,
)
from bot.catalogue.seedtext import (
    HTML_P,
    DueText,
    cells_at,
    clean_field,
    foreign_script,
    is_spaced,
    norm,
    parse_due,
    plain,
    repair,
    spaced_chunks,
    steps_of,
)
from bot.domain import Stage
from bot.domain.thai import ThaiDateError, to_arabic_digits

_MEASURE_HEADING = re.compile(r"^([0-9๐-๙]+)\s*\)\s*(\S.*)$")
_ITEM_NUMBER = re.compile(r"^[Oo]?\s*([0-9๐-๙]+)\s*\.?$")
_QUARTER = re.compile(r"^ไตรมาส(?:ที่)?([0-9๐-๙]+)$")
_STATED_YEAR = re.compile(r"ประจำปีงบประมาณ\s*(?:พ\s*\.\s*ศ\s*\.)?\s*([0-9๐-๙]{4})")

TableKind = Literal["measures", "items"]


class SeedReader:
    def __init__(self, path: Path, aliases: Aliases) -> None:
        self.path = path
        self.aliases = aliases
        self.fixes: list[Fix] = []
        self.table: TableKind | None = None
        self.item_columns: tuple[Column, ...] = DEFAULT_ITEM_COLUMNS
        self.starts: list[int] | None = None  # column starts of a table aligned with spaces
        self.header_starts: list[int] | None = None  # the items header's, until its sub-row
        self.measures: dict[int, MeasureDraft] = {}
        self.measure: MeasureDraft | None = None
        self.activity: ActivityDraft | None = None  # the previous row's activity
        self.items: dict[int, ItemDraft] = {}
        self.item: ItemDraft | None = None  # the previous row's item
        self.organisation: str | None = None
        self.stated_years: list[tuple[int, int]] = []  # (line, BE fiscal year) from the prose
        self.last_row = 0

    def error(self, line: int | None, message: str) -> CatalogueError:
        return CatalogueError(self.path, line, message)

    def fix(self, line: int, where: str, notes: Iterable[str]) -> None:
        self.fixes.extend(Fix(line, where, note) for note in notes)

    # -- lines ------------------------------------------------------------------------------
    def read(self, text: str) -> None:
        for number, raw in enumerate(text.split("\n"), start=1):
            raw = raw.rstrip("\r")
            if "\t" in raw:
                self.table_line(number, raw.split("\t"), spaced=False)
            elif is_spaced(raw) and not self.is_heading(raw):
                self.spaced_line(number, raw)
            else:
                self.prose_line(number, raw)

    @staticmethod
    def is_heading(raw: str) -> bool:
        text = raw.strip().strip("*").strip()
        return bool(_MEASURE_HEADING.match(text)) or norm(text).startswith("ตารางบทบาทหน้าที่")

    def prose_line(self, n: int, raw: str) -> None:
        text = raw.strip().strip("*").strip()
        self.stated_years += [
            (n, int(to_arabic_digits(y.group(1)))) for y in _STATED_YEAR.finditer(text)
        ]
        if m := _MEASURE_HEADING.match(text):
            self.measure_heading(n, m.group(1), m.group(2))
        elif norm(text).startswith("ตารางบทบาทหน้าที่"):
            self.table = None  # the responsibility table starts at its header row
        elif self.organisation is None and text.startswith(self.aliases.organisations):
            text, notes = self.lookalikes(n, text)
            text, more = repair(text)
            self.organisation = text.split(" ", 1)[0]
            self.fix(n, f"line {n}", notes + more)
        # any other prose (titles, narrative, "# …", "\*\*\*") is not data

    def measure_heading(self, n: int, number_text: str, title_text: str) -> None:
        number = int(to_arabic_digits(number_text))
        if number < 1:
            raise self.error(n, f"measure number {number_text} must be 1 or more")
        self.table = None  # the activity table starts at its header row
        if number in self.measures:  # the heading is repeated on every page
            if self.measure is not self.measures[number]:
                self.measure = self.measures[number]
                self.activity = self.measure.activities[-1] if self.measure.activities else None
            return
        text, notes = self.lookalikes(n, title_text)
        title, more = clean_field(text, "title")
        self.measure = self.measures[number] = MeasureDraft(number, n, title)
        self.activity = None
        self.fix(n, self.measure.code, notes + more)

    # -- headers ------------------------------------------------------------------------------
    def header_kind(self, cells: list[str]) -> TableKind | Literal["subheader"] | None:
        """Recognise the table headers repeated on every page (stray spaces ignored)."""
        words = [norm(c).strip("*") for c in cells]
        if words[:2] == ["กิจกรรม", "ขั้นตอนการปฏิบัติ"]:
            return "measures"
        if words[:2] == ["ที่", "ประเภทข้อมูล"]:
            return "items"
        named = [w for w in words if w]
        if named and all(self.aliases.stage_of_column(w) is not None for w in named):
            return "subheader"
        return None

    def subheader(self, n: int, cells: list[str]) -> None:
        """The row under ผู้รับผิดชอบ: which role columns there are, and whose stage each is."""
        stages = [self.aliases.stage_of_column(c) for c in cells if norm(c)]
        missing = [s for s in (Stage.PREPARE, Stage.COLLECT, Stage.PUBLISH) if s not in stages]
        if missing:
            names = ", ".join(COLUMN_NAMES[s] for s in missing)
            raise self.error(n, f"the role columns have no {names} column")
        roles: list[Column] = [s for s in stages if s is not None]
        self.item_columns = ("number", "title", *roles, "frequency")

    def table_line(self, n: int, cells: list[str], *, spaced: bool) -> None:
        kind = self.header_kind(cells)
        if kind == "subheader":
            self.subheader(n, cells)
            return
        if kind == "measures" and self.measure is None:
            raise self.error(n, "activity table header before any measure heading such as '๑) …'")
        if kind is not None:
            self.table = kind
            if not spaced:
                self.starts = None
            return
        if self.table is None:
            raise self.error(n, "table row before any table header")
        self.last_row = n
        text, notes = self.lookalikes(n, "\t".join(cells))
        cells = text.split("\t")
        if self.table == "measures":
            self.activity_row(n, self.cells(n, cells, 5), notes)
        else:
            self.item_row(n, self.cells(n, cells, len(self.item_columns)), notes)

    def spaced_line(self, n: int, raw: str) -> None:
        """A line without tabs whose cells are separated (or indented) by runs of spaces."""
        chunks = spaced_chunks(raw)
        texts = [t for _, t in chunks]
        kind = self.header_kind(texts)
        if kind == "items":  # its role columns come with the row under it
            self.header_starts, self.starts = [c for c, _ in chunks], None
            self.table_line(n, texts, spaced=True)
        elif kind == "measures":
            self.starts = [c for c, _ in chunks]
            self.table_line(n, texts, spaced=True)
        elif kind == "subheader":
            if self.header_starts is None or len(self.header_starts) != 4:
                raise self.error(n, "role columns aligned with spaces under a header that is not")
            first, title, _, freq = self.header_starts
            self.starts = [first, title, *(c for c, _ in chunks), freq]
            self.table_line(n, texts, spaced=True)
        elif self.table is None:
            self.prose_line(n, raw)
        elif self.starts is not None:
            cells = cells_at(chunks, self.starts)
            if cells is None:
                raise self.error(n, "a cell starts left of the table's first column")
            self.table_line(n, cells, spaced=True)
        else:
            expected = 5 if self.table == "measures" else len(self.item_columns)
            if raw.startswith(" ") or len(texts) != expected:
                raise self.error(
                    n,
                    f"this {self.table} row is aligned with spaces, not tabs like its header: "
                    f"cannot tell which of its {expected} cells the {len(texts)} pieces are",
                )
            self.table_line(n, texts, spaced=True)

    def cells(self, n: int, cells: list[str], expected: int) -> list[str]:
        cells = list(cells)
        while len(cells) > expected and not cells[-1].strip():
            cells.pop()
        if len(cells) != expected:
            hint = ""
            if self.table == "items" and len(cells) > expected:
                hint = " (another role column needs its heading in the row under ผู้รับผิดชอบ)"
            raise self.error(
                n, f"expected {expected} cells in a {self.table} row, found {len(cells)}{hint}"
            )
        return cells

    def lookalikes(self, n: int, text: str) -> tuple[str, list[str]]:
        """Replace look-alike characters of other scripts; reject any not in the table."""
        found: dict[str, list[str]] = {}  # script → code points, in order of appearance
        out: list[str] = []
        for ch in text:
            script = foreign_script(ch)
            if script is None:
                out.append(ch)
                continue
            if ch not in self.aliases.lookalikes:
                word = next(w for w in text.split() if ch in w)
                raise self.error(
                    n,
                    f"{script} character U+{ord(ch):04X} ({unicodedata.name(ch, '?')}) in {word!r} "
                    f"is not in the lookalikes table of {self.aliases.label}",
                )
            codes = found.setdefault(script, [])
            if (code := f"U+{ord(ch):04X}") not in codes:
                codes.append(code)
            out.append(self.aliases.lookalikes[ch])
        if not found:
            return text, []
        listed = ", ".join(f"{script} {' '.join(codes)}" for script, codes in found.items())
        return "".join(out), [f"replaced {listed} with Thai"]

    # -- the measures' activity rows ---------------------------------------------------------
    def activity_row(self, n: int, cells: list[str], notes: list[str]) -> None:
        measure = self.measure
        assert measure is not None  # a measures header needs a heading first
        draft = self.activity_draft(n, measure, cells, notes)
        prev = self.activity
        if prev is not None and prev.group_key() == draft.group_key():
            if plain(cells[0]):  # the title repeated: its repairs are reported, it is not kept
                notes += clean_field(draft.title, "title")[1]
            prev.steps.extend(draft.steps)  # same title, unit, month and quarter: one activity
            prev.responsible.extend(draft.responsible)
            draft = prev
        else:
            measure.activities.append(draft)
            self.activity = draft
        self.fix(n, draft.code, notes)

    def activity_draft(
        self, n: int, measure: MeasureDraft, cells: list[str], notes: list[str]
    ) -> ActivityDraft:
        """The row as a new activity; empty cells of a continuation row repeat the previous row."""
        title_cell, steps_cell, *rest = cells
        responsible_text, due_text, quarter_text = (plain(c) for c in rest)
        if HTML_P.search("".join(cells)):
            split = " (one step per <p>)" if HTML_P.search(steps_cell) else ""
            notes.append(f"removed HTML <p> tags{split}")
        prev = self.activity
        if title := plain(title_cell):
            prev = None  # a new title: nothing is inherited
        elif prev is None:
            raise self.error(
                n,
                f"continuation row (empty กิจกรรม cell) with no activity before it in {measure.code}",
            )
        else:
            title = prev.title
        steps, more = steps_of(steps_cell)
        notes += more
        if prev is not None and not responsible_text:
            responsible, role = [], prev.role
        else:
            responsible = [(n, responsible_text)]
            role = self.role(n, responsible_text, "ผู้รับผิดชอบ")[0]
        if prev is not None and not due_text:
            due, due_line, due_text = prev.due, prev.due_line, prev.due_text
        else:
            due, due_line = self.due(n, due_text), n
        if prev is not None and not quarter_text:
            quarter, quarter_line, quarter_text = prev.quarter, prev.quarter_line, prev.quarter_text
        else:
            quarter, quarter_line = self.quarter(n, quarter_text), n
        return ActivityDraft(
            f"{measure.code}.{len(measure.activities) + 1}",
            n,
            title,
            [(n, s) for s in steps],
            responsible,
            role,
            due_text,
            due_line,
            due,
            quarter_text,
            quarter_line,
            quarter,
        )

    def due(self, n: int, text: str) -> DueText:
        try:
            return parse_due(text)
        except ThaiDateError as exc:
            raise self.error(
                n,
                f"cannot read the due date (กำหนดเสร็จ) {text!r}: {exc}; expected e.g. 'พ.ค.๖๕', "
                "'ต.ค.๖๔ – ก.ย.๖๕', 'ตลอดปีงบประมาณ' or 'ภายใน ๓๐ วัน'",
            ) from None

    def quarter(self, n: int, text: str) -> int:
        m = _QUARTER.match(norm(text))
        if m is None or not 1 <= int(to_arabic_digits(m.group(1))) <= 4:
            raise self.error(
                n,
                f"cannot read the report quarter (รายงานผล) {text!r}; expected 'ไตรมาส ๑'..'ไตรมาส ๔'",
            )
        return int(to_arabic_digits(m.group(1)))

    def role(self, n: int, text: str, column: str) -> tuple[str, list[str]]:
        """The role a cell names, and the repairs and aliases its spelling needed."""
        written, notes = repair(text)
        if not written:
            raise self.error(n, f"empty {column} cell")
        role = self.aliases.find_role(written)
        if role is None:
            raise self.error(
                n,
                f"unknown role {written!r} in the {column} column; add its spelling to roles in {self.aliases.label}",
            )
        if written not in (role.name, role.short):
            notes.append(f'role "{written}" → {role.key}')
        return role.key, notes

    def roles(self, n: int, text: str, column: str) -> tuple[list[str], list[str]]:
        """One role, or several separated by ``/`` or ``,`` (``นักวิเคราะห์/นิติกร``)."""
        written = " ".join(text.split())
        if not written or self.aliases.find_role(written) is not None:
            key, notes = self.role(n, written, column)
            return [key], notes
        parts = [p for p in re.split(r"\s*[/,]\s*", written) if p]
        if len(parts) < 2:
            key, notes = self.role(n, written, column)  # raises: unknown role
            return [key], notes
        keys: list[str] = []
        found: list[str] = []
        for part in parts:
            key, more = self.role(n, part, column)
            found += more
            if key not in keys:
                keys.append(key)
        return keys, found

    # -- the responsibility table's item rows ---------------------------------------------
    def item_row(self, n: int, cells: list[str], notes: list[str]) -> None:
        if HTML_P.search("".join(cells)):
            notes.append("removed HTML <p> tags")
        if number_text := plain(cells[0]):
            number = self.item_number(n, number_text)
            item = self.item = ItemDraft(number, n, self.item_columns)
            self.items[item.number] = item
        elif self.item is None:
            raise self.error(n, "continuation row (empty ที่ cell) with no item before it")
        elif self.item.columns != self.item_columns:
            raise self.error(n, f"{self.item.code} continues under other role columns")
        self.item.add(n, cells)
        self.fix(n, self.item.code, notes)

    def item_number(self, n: int, text: str) -> int:
        m = _ITEM_NUMBER.match(text)
        if m is None or int(to_arabic_digits(m.group(1))) < 1:
            raise self.error(n, f"item number {text!r} is not a number such as '๑.' or 'O1'")
        number = int(to_arabic_digits(m.group(1)))
        if number in self.items:
            raise self.error(
                n,
                f"duplicate item number {text!r}: O{number} is already on line {self.items[number].line}",
            )
        return number
