"""Turn the seed document (text extracted from a PDF) into a clean catalogue.

The seed is dirty input (see the brief): tab-separated tables with headers repeated on
every page, rows continued on the next page, ``<p>`` fragments, Thai digits, vowels split
by stray spaces, Devanagari look-alike characters and roles spelt several ways.  One pass
over the lines tracks the current table and the row being built; every repair is
recorded as a :class:`Fix`.  The spelling tables (roles, frequency phrases, look-alike
characters) are data in ``data/aliases.yaml``, not code.

``import_seed`` either returns a complete result or raises :class:`CatalogueError`
naming the file and line; it reads its two input files and does nothing else.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from bot.catalogue.loader import CatalogueError, dump_catalogue
from bot.catalogue.schema import (
    Activity,
    Catalogue,
    Frequency,
    FrequencyKind,
    Item,
    Measure,
    MonthRef,
    Role,
)
from bot.schedule.fiscal import fiscal_year
from bot.schedule.thai import ThaiDateError, ce_year, parse_month_year, to_arabic_digits

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_ALIASES = REPO_ROOT / "data" / "aliases.yaml"

ORGANISATION_PREFIXES = ("องค์การบริหารส่วนตำบล",)


@dataclass(frozen=True)
class Fix:
    """One repair of the source: ``where`` is an item/activity/measure code or ``line N``."""

    line: int
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class ImportResult:
    catalogue: Catalogue
    fixes: list[Fix]


# -- text repairs (pure functions) ----------------------------------------------------------

_THAI = "\u0e01-\u0e4e"  # Thai letters, vowels and marks; not the Thai digits ๐-๙
_STRAY_GAP = re.compile(rf"(?<=[{_THAI}]) (?=[{_THAI}])")
_SPACE_BEFORE_MARK = re.compile(r" (?=[\u0e31\u0e34-\u0e3a\u0e47-\u0e4e])")
# "น า" is how the PDF renders SARA AM (the NIKHAHIT is lost, a space takes its place)
_SPLIT_AM = re.compile(rf"([\u0e01-\u0e2e][\u0e48-\u0e4b]?) \u0e32(?: (?=[{_THAI}]))?")
_HTML_P = re.compile(r"</?p\s*/?>", re.IGNORECASE)
_STEP_NUMBER = re.compile(r"^[0-9๐-๙]{1,3}\.(?![0-9๐-๙])\s*")
_STEP_DASH = re.compile(r"^-\s+")
_MEASURE_HEADING = re.compile(r"^([0-9๐-๙]+)\s*\)\s*(\S.*)$")
_ITEM_NUMBER = re.compile(r"^([0-9๐-๙]+)\.?$")
_QUARTER = re.compile(r"^ไตรมาส(?:ที่)?([0-9๐-๙]+)$")


def _norm(text: str) -> str:
    """Whitespace-free form, for whitespace-insensitive matching."""
    return re.sub(r"\s+", "", text)


def _fragments(cell: str) -> list[str]:
    """The non-blank pieces of a cell, split at ``<p>``/``</p>`` tags."""
    return [part for part in _HTML_P.split(cell) if part.strip()]


def _plain(cell: str) -> str:
    """A cell's text without ``<p>`` tags, whitespace collapsed."""
    return " ".join(" ".join(_fragments(cell)).split())


def _repair(text: str) -> tuple[str, list[str]]:
    """Collapse whitespace and undo split vowels; returns the text and what was repaired."""
    text = " ".join(text.split())
    notes = [
        f"removed a stray space before U+{ord(text[m.end()]):04X}"
        for m in _SPACE_BEFORE_MARK.finditer(text)
    ]
    text = _SPACE_BEFORE_MARK.sub("", text)
    notes += [
        f'repaired split vowel "{m.group(1)} า" → "{m.group(1)}ำ"' for m in _SPLIT_AM.finditer(text)
    ]
    return _SPLIT_AM.sub("\\1ำ", text), notes


