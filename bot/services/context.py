"""What services need from the outside world, built once by the composition root."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.catalogue.loader import load_catalogue, parse_catalogue
from bot.catalogue.schema import Catalogue
from bot.clock import Clock
from bot.config import Settings
from bot.domain.fiscal import fy_end, fy_start
from bot.schedule.policy import SchedulePolicy
from bot.schedule.workdays import NO_CHANGES, DayChanges, HolidayRules, WorkCalendar
from bot.services.deliverypause import DeliveryPause
from bot.store.db import Database
from bot.telegram.outage import Outage

if TYPE_CHECKING:
    from bot.links.fetch import HostPacer

OFFICE_CALENDARS = 512  # offices' own calendars kept built (the rest are rebuilt when needed)
#: Longer than the sender's longest wait between tries while the database is away
#: (:data:`bot.services.sender.DB_MAX_BACKOFF_SECONDS`, 10 s).
DB_OUTAGE_SETTLE_SECONDS = 15.0


@dataclass
class AppContext:
    settings: Settings
    clock: Clock
    db: Database
    #: one account of a database outage for the whole process: the sender and the jobs
    #: report to it, so an outage is one line when it begins and one when it ends (ended by
    #: a success that no failure follows within the sender's longest wait between tries)
    db_outage: Outage = field(
        default_factory=lambda: Outage("database", settle_seconds=DB_OUTAGE_SETTLE_SECONDS)
    )
    #: the bot refused by its channel (a 401 or 404): every dispatcher of the process waits
    delivery_pause: DeliveryPause = field(default_factory=DeliveryPause)
    _catalogues: dict[str, Catalogue] = field(default_factory=dict)
    _calendars: dict[int, WorkCalendar] = field(default_factory=dict)
    _office_calendars: OrderedDict[tuple[int, DayChanges], WorkCalendar] = field(
        default_factory=OrderedDict
    )
    _holiday_rules: HolidayRules | None = None
    _link_pacer: HostPacer | None = None

    @property
    def link_pacer(self) -> HostPacer:
        """One pace per web site for every link check of this process (bot.links.fetch)."""
        if self._link_pacer is None:
            from bot.links.fetch import HostPacer

            self._link_pacer = HostPacer(self.clock, self.settings.link_check_per_host_per_second)
        return self._link_pacer

    @property
    def tz(self) -> ZoneInfo:
        return self.settings.tz

    @property
    def policy(self) -> SchedulePolicy:
        return self.settings.schedule

    def today(self) -> date:
        return self.clock.now().astimezone(self.tz).date()

    @property
    def holiday_rules(self) -> HolidayRules:
        """The government calendar's table (``HOLIDAYS_FILE``, default data/holidays.yaml)."""
        if self._holiday_rules is None:
            from bot.holiday_table import load_holiday_table

            self._holiday_rules = load_holiday_table(self.settings.holidays_file)
        return self._holiday_rules

    def calendar(self, fy: int | None = None, changes: DayChanges = NO_CHANGES) -> WorkCalendar:
        """The government working-day calendar covering ``fy`` (or today's surroundings) and
        its neighbours, with an office's own ``changes`` (see bot.services.holidays)."""
        if fy is None:
            from bot.domain.fiscal import fiscal_year

            fy = fiscal_year(self.today())
        base = self._calendars.get(fy)
        if base is None:
            years = range(fy_start(fy).year - 1, fy_end(fy).year + 3)
            base = WorkCalendar.government(years, self.holiday_rules, self.settings.extra_holidays)
            self._calendars[fy] = base
        if not changes:
            return base
        key = (fy, changes)
        cal = self._office_calendars.get(key)
        if cal is None:
            cal = self._office_calendars[key] = base.with_changes(changes)
            if len(self._office_calendars) > OFFICE_CALENDARS:
                self._office_calendars.popitem(last=False)
        else:
            self._office_calendars.move_to_end(key)
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
