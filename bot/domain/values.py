"""The domain's small value types: a fiscal-year-relative day, and one open stage as a line."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class DueDate(BaseModel):
    """A day given relative to a fiscal year: calendar ``month``/``day`` in FY + ``fy_offset``.

    ``{month: 10, day: 31, fy_offset: 1}`` is 31 October after the fiscal year ends.
    A day past the month's end means its last day.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    month: int = Field(ge=1, le=12)
    day: int = Field(ge=1, le=31)
    fy_offset: int = Field(default=0, ge=0, le=1)


def code_key(code: str) -> tuple[int, int, int]:
    """The one order of item codes: the OIT items by number, then the measures' activities
    (O1 < O2 < O10 < M1.1 < M1.2 < M2.1)."""
    head, _, tail = code[1:].partition(".")
    number = int(head) if head.isdigit() else 0
    return (0 if code.startswith("O") else 1, number, int(tail) if tail.isdigit() else 0)


@dataclass(frozen=True)
class TaskLine:
    """One open stage of one occurrence, as a person's list shows it."""

    occurrence_id: int
    code: str
    title: str
    stage: str
    due: date
    kind: str
    period: str = ""
    moved_from: date | None = None  # the deadline before a re-plan moved it

    def days_left(self, today: date) -> int:
        return (self.due - today).days
