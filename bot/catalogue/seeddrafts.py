"""What one pass over a seed document builds: its rows as written, and the repairs made.

:mod:`bot.catalogue.seedreader` fills these in; :mod:`bot.catalogue.importer` reads the
fields from them once the whole document is known.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from bot.catalogue.seedtext import DueText, norm, plain
from bot.domain import Stage


@dataclass(frozen=True)
class Fix:
    """One repair of the source: ``where`` is an item/activity/measure code or ``line N``."""

    line: int
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


Column = Literal["number", "title", "frequency"] | Stage
DEFAULT_ITEM_COLUMNS: tuple[Column, ...] = (
    "number",
    "title",
    Stage.PREPARE,
    Stage.COLLECT,
    Stage.PUBLISH,
    "frequency",
)
COLUMN_NAMES = {
    "title": "ประเภทข้อมูล",
    Stage.PREPARE: "จัดทำ",
    Stage.COLLECT: "รวบรวม",
    Stage.PUBLISH: "เผยแพร่",
    "frequency": "ความถี่ในการเผยแพร่ข้อมูล",
}


@dataclass
class ItemDraft:
    number: int
    line: int
    columns: tuple[Column, ...]
    texts: list[str] = field(default_factory=list)
    lines: list[int | None] = field(default_factory=list)  # per column: line of its first text

    def __post_init__(self) -> None:
        self.texts = [""] * len(self.columns)
        self.lines = [None] * len(self.columns)

    @property
    def code(self) -> str:
        return f"O{self.number}"

    def add(self, line: int, cells: Iterable[str]) -> None:
        """Append the non-empty cells of a row (the first row or a continuation)."""
        for i, cell in enumerate(cells):
            if i == 0 or not (text := plain(cell)):
                continue
            if self.lines[i] is None:
                self.lines[i] = line
            self.texts[i] = f"{self.texts[i]} {text}".strip()

    def fields(self, name: Column) -> list[tuple[int, str]]:
        """``(line, text)`` of each column ``name`` names (two for a stage with two columns)."""
        return [
            (self.lines[i] or self.line, self.texts[i])
            for i, c in enumerate(self.columns)
            if c == name
        ]


@dataclass
class ActivityDraft:
    code: str
    line: int
    title: str  # as written (the grouping key compares it without whitespace)
    steps: list[tuple[int, str]]
    responsible: list[tuple[int, str]]  # every cell that named it, as written
    role: str  # the role key those cells name, before corrections
    due_text: str
    due_line: int
    due: DueText
    quarter_text: str
    quarter_line: int
    quarter: int

    def group_key(self) -> tuple[str, str, DueText, int]:
        return norm(self.title), self.role, self.due, self.quarter


@dataclass
class MeasureDraft:
    number: int
    line: int
    title: str
    activities: list[ActivityDraft] = field(default_factory=list)

    @property
    def code(self) -> str:
        return f"M{self.number}"
