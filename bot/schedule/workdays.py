"""Working days: Monday to Friday, except Thai public holidays.

The holiday set is data passed in.  :func:`thai_holidays` builds it from the
``holidays`` package (``holidays.Thailand`` includes the cabinet's special days
off); callers may add their own (a provincial day off, say).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from functools import lru_cache

import holidays as holidays_lib


@lru_cache(maxsize=64)
def _thai_holidays_for(year: int, language: str) -> tuple[tuple[date, str], ...]:
    th = holidays_lib.country_holidays("TH", years=year, language=language)
    return tuple(sorted(th.items()))


def thai_holidays(years: Iterable[int], *, language: str = "th") -> dict[date, str]:
    """Thai public holidays of the given CE years, with their names."""
    out: dict[date, str] = {}
    for y in sorted(set(years)):
        out.update(_thai_holidays_for(y, language))
    return out


class WorkCalendar:
    """Which days are working days, and counting in working days."""

    def __init__(self, holidays: Mapping[date, str] | Iterable[date]) -> None:
        if isinstance(holidays, Mapping):
            self._names: dict[date, str] = dict(holidays)
        else:
            self._names = {d: "" for d in holidays}
        self._holidays = frozenset(self._names)

    @classmethod
    def thailand(
        cls, years: Iterable[int], extra: Mapping[date, str] | None = None
    ) -> WorkCalendar:
        """Thailand's calendar for ``years`` (CE), padded by a year on each side."""
        ys = set(years)
        span = set(range(min(ys) - 1, max(ys) + 2)) if ys else set()
        hol = thai_holidays(span)
        if extra:
            hol.update(extra)
        return cls(hol)

    @property
    def holidays(self) -> frozenset[date]:
        return self._holidays

    def holiday_name(self, d: date) -> str | None:
        return self._names.get(d)

    def is_working_day(self, d: date) -> bool:
        return d.weekday() < 5 and d not in self._holidays

    def on_or_before(self, d: date) -> date:
        """``d`` if it is a working day, else the previous working day."""
        while not self.is_working_day(d):
            d -= timedelta(days=1)
        return d

    def on_or_after(self, d: date) -> date:
        while not self.is_working_day(d):
            d += timedelta(days=1)
        return d

    def add(self, d: date, n: int) -> date:
        """Move ``n`` working days from ``d`` (negative goes back).

        ``add(d, 0)`` is ``d`` itself; ``add(d, -5)`` is the fifth working day
        before ``d``, whatever ``d`` is.
        """
        step = 1 if n > 0 else -1
        remaining = abs(n)
        while remaining:
            d += timedelta(days=step)
            if self.is_working_day(d):
                remaining -= 1
        return d

    def next_working_day(self, d: date) -> date:
        return self.add(d, 1)

    def between(self, a: date, b: date) -> int:
        """Working days in ``(a, b]`` (how many working days ``b`` is after ``a``; negative if before)."""
        if a == b:
            return 0
        lo, hi, sign = (a, b, 1) if a < b else (b, a, -1)
        count = 0
        d = lo
        while d < hi:
            d += timedelta(days=1)
            if self.is_working_day(d):
                count += 1
        return sign * count
