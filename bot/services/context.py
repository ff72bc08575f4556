"""What services need from the outside world, built once by the composition root."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from bot.catalogue.loader import load_catalogue, parse_catalogue
from bot.catalogue.schema import Catalogue
from bot.clock import Clock
from bot.config import Settings
from bot.schedule.fiscal import fy_end, fy_start
from bot.schedule.policy import SchedulePolicy
from bot.schedule.workdays import WorkCalendar
from bot.store.db import Database


@dataclass
class AppContext:
    settings: Settings
    clock: Clock
    db: Database
    _catalogues: dict[str, Catalogue] = field(default_factory=dict)
    _calendars: dict[int, WorkCalendar] = field(default_factory=dict)

    @property
    def tz(self) -> ZoneInfo:
        return self.settings.tz

    @property
    def policy(self) -> SchedulePolicy:
        return self.settings.schedule

    def today(self) -> date:
        return self.clock.now().astimezone(self.tz).date()

    def calendar(self, fy: int | None = None) -> WorkCalendar:
        """One working-day calendar covering ``fy`` (or today's surroundings) and its neighbours."""
        if fy is None:
            from bot.schedule.fiscal import fiscal_year

            fy = fiscal_year(self.today())
        cal = self._calendars.get(fy)
        if cal is None:
            years = range(fy_start(fy).year - 1, fy_end(fy).year + 3)
            cal = WorkCalendar.thailand(years, self.settings.extra_holidays)
            self._calendars[fy] = cal
        return cal

    # -- catalogues ---------------------------------------------------------------------
    def configured_catalogue_text(self) -> tuple[str, str]:
        """The configured catalogue file's text and its sha256."""
        from bot.catalogue.loader import SHIPPED_CATALOGUE

        path = self.settings.catalogue_file or SHIPPED_CATALOGUE
        load_catalogue(path)  # validate, with file:line errors
        text = path.read_text(encoding="utf-8")
        return text, hashlib.sha256(text.encode("utf-8")).hexdigest()

    def catalogue_from_text(self, sha: str, text: str) -> Catalogue:
        cat = self._catalogues.get(sha)
        if cat is None:
            cat = parse_catalogue(text, f"catalogue {sha[:12]}")
            self._catalogues[sha] = cat
        return cat