def _clean_field(text: str, label: str) -> tuple[str, list[str]]:
    """A title or phrase: repaired, and spaces between two Thai letters (line wraps) removed."""
    text, notes = _repair(text)
    tight = _STRAY_GAP.sub("", text)
    if tight != text:
        notes.append(f"removed stray spaces in {label}")
    return tight, notes


def _steps(cell: str) -> tuple[list[str], list[str]]:
    """One step per ``<p>`` fragment, without its ``๑.`` numbering or ``- `` bullet."""
    steps: list[str] = []
    notes: list[str] = []
    for fragment in _fragments(cell):
        text, more = _repair(fragment)
        notes += more
        text = _STEP_DASH.sub("", _STEP_NUMBER.sub("", text))
        if text:
            steps.append(text)
    return steps, notes


def _foreign_script(ch: str) -> str | None:
    """The script of a letter, mark or digit that is neither ASCII, Thai nor Latin."""
    if ch.isascii():
        return None
    category = unicodedata.category(ch)
    if category[0] not in "LM" and category != "Nd":
        return None
    script = unicodedata.name(ch, "UNKNOWN").split(" ", 1)[0]
    return None if script in ("THAI", "LATIN") else script.title()


def _fiscal_year_of(be_year: int, month: int) -> int:
    return fiscal_year(date(ce_year(be_year), month, 1))


def _source_label(path: Path) -> str:
    """The path relative to the repository when inside it, else the file name."""
    try:
        return path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return path.name


# -- the alias tables -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Aliases:
    label: str
    roles: tuple[Role, ...]
    role_by_name: dict[str, Role]  # whitespace-free spelling → role
    frequencies: dict[str, FrequencyKind]  # whitespace-free phrase → kind
    lookalikes: dict[str, str]

    def find_role(self, written: str) -> Role | None:
        return self.role_by_name.get(_norm(written))


