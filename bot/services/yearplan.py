"""A fiscal year's plan as occurrence rows: computed once per (catalogue, year, office
calendar) and shared by every office with that calendar (most offices: the government
calendar as it is), for materialisation (bot.services.materialise)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.catalogue.schema import Catalogue
from bot.domain import OccStatus, Stage
from bot.schedule.reminders import next_slot
from bot.schedule.rules import PlannedOccurrence, plan_fiscal_year
from bot.schedule.workdays import NO_CHANGES, DayChanges, WorkCalendar
from bot.services.bulkinsert import BulkInsert
from bot.services.context import AppContext
from bot.services.org import adopt, compose, configured_catalogue, office_measures, store_version
from bot.store.models import CatalogueVersion


@dataclass(frozen=True)
class VersionRef:
    """What planning needs of a stored catalogue version (safe to share across sessions)."""

    id: int
    sha256: str
    edition: str

    @classmethod
    def of(cls, row: CatalogueVersion) -> VersionRef:
        return cls(row.id, row.sha256, row.edition)


def stage_columns(planned: PlannedOccurrence) -> dict[str, Any]:
    """The ``<stage>_role`` and ``<stage>_due`` columns of a planned occurrence."""
    cols: dict[str, Any] = {
        "prepare_role": None,
        "collect_role": None,
        "publish_role": None,
        "prepare_due": None,
        "collect_due": None,
        "publish_due": None,
    }
    for s in planned.stages:
        name = Stage.PREPARE.value if s.stage is Stage.CONFIRM else s.stage.value
        cols[f"{name}_role"] = s.role
        if s.stage is not Stage.CONFIRM:
            cols[f"{name}_due"] = s.due
    return cols


class Templates:
    """Plans and template rows, each computed once per run and shared by the offices."""

    def __init__(self, ctx: AppContext, now: datetime) -> None:
        self.ctx = ctx
        self.now = now
        self._plans: dict[tuple[str, int, DayChanges], list[PlannedOccurrence]] = {}
        self._rows: dict[tuple[str, int, DayChanges], list[dict[str, Any]]] = {}
        self._inserts: dict[str, BulkInsert] = {}
        self._versions: dict[int, tuple[VersionRef, Catalogue]] = {}
        self._defaults: dict[str, tuple[VersionRef, Catalogue]] = {}

    async def version(self, session: AsyncSession, version_id: int) -> tuple[VersionRef, Catalogue]:
        """An adopted version, read once per run however many offices adopted it."""
        if version_id not in self._versions:
            row = await session.get(CatalogueVersion, version_id)
            assert row is not None  # org_catalogue.catalogue_id is a foreign key
            self._versions[version_id] = (
                VersionRef.of(row),
                self.ctx.catalogue_from_text(row.sha256, row.content),
            )
        return self._versions[version_id]

    async def default(
        self, session: AsyncSession, org_id: int, fy: int
    ) -> tuple[VersionRef, Catalogue]:
        """A year the office has not adopted: the configured catalogue's list with the
        office's own measures (those of its latest year before), adopted from now on."""
        measures = await office_measures(session, self.ctx, org_id, fy)
        key = "|".join(m.model_dump_json() for m in measures)
        if key not in self._defaults:
            cat = compose(configured_catalogue(self.ctx), measures)
            row = await store_version(session, cat, self.now)
            self._defaults[key] = (VersionRef.of(row), cat)
        ref, cat = self._defaults[key]
        await adopt(session, org_id, fy, ref.id, self.now)
        return ref, cat

    def insert(self, session: AsyncSession) -> BulkInsert:
        dialect = session.get_bind().dialect
        if dialect.name not in self._inserts:
            self._inserts[dialect.name] = BulkInsert(session, dialect)
        return self._inserts[dialect.name]

    def plan(
        self,
        version: VersionRef,
        catalogue: Catalogue,
        fy: int,
        changes: DayChanges = NO_CHANGES,
    ) -> list[PlannedOccurrence]:
        key = (version.sha256, fy, changes)
        if key not in self._plans:
            self._plans[key] = plan_fiscal_year(
                catalogue, fy, self.ctx.calendar(fy, changes), self.ctx.policy
            )
        return self._plans[key]

    def rows(
        self,
        version: VersionRef,
        catalogue: Catalogue,
        fy: int,
        changes: DayChanges = NO_CHANGES,
    ) -> list[dict[str, Any]]:
        """The year's rows as a fresh office gets them (without ``org_id``)."""
        key = (version.sha256, fy, changes)
        if key not in self._rows:
            self._rows[key] = [
                self._row(version, p, fy, changes)
                for p in self.plan(version, catalogue, fy, changes)
            ]
        return self._rows[key]

    def _row(
        self, version: VersionRef, p: PlannedOccurrence, fy: int, changes: DayChanges
    ) -> dict[str, Any]:
        cal = self.ctx.calendar(fy, changes)
        now, first = self.now, p.stages[0]
        return {
            "fiscal_year": p.fiscal_year,
            "catalogue_id": version.id,
            "code": p.code,
            "kind": p.kind.value,
            "period_key": p.period.key,
            "covers_key": p.covers.key if p.covers else None,
            "period_start": p.covered.start,
            "period_end": p.covered.end,
            "nominal_due": p.nominal_due,
            "due_date": p.due,
            **stage_columns(p),
            "stage": first.stage.value,
            "status": OccStatus.OPEN.value,
            "current_role": first.role,
            "current_due": first.due,
            "next_remind_at": next_slot(first.due, now, cal, self.ctx.policy, self.ctx.tz).at,
            "stage_started_at": now,
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }


@dataclass(frozen=True)
class YearPlan:
    """What one office's fiscal year should be."""

    version: VersionRef
    catalogue: Catalogue
    planned: list[PlannedOccurrence]
    cal: WorkCalendar
    changes: DayChanges  # the office's own days off, which ``cal`` includes
    fy: int
    tz: ZoneInfo
