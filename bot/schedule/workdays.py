"""Working days: Monday to Friday, except the government's days off.

The holiday set is data passed in.  :func:`government_holidays` builds it from the
``holidays`` package's Thai holidays in its *public* and *government* categories, less
the days government offices work, plus dated days off, as :class:`HolidayRules` say
(the shipped rules are the table ``data/holidays.yaml``, read by
:mod:`bot.holiday_table`).  An office's own additions and removals
(:class:`DayChanges`) go on top with :meth:`WorkCalendar.with_changes`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import holidays as holidays_lib

CATEGORIES = ("public", "government")
IN_LIEU = " (in lieu)"


@dataclass(frozen=True, slots=True)
class WorkedHoliday:
    """A day the package lists as a day off on which government offices work."""

    name: str  # the package's English name (language en_US)
    thai: str = ""
    in_lieu: bool = True  # its day in lieu is worked too


@dataclass(frozen=True, slots=True)
class AnnouncedDayOff:
    """A government day off whose date is announced each year (วันพืชมงคล)."""

    name: str  # the package's English name
    thai: str  # matched against the calendar's Thai names
    month: int  # the month it usually falls in


@dataclass(frozen=True, slots=True)
class HolidayRules:
    worked: tuple[WorkedHoliday, ...] = ()
    days_off: tuple[tuple[date, str], ...] = ()  # dated days off the package lacks
    announced: tuple[AnnouncedDayOff, ...] = ()


@dataclass(frozen=True, slots=True)
class DayChanges:
    """One office's own changes: days off added (``off``) and listed days off worked (``work``)."""

    off: tuple[tuple[date, str], ...] = ()
    work: tuple[date, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.off or self.work)


NO_CHANGES = DayChanges()


@lru_cache(maxsize=64)
def _package_year(year: int) -> tuple[tuple[date, tuple[tuple[str, str], ...]], ...]:
    """Every listed day of ``year`` with its (English, Thai) names, one pair per holiday."""
    en = holidays_lib.country_holidays("TH", years=year, categories=CATEGORIES, language="en_US")
    th = holidays_lib.country_holidays("TH", years=year, categories=CATEGORIES, language="th")
    out = []
    for d in sorted(en):
        en_names, th_names = en.get_list(d), th.get_list(d)
        if len(th_names) != len(en_names):  # pragma: no cover - the package keeps them aligned
            th_names = [th.get(d, "")] * len(en_names)
        out.append((d, tuple(zip(en_names, th_names, strict=True))))
    return tuple(out)


def _is_worked(english: str, worked: dict[str, WorkedHoliday]) -> bool:
    if english in worked:
        return True
    if english.endswith(IN_LIEU):
        w = worked.get(english.removesuffix(IN_LIEU))
        return w is not None and w.in_lieu
    return False


def package_holidays(years: Iterable[int]) -> dict[date, str]:
    """The package's Thai public and government holidays of the CE ``years``, Thai names."""
    out: dict[date, str] = {}
    for y in sorted(set(years)):
        for d, names in _package_year(y):
            out[d] = "; ".join(dict.fromkeys(th for _, th in names))
    return out


def government_holidays(years: Iterable[int], rules: HolidayRules) -> dict[date, str]:
    """Government offices' days off in the CE ``years``: the package's public and
    government holidays, less the ``rules``' worked days, plus their dated days off."""
    worked = {w.name: w for w in rules.worked}
    ys = set(years)
    out: dict[date, str] = {}
    for y in sorted(ys):
        for d, names in _package_year(y):
            kept = [th for en, th in names if not _is_worked(en, worked)]
            if kept:
                out[d] = "; ".join(dict.fromkeys(kept))
    out.update((d, n) for d, n in rules.days_off if d.year in ys)
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
    def government(
        cls,
        years: Iterable[int],
        rules: HolidayRules,
        extra: Mapping[date, str] | None = None,
    ) -> WorkCalendar:
        """The government calendar for ``years`` (CE), padded by a year on each side."""
        ys = set(years)
        span = set(range(min(ys) - 1, max(ys) + 2)) if ys else set()
        hol = government_holidays(span, rules)
        if extra:
            hol.update(extra)
        return cls(hol)

    def with_changes(self, changes: DayChanges) -> WorkCalendar:
        """This calendar with an office's own days off added and worked days removed."""
        if not changes:
            return self
        names = dict(self._names)
        for d in changes.work:
            names.pop(d, None)
        names.update(changes.off)
        return WorkCalendar(names)

    @property
    def holidays(self) -> frozenset[date]:
        return self._holidays

    @property
    def names(self) -> dict[date, str]:
        return dict(self._names)

    def holiday_name(self, d: date) -> str | None:
        return self._names.get(d)

    def holidays_between(self, start: date, end: date) -> list[tuple[date, str]]:
        """The days off (not weekends) from ``start`` to ``end``, in order, with names."""
        return sorted((d, n) for d, n in self._names.items() if start <= d <= end)

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


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def missing_announced(
    rules: HolidayRules, cal: WorkCalendar, start: date, end: date
) -> list[tuple[AnnouncedDayOff, int]]:
    """The yearly announced days off (and their CE year) that ``cal`` lacks between
    ``start`` and ``end``: วันพืชมงคล of a year the package does not know yet, say."""
    out: list[tuple[AnnouncedDayOff, int]] = []
    for a in rules.announced:
        for year in range(start.year, end.year + 1):
            first = date(year, a.month, 1)
            if not start <= first <= end:
                continue
            last = (first + timedelta(days=31)).replace(day=1) - timedelta(days=1)
            if not any(_squash(a.thai) in _squash(n) for _, n in cal.holidays_between(first, last)):
                out.append((a, year))
    return out