def _load_aliases(path: Path) -> _Aliases:
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogueError(path, None, f"cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise CatalogueError(path, None, f"not valid YAML: {exc}") from None
    try:
        roles = tuple(Role.model_validate(r) for r in data["roles"])
        role_by_name: dict[str, Role] = {}
        for role in roles:
            for name in role.names():
                if role_by_name.setdefault(_norm(name), role) is not role:
                    raise ValueError(f"role name {name!r} is used by two roles")
        frequencies = {
            _norm(phrase): FrequencyKind(entry["kind"])
            for entry in data["frequencies"]
            for phrase in entry["phrases"]
        }
        lookalikes = {str(k): str(v) for k, v in (data.get("lookalikes") or {}).items()}
        if any(len(k) != 1 for k in lookalikes):
            raise ValueError("lookalikes keys must be single characters")
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        message = str(exc) if not isinstance(exc, ValidationError) else exc.errors()[0]["msg"]
        raise CatalogueError(path, None, f"malformed alias tables: {message}") from None
    return _Aliases(_source_label(path), roles, role_by_name, frequencies, lookalikes)


# -- drafts built during the pass -------------------------------------------------------------

ITEM_FIELDS = ("title", "prepare", "collect", "publish", "frequency")
_COLUMN = {
    "title": "ประเภทข้อมูล",
    "prepare": "จัดทำ",
    "collect": "รวบรวม",
    "publish": "เผยแพร่",
    "frequency": "ความถี่ในการเผยแพร่ข้อมูล",
}


@dataclass
class _ItemDraft:
    number: int
    line: int
    texts: dict[str, str] = field(default_factory=lambda: dict.fromkeys(ITEM_FIELDS, ""))
    lines: dict[str, int] = field(default_factory=dict)  # field → line of its first text

    @property
    def code(self) -> str:
        return f"O{self.number}"

    def add(self, line: int, cells: Iterable[str]) -> None:
        """Append the non-empty cells of a row (the first row or a continuation)."""
        for name, cell in zip(ITEM_FIELDS, cells, strict=True):
            text = _plain(cell)
            if not text:
                continue
            self.lines.setdefault(name, line)
            self.texts[name] = f"{self.texts[name]} {text}".strip()

    def line_of(self, name: str) -> int:
        return self.lines.get(name, self.line)


@dataclass
class _ActivityDraft:
    code: str
    title: str
    steps: list[str]
    responsible: str
    due: tuple[int, int]  # (BE year, month)
    due_line: int
    due_text: str
    quarter: int

    def group_key(self) -> tuple[str, str, tuple[int, int], int]:
        return _norm(self.title), self.responsible, self.due, self.quarter


@dataclass
class _MeasureDraft:
    number: int
    title: str
    activities: list[_ActivityDraft] = field(default_factory=list)

    @property
    def code(self) -> str:
        return f"M{self.number}"


# -- the single pass ----------------------------------------------------------------------------

TableKind = Literal["measures", "items"]


def _header_kind(raw: str) -> TableKind | Literal["subheader"] | None:
    """Recognise the table headers repeated on every page (stray spaces ignored)."""
    cells = [_norm(c).strip("*") for c in raw.split("\t")]
    if cells[:2] == ["กิจกรรม", "ขั้นตอนการปฏิบัติ"]:
        return "measures"
    if cells[:2] == ["ที่", "ประเภทข้อมูล"]:
        return "items"
    words = set(cells) - {""}
    if words and words <= {"จัดทำ", "รวบรวม", "เผยแพร่"}:
        return "subheader"
    return None


class _SeedReader:
    def __init__(self, path: Path, aliases: _Aliases) -> None:
        self.path = path
        self.aliases = aliases
        self.fixes: list[Fix] = []
        self.table: TableKind | None = None
        self.measures: dict[int, _MeasureDraft] = {}
        self.measure: _MeasureDraft | None = None
        self.activity: _ActivityDraft | None = None  # the previous row's activity
        self.items: dict[int, _ItemDraft] = {}
        self.item: _ItemDraft | None = None  # the previous row's item
        self.organisation: str | None = None

    def error(self, line: int | None, message: str) -> CatalogueError:
        return CatalogueError(self.path, line, message)

    def fix(self, line: int, where: str, notes: Iterable[str]) -> None:
        self.fixes.extend(Fix(line, where, note) for note in notes)

    # -- lines ------------------------------------------------------------------------------
    def read(self, text: str) -> None:
        for number, raw in enumerate(text.split("\n"), start=1):
            raw = raw.rstrip("\r")
            if "\t" in raw:
                self.table_line(number, raw)
            else:
                self.prose_line(number, raw)

    def prose_line(self, n: int, raw: str) -> None:
        text = raw.strip().strip("*").strip()
        if m := _MEASURE_HEADING.match(text):
            self.measure_heading(n, m.group(1), m.group(2))
        elif _norm(text).startswith("ตารางบทบาทหน้าที่"):
            self.table = None  # the responsibility table starts at its header row
        elif self.organisation is None and text.startswith(ORGANISATION_PREFIXES):
            text, notes = self.lookalikes(n, text)
            text, more = _repair(text)
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
        title, more = _clean_field(text, "title")
        self.measure = self.measures[number] = _MeasureDraft(number, title)
        self.activity = None
        self.fix(n, self.measure.code, notes + more)

    def table_line(self, n: int, raw: str) -> None:
        kind = _header_kind(raw)
        if kind == "subheader":
            return
        if kind == "measures" and self.measure is None:
            raise self.error(n, "activity table header before any measure heading such as '๑) …'")
        if kind is not None:
            self.table = kind
            return
        if self.table is None:
            raise self.error(n, "table row before any table header")
        text, notes = self.lookalikes(n, raw)
        if self.table == "measures":
            self.activity_row(n, self.cells(n, text, 5), notes)
        else:
            self.item_row(n, self.cells(n, text, 6), notes)

    def cells(self, n: int, text: str, expected: int) -> list[str]:
        cells = text.split("\t")
        while len(cells) > expected and not cells[-1].strip():
            cells.pop()
        if len(cells) != expected:
            raise self.error(
                n,
                f"expected {expected} tab-separated cells in a {self.table} row, found {len(cells)}",
            )
        return cells

    def lookalikes(self, n: int, text: str) -> tuple[str, list[str]]:
        """Replace look-alike characters of other scripts; reject any not in the table."""
        found: dict[str, list[str]] = {}  # script → code points, in order of appearance
        out: list[str] = []
        for ch in text:
            script = _foreign_script(ch)
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
            prev.steps.extend(draft.steps)  # same title, unit, month and quarter: one activity
            draft = prev
        else:
            measure.activities.append(draft)
            self.activity = draft
        self.fix(n, draft.code, notes)

    def activity_draft(
        self, n: int, measure: _MeasureDraft, cells: list[str], notes: list[str]
    ) -> _ActivityDraft:
        """The row as a new activity; empty cells of a continuation row repeat the previous row."""
        title_cell, steps_cell, *rest = cells
        responsible_text, due_text, quarter_text = (_plain(c) for c in rest)
        if _HTML_P.search("".join(cells)):
            split = " (one step per <p>)" if _HTML_P.search(steps_cell) else ""
            notes.append(f"removed HTML <p> tags{split}")
        prev = self.activity
        if title := _plain(title_cell):
            title, more = _clean_field(title, "title")
            notes += more
            prev = None  # a new title: nothing is inherited
        elif prev is None:
            raise self.error(
                n,
                f"continuation row (empty กิจกรรม cell) with no activity before it in {measure.code}",
            )
        else:
            title = prev.title
        steps, more = _steps(steps_cell)
        notes += more
        if prev is not None and not responsible_text:
            responsible = prev.responsible
        else:
            responsible = self.role(n, responsible_text, "ผู้รับผิดชอบ", notes)
        if prev is not None and not due_text:
            due, due_line, due_text = prev.due, prev.due_line, prev.due_text
        else:
            due, due_line = self.due_month(n, due_text), n
        if prev is not None and not quarter_text:
            quarter = prev.quarter
        else:
            quarter = self.quarter(n, quarter_text)
        code = f"{measure.code}.{len(measure.activities) + 1}"
        return _ActivityDraft(code, title, steps, responsible, due, due_line, due_text, quarter)

    def due_month(self, n: int, text: str) -> tuple[int, int]:
        try:
            return parse_month_year(text)
        except ThaiDateError:
            raise self.error(
                n, f"cannot read the due month (กำหนดเสร็จ) {text!r}; expected e.g. 'พ.ค.๖๕'"
            ) from None

    def quarter(self, n: int, text: str) -> int:
        m = _QUARTER.match(_norm(text))
        if m is None or not 1 <= int(to_arabic_digits(m.group(1))) <= 4:
            raise self.error(
                n,
                f"cannot read the report quarter (รายงานผล) {text!r}; expected 'ไตรมาส ๑'..'ไตรมาส ๔'",
            )
        return int(to_arabic_digits(m.group(1)))

    def role(self, n: int, text: str, column: str, notes: list[str]) -> str:
        written, more = _repair(text)
        notes += more
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
        return role.key

    # -- the responsibility table's item rows ---------------------------------------------
    def item_row(self, n: int, cells: list[str], notes: list[str]) -> None:
        if _HTML_P.search("".join(cells)):
            notes.append("removed HTML <p> tags")
        if number_text := _plain(cells[0]):
            item = self.item = _ItemDraft(self.item_number(n, number_text), n)
            self.items[item.number] = item
        elif self.item is None:
            raise self.error(n, "continuation row (empty ที่ cell) with no item before it")
        self.item.add(n, cells[1:])
        self.fix(n, self.item.code, notes)

    def item_number(self, n: int, text: str) -> int:
        m = _ITEM_NUMBER.match(text)
        if m is None or int(to_arabic_digits(m.group(1))) < 1:
            raise self.error(n, f"item number {text!r} is not a number such as '๑.'")
        number = int(to_arabic_digits(m.group(1)))
        if number in self.items:
            raise self.error(
                n,
                f"duplicate item number {text!r}: O{number} is already on line {self.items[number].line}",
            )
        return number

    def finish_item(self, d: _ItemDraft) -> Item:
        title, notes = _clean_field(d.texts["title"], "title")
        self.fix(d.line_of("title"), d.code, notes)
        if not title:
            raise self.error(d.line, f"{d.code}: empty {_COLUMN['title']} cell")
        roles: dict[str, str] = {}
        for stage in ("prepare", "collect", "publish"):
            notes = []
            roles[stage] = self.role(d.line_of(stage), d.texts[stage], _COLUMN[stage], notes)
            self.fix(d.line_of(stage), d.code, notes)
        phrase, notes = _clean_field(d.texts["frequency"], "frequency")
        self.fix(d.line_of("frequency"), d.code, notes)
        kind = self.aliases.frequencies.get(_norm(phrase))
        if kind is None:
            raise self.error(
                d.line_of("frequency"),
                f"{d.code}: unknown frequency {phrase!r}; add the phrase to frequencies in {self.aliases.label}",
            )
        return Item(
            code=d.code, title=title, frequency=Frequency(kind=kind, phrase=phrase), **roles
        )

    # -- the end ------------------------------------------------------------------------------
    def fiscal_year(self) -> int:
        """The one fiscal year that all due months lie in."""
        dated = sorted(
            (a for m in self.measures.values() for a in m.activities), key=lambda a: a.due_line
        )
        if not dated:
            raise self.error(
                None, "cannot tell the fiscal year: no activity with a due month (กำหนดเสร็จ)"
            )
        first = dated[0]
        fy = _fiscal_year_of(*first.due)
        for a in dated[1:]:
            if (other := _fiscal_year_of(*a.due)) != fy:
                raise self.error(
                    a.due_line,
                    f"due month {a.due_text!r} is in fiscal year {other}, but {first.due_text!r} "
                    f"(line {first.due_line}) is in {fy}: all dates must lie in one fiscal year",
                )
        return fy

    def catalogue(self, source: str, edition: str | None) -> Catalogue:
        if not self.items:
            raise self.error(None, "no responsibility table (ที่ / ประเภทข้อมูล / ผู้รับผิดชอบ …) found")
        fy = self.fiscal_year()
        items = [self.finish_item(d) for d in self.items.values()]
        measures = [
            Measure(
                code=m.code,
                title=m.title,
                activities=tuple(
                    Activity(
                        code=a.code,
                        title=a.title,
                        steps=tuple(a.steps),
                        responsible=a.responsible,
                        due=MonthRef(month=a.due[1]),  # fiscal_year() checked: same FY, fy_offset 0
                        report_quarter=a.quarter,
                    )
                    for a in m.activities
                ),
            )
            for m in self.measures.values()
        ]
        try:
            return Catalogue(
                edition=edition or f"ITA {fy} (OIT {fy - 1}–{fy} numbering)",
                fiscal_year=fy,
                source=source,
                organisation=self.organisation,
                roles=self.aliases.roles,
                items=tuple(items),
                measures=tuple(measures),
            )
        except ValidationError as exc:
            raise self.error(
                None, f"the imported catalogue is invalid: {exc.errors()[0]['msg']}"
            ) from None


# -- public API -------------------------------------------------------------------------------


def import_seed(
    path: str | Path, *, aliases: str | Path = DEFAULT_ALIASES, edition: str | None = None
) -> ImportResult:
    """Parse the seed document into a catalogue plus the list of repairs made on the way."""
    seed = Path(path)
    tables = _load_aliases(Path(aliases))
    try:
        text = seed.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise CatalogueError(seed, None, f"cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CatalogueError(seed, None, "not UTF-8 text") from None
    reader = _SeedReader(seed, tables)
    reader.read(text)
    catalogue = reader.catalogue(_source_label(seed), edition)
    return ImportResult(catalogue, sorted(reader.fixes, key=lambda f: f.line))


def render_catalogue(result: ImportResult) -> str:
    """The catalogue YAML, with a short header; deterministic (no dates, no absolute paths)."""
    header = (
        "# Generated by `python -m bot catalogue import` "
        f"from {result.catalogue.source or 'a seed document'}\n"
        f"# ({len(result.fixes)} repairs of the source; the importer lists them).\n"
        "# Edit freely; validated on load.\n\n"
    )
    return dump_catalogue(result.catalogue, header=header)
