"""How one reader sees things: their language, Thai or Arabic digits, BE dates, period names.

Every text anyone sees goes through a :class:`Fmt` (the texts themselves are in
:mod:`bot.texts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from bot.domain.thai import digits, format_date
from bot.texts import stage_name, tr

if TYPE_CHECKING:
    from bot.config import Settings


@dataclass(frozen=True)
class Fmt:
    lang: str = "th"
    thai_digits: bool = True

    @classmethod
    def of(cls, settings: Settings, lang: str | None = None) -> Fmt:
        """The one way to a reader's Fmt: their language (the configured default when they
        have none, or are nobody yet) with the configured digits."""
        return cls(lang=lang or settings.default_language, thai_digits=settings.thai_digits)

    def date(self, d: date) -> str:
        return format_date(d, thai_digits=self.thai_digits and self.lang == "th")

    def num(self, n: int | str) -> str:
        return digits(n, self.thai_digits and self.lang == "th")

    def t(self, key: str, /, **kwargs: object) -> str:
        return tr(self.lang, key, **kwargs)

    def stage(self, stage: str) -> str:
        return stage_name(self.lang, stage)

    def period(self, key: str) -> str:
        """``2570M10`` → ``ต.ค. ๒๕๖๙``; ``2570H1`` → ``รอบ ๖ เดือนแรก ปีงบ ๒๕๗๐``; …"""
        return period_label(self, key)

    def when(self, days_left: int) -> str:
        if days_left > 1:
            return self.t("when.left", n=self.num(days_left))
        if days_left == 1:
            return self.t("when.tomorrow")
        if days_left == 0:
            return self.t("when.today")
        return self.t("when.overdue", n=self.num(-days_left))


def period_label(fmt: Fmt, key: str) -> str:
    from bot.domain.fiscal import PeriodKey
    from bot.domain.thai import MONTH_ABBR, MONTH_EN, be_year

    k = PeriodKey.parse(key)
    if k.kind == "C" and k.changed_on is not None:  # a reported change: 2570C20261126[-n]
        return fmt.t("period.change", date=fmt.date(k.changed_on))
    if k.kind == "M":
        start = k.period().start
        if fmt.lang == "th":
            return fmt.num(f"{MONTH_ABBR[start.month - 1]} {be_year(start.year)}")
        return f"{MONTH_EN[start.month - 1]} {start.year}"
    if k.kind == "H":
        return fmt.t(f"period.half{k.n}", fy=fmt.num(k.fy))
    if k.kind == "Q":
        return fmt.t("period.quarter", q=fmt.num(k.n), fy=fmt.num(k.fy))
    return fmt.t("period.year", fy=fmt.num(k.fy))
