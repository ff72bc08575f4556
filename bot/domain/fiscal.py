"""The Thai fiscal year (1 Oct – 30 Sep, named by the BE year in which it ends) and its parts."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from bot.domain.thai import be_year, ce_year, check_be_year


def fiscal_year(d: date) -> int:
    """BE fiscal year containing ``d`` (1 Oct 2025 → 2569)."""
    return be_year(d.year + 1 if d.month >= 10 else d.year)


def fy_start(fy: int) -> date:
    return date(ce_year(fy) - 1, 10, 1)


def fy_end(fy: int) -> date:
    return date(ce_year(fy), 9, 30)


def fy_month_date(fy: int, month: int, day: int, fy_offset: int = 0) -> date:
    """The date with calendar ``month``/``day`` that lies in fiscal year ``fy + fy_offset``.

    A ``day`` beyond the month's end is clamped to its last day (31 → 30 Apr, 29 Feb in
    common years → 28 Feb).
    """
    target = fy + fy_offset
    year = ce_year(target) - 1 if month >= 10 else ce_year(target)
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day, last))


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def add_months(year: int, month: int, n: int) -> tuple[int, int]:
    idx = year * 12 + (month - 1) + n
    return idx // 12, idx % 12 + 1


def quarter_of(d: date) -> tuple[int, int]:
    """``(fy, quarter)`` of a date: ไตรมาส ๑ is Oct–Dec."""
    q = ((d.month - 10) % 12) // 3 + 1
    return fiscal_year(d), q


def fiscal_months(fy: int) -> list[tuple[int, int]]:
    """The twelve ``(year, month)`` of a fiscal year, October first."""
    start = fy_start(fy)
    return [add_months(start.year, start.month, i) for i in range(12)]


@dataclass(frozen=True, order=True)
class Period:
    """A span of a fiscal year an occurrence covers, with a stable key.

    Keys: ``2570`` (year), ``2570H1``/``2570H2``, ``2570Q1``..``2570Q4``,
    ``2570M10`` (fiscal year 2570, October — i.e. October 2026).
    """

    start: date
    end: date
    key: str

    @property
    def fiscal_year(self) -> int:
        return fiscal_year(self.start)

    def contains(self, d: date) -> bool:
        return self.start <= d <= self.end


def year_period(fy: int) -> Period:
    return Period(fy_start(fy), fy_end(fy), str(fy))


def quarter_period(fy: int, q: int) -> Period:
    if not 1 <= q <= 4:
        raise ValueError(f"quarter must be 1..4, not {q}")
    y, m = add_months(fy_start(fy).year, 10, 3 * (q - 1))
    ey, em = add_months(y, m, 2)
    return Period(date(y, m, 1), month_end(ey, em), f"{fy}Q{q}")


def half_period(fy: int, h: int) -> Period:
    if h not in (1, 2):
        raise ValueError(f"half must be 1 or 2, not {h}")
    first = quarter_period(fy, 2 * h - 1)
    second = quarter_period(fy, 2 * h)
    return Period(first.start, second.end, f"{fy}H{h}")


def month_period(year: int, month: int) -> Period:
    fy = fiscal_year(date(year, month, 1))
    return Period(date(year, month, 1), month_end(year, month), f"{fy}M{month:02d}")


_KEY_RE = re.compile(
    r"^(?P<fy>\d{4})(?:(?P<kind>[QHM])(?P<n>\d{1,2})|C(?P<day>\d{8})(?:-(?P<seq>\d+))?)?$"
)
KeyKind = Literal["Y", "H", "Q", "M", "C"]


@dataclass(frozen=True)
class PeriodKey:
    """A period key's parts — the one reading of ``2570`` (year), ``2570H1``, ``2570Q3``,
    ``2570M10`` and a reported change's ``2570C20261126`` (``-2``: the day's second)."""

    fy: int
    kind: KeyKind
    n: int = 0  # the half, quarter or (calendar) month
    changed_on: date | None = None

    @classmethod
    def parse(cls, key: str) -> PeriodKey:
        """``ValueError`` for anything else; a CE-looking year is :class:`BEYearError`."""
        text = key.strip().upper()
        m = _KEY_RE.match(text)
        if not m:
            raise ValueError(f"not a period: {key!r} (try 2570, 2570H1, 2570Q1 or 2570M10)")
        kind, n, day = m.group("kind"), int(m.group("n") or 0), m.group("day")
        if (kind == "Q" and not 1 <= n <= 4) or (kind == "H" and n not in (1, 2)):
            raise ValueError(f"not a period: {key!r}")
        if kind == "M" and not 1 <= n <= 12:
            raise ValueError(f"not a month: {key!r}")
        fy = check_be_year(int(m.group("fy")), text)  # 2026Q1 → did you mean 2569Q1?
        if day:
            return cls(fy, "C", changed_on=date(int(day[:4]), int(day[4:6]), int(day[6:])))
        if kind is None:
            return cls(fy, "Y")
        return cls(fy, "Q" if kind == "Q" else "H" if kind == "H" else "M", n)

    @property
    def key(self) -> str:
        """The key as the bot writes it (a change's without its ``-n``)."""
        if self.kind == "Y":
            return str(self.fy)
        if self.kind == "M":
            return f"{self.fy}M{self.n:02d}"
        if self.kind == "C" and self.changed_on is not None:
            return f"{self.fy}C{self.changed_on:%Y%m%d}"
        return f"{self.fy}{self.kind}{self.n}"

    def period(self) -> Period:
        if self.kind == "Q":
            return quarter_period(self.fy, self.n)
        if self.kind == "H":
            return half_period(self.fy, self.n)
        if self.kind == "M":
            return month_period(ce_year(self.fy) - 1 if self.n >= 10 else ce_year(self.fy), self.n)
        if self.kind == "C":
            raise ValueError("a reported change's key names a day, not a period")
        return year_period(self.fy)


def parse_period(key: str) -> Period:
    """Inverse of :attr:`Period.key` (``2570Q1``, ``2570H2``, ``2570``, ``2570M10``)."""
    return PeriodKey.parse(key).period()


def days_between(a: date, b: date) -> int:
    return (b - a).days


def iter_days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]
