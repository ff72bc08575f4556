"""The Thai fiscal year (1 Oct – 30 Sep, named by the BE year in which it ends) and its parts."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

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


_PERIOD_RE = re.compile(r"^(?P<fy>\d{4})(?:(?P<kind>[QHM])(?P<n>\d{1,2}))?$")


def parse_period(key: str) -> Period:
    """Inverse of :attr:`Period.key` (``2570Q1``, ``2570H2``, ``2570``, ``2570M10``).

    The year is a BE fiscal year: a CE-looking one raises :class:`BEYearError`."""
    m = _PERIOD_RE.match(key.strip().upper())
    if not m:
        raise ValueError(f"not a period: {key!r} (try 2570, 2570H1, 2570Q1 or 2570M10)")
    fy = check_be_year(int(m.group("fy")), key.strip().upper())  # 2026Q1 → did you mean 2569Q1?
    kind, n = m.group("kind"), m.group("n")
    if kind is None:
        return year_period(fy)
    num = int(n)
    if kind == "Q":
        return quarter_period(fy, num)
    if kind == "H":
        return half_period(fy, num)
    if not 1 <= num <= 12:
        raise ValueError(f"not a month: {key!r}")
    year = ce_year(fy) - 1 if num >= 10 else ce_year(fy)
    return month_period(year, num)


def days_between(a: date, b: date) -> int:
    return (b - a).days


def iter_days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]
