"""Pure text repairs for the seed importer: cells, Thai line-wrap gaps, dates, columns.

Nothing here reads a file or knows about tables; :mod:`bot.catalogue.importer` does.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.domain.thai import ThaiDateError, parse_month_year, to_arabic_digits

_THAI = "\u0e01-\u0e4e"  # Thai letters, vowels and marks; not the Thai digits ๐-๙
STRAY_GAP = re.compile(rf"(?<=[{_THAI}]) (?=[{_THAI}])")
_SPACE_BEFORE_MARK = re.compile(r" (?=[\u0e31\u0e34-\u0e3a\u0e47-\u0e4e])")
# "น า" is how the PDF renders SARA AM (the NIKHAHIT is lost, a space takes its place)
_SPLIT_AM = re.compile(rf"([\u0e01-\u0e2e][\u0e48-\u0e4b]?) \u0e32(?: (?=[{_THAI}]))?")
HTML_P = re.compile(r"</?p\s*/?>", re.IGNORECASE)
_STEP_NUMBER = re.compile(r"^[0-9๐-๙]{1,3}\.(?![0-9๐-๙])\s*")
_STEP_DASH = re.compile(r"^-\s+")


def norm(text: str) -> str:
    """Whitespace-free form, for whitespace-insensitive matching."""
    return re.sub(r"\s+", "", text)


def fragments(cell: str) -> list[str]:
    """The non-blank pieces of a cell, split at ``<p>``/``</p>`` tags."""
    return [part for part in HTML_P.split(cell) if part.strip()]


def plain(cell: str) -> str:
    """A cell's text without ``<p>`` tags, whitespace collapsed."""
    return " ".join(" ".join(fragments(cell)).split())


def repair(text: str) -> tuple[str, list[str]]:
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


def clean_field(text: str, label: str) -> tuple[str, list[str]]:
    """A title or phrase: repaired, and spaces between two Thai letters (line wraps) removed."""
    text, notes = repair(text)
    tight = STRAY_GAP.sub("", text)
    if tight != text:
        notes.append(f"removed stray spaces in {label}")
    return tight, notes


def steps_of(cell: str) -> tuple[list[str], list[str]]:
    """One step per ``<p>`` fragment, without its ``๑.`` numbering or ``- `` bullet."""
    steps: list[str] = []
    notes: list[str] = []
    for fragment in fragments(cell):
        text, more = repair(fragment)
        notes += more
        text = _STEP_DASH.sub("", _STEP_NUMBER.sub("", text))
        if text:
            steps.append(text)
    return steps, notes


def foreign_script(ch: str) -> str | None:
    """The script of a letter, mark or digit that is neither ASCII, Thai nor Latin."""
    if ch.isascii():
        return None
    category = unicodedata.category(ch)
    if category[0] not in "LM" and category != "Nd":
        return None
    script = unicodedata.name(ch, "UNKNOWN").split(" ", 1)[0]
    return None if script in ("THAI", "LATIN") else script.title()


def flexible(seed: str) -> re.Pattern[str]:
    """A pattern for ``seed`` where each of its spaces may also be absent in the text.

    Corrections quote the seed as printed ("อบต.บาง ไทรป่า"); the importer may already
    have closed such a gap, so either form matches."""
    parts = [re.escape(p) for p in seed.split()]
    return re.compile(r"\s*".join(parts))


# -- due dates of the measures' activities ---------------------------------------------------

_WITHIN_DAYS = re.compile(r"^ภายใน\s*([0-9๐-๙]{1,3})\s*วัน$")
_RANGE = re.compile(r"^(.+?)\s*(?:[-–—]|ถึง)\s*(.+)$")
WHOLE_YEAR = ("ตลอดปีงบประมาณ", "ตลอดปี", "ทั้งปีงบประมาณ")


@dataclass(frozen=True)
class DueText:
    """A กำหนดเสร็จ cell, read: a month, a span of months, the whole year or N days."""

    end: tuple[int, int] | None = None  # (BE year, month) it is due in
    start: tuple[int, int] | None = None  # a span's first month
    within_days: int | None = None
    whole_year: bool = False

    @property
    def months(self) -> list[tuple[int, int]]:
        return [m for m in (self.start, self.end) if m is not None]


def parse_due(text: str) -> DueText:
    """``พ.ค.๖๕``, ``ต.ค.๖๔ – ก.ย.๖๕``, ``ตลอดปีงบประมาณ`` or ``ภายใน ๓๐ วัน``."""
    squeezed = " ".join(text.split())
    if norm(squeezed) in WHOLE_YEAR:
        return DueText(whole_year=True)
    if m := _WITHIN_DAYS.match(squeezed):
        days = int(to_arabic_digits(m.group(1)))
        if not 1 <= days <= 365:
            raise ThaiDateError(f"{days} days is not within a fiscal year")
        return DueText(within_days=days)
    if m := _RANGE.match(squeezed):
        start, end = parse_month_year(m.group(1)), parse_month_year(m.group(2))
        if start >= end:
            raise ThaiDateError(f"the span {text!r} ends before it starts")
        return DueText(end=end, start=start)
    return DueText(end=parse_month_year(squeezed))


# -- columns aligned with spaces --------------------------------------------------------------

_CHUNK = re.compile(r"\S+(?: \S+)*")


def display_width(text: str) -> int:
    """Columns ``text`` takes on screen: Thai vowels above/below and tone marks take none."""
    width = 0
    for ch in text:
        if unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def spaced_chunks(line: str) -> list[tuple[int, str]]:
    """The pieces of a line separated by two or more spaces, each with its screen column."""
    return [(display_width(line[: m.start()]), m.group()) for m in _CHUNK.finditer(line)]


def is_spaced(line: str) -> bool:
    """Whether a line without tabs may be a table row aligned with spaces."""
    body = line.rstrip()
    return bool(body.strip()) and ("  " in body.strip() or body.startswith("  "))


def cells_at(chunks: list[tuple[int, str]], starts: list[int]) -> list[str] | None:
    """Place each piece in the column it starts under; None if one starts left of column 1."""
    cells = [""] * len(starts)
    for col, text in chunks:
        index = max((i for i, s in enumerate(starts) if s <= col + 1), default=None)
        if index is None:
            return None
        cells[index] = f"{cells[index]} {text}".strip()
    return cells
