"""Materialisation: the catalogue's occurrences of a fiscal year become rows.

Idempotent: running it again creates nothing new.  The current and the next fiscal
year are kept materialised, so the next year appears by itself before 1 October.

Each office plans each fiscal year from the catalogue it adopted for that year
(``python -m bot catalogue adopt``); the configured catalogue is only the default for
a year not adopted yet, and adopting it then pins it.  A changed catalogue version of
the same edition, a changed policy or a change of the office's own days off
(bot.services.holidays) re-derives the deadlines of stages not yet done, and records
that in the history; completed stages are never touched (only the label of the period
an occurrence reports on is kept up to date).  When a year changes edition, the old
edition's rows nobody acted on are removed (they were only a plan); rows with history
stay with their own item.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, and_, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.catalogue.schema import Catalogue, Stage
from bot.schedule.fiscal import fiscal_year
from bot.schedule.reminders import next_reminder_time, next_slot, slot_instant
from bot.schedule.rules import Kind, PlannedOccurrence, plan_change, plan_fiscal_year
from bot.schedule.workdays import NO_CHANGES, DayChanges, WorkCalendar
from bot.services.bulkinsert import BulkInsert, insert_rows
from bot.services.calendars import changes_by_office
from bot.services.context import AppContext
from bot.services.org import (
    adopt,
    compose,
    configured_catalogue,
    office_measures,
    store_version,
)
from bot.store.models import (
    CatalogueVersion,
    OccStatus,
    Occurrence,
    Organisation,
    OrgCatalogue,
    StageEvent,
)

CHAIN = (Stage.PREPARE.value, Stage.COLLECT.value, Stage.PUBLISH.value)
UNTOUCHED = (OccStatus.OPEN.value, OccStatus.BEFORE_TRACKING.value)


@dataclass
class MaterialiseStats:
    orgs: int = 0
    created: int = 0
    rescheduled: int = 0
    withdrawn: int = 0
    before_tracking: int = 0
    removed: int = 0  # plans of another edition nobody had acted on
    kept: int = 0  # another edition's open occurrences with history: withdrawn, kept
    fiscal_years: list[int] = field(default_factory=list)

    def add(self, other: MaterialiseStats) -> None:
        self.created += other.created
        self.rescheduled += other.rescheduled
        self.withdrawn += other.withdrawn
        self.before_tracking += other.before_tracking
        self.removed += other.removed
        self.kept += other.kept


@dataclass(frozen=True)
class VersionRef:
    """What planning needs of a stored catalogue version (safe to share across sessions)."""

    id: int
    sha256: str
    edition: str

    @classmethod
    def of(cls, row: CatalogueVersion) -> VersionRef:
        return cls(row.id, row.sha256, row.edition)


def _stage_columns(planned: PlannedOccurrence) -> dict[str, Any]:
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


class _Templates:
    """Rows of one (catalogue, fiscal year, office calendar) computed once and shared by
    every office with that calendar (most offices: the government calendar as it is)."""

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
        key = (version.sha256, fy, changes)
        if key not in self._rows:
            cal = self.ctx.calendar(fy, changes)
            policy, tz, now = self.ctx.policy, self.ctx.tz, self.now
            out = []
            for p in self.plan(version, catalogue, fy, changes):
                first = p.stages[0]
                out.append(
                    {
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
                        **_stage_columns(p),
                        "stage": first.stage.value,
                        "status": OccStatus.OPEN.value,
                        "current_role": first.role,
                        "current_due": first.due,
                        "next_remind_at": next_slot(first.due, now, cal, policy, tz).at,
                        "stage_started_at": now,
                        "version": 1,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            self._rows[key] = out
        return self._rows[key]


def _event(session: AsyncSession, occ: Occurrence, now: datetime, action: str, note: str) -> None:
    """What materialisation did to an occurrence, in its history (no actor: the bot)."""
    session.add(
        StageEvent(
            org_id=occ.org_id,
            occurrence_id=occ.id,
            at=now,
            action=action,
            stage=occ.stage,
            note=note,
        )
    )


def _withdraw(session: AsyncSession, occ: Occurrence, now: datetime, note: str) -> None:
    occ.status = OccStatus.CANCELLED.value
    occ.next_remind_at = None
    occ.updated_at = now
    _event(session, occ, now, "withdrawn", note)


async def _retire(
    session: AsyncSession, rows: list[Occurrence], edition: str, now: datetime
) -> tuple[int, int]:
    """Another edition's open occurrences in a year that changed edition: the plans nobody
    acted on go; the ones with history are withdrawn and stay with their own item.
    Returns how many went and how many stayed."""
    acted = set(
        await session.scalars(
            select(StageEvent.occurrence_id)
            .where(StageEvent.occurrence_id.in_([o.id for o in rows]))
            .distinct()
        )
    )
    plans = [o.id for o in rows if o.id not in acted]
    if plans:
        await session.execute(
            delete(Occurrence)
            .where(Occurrence.id.in_(plans))
            .execution_options(synchronize_session=False)
        )
    for occ in rows:
        if occ.id in acted:
            _withdraw(session, occ, now, f"the year now follows {edition}")
        else:
            session.expunge(occ)
    return len(plans), len(acted)


async def _existing(
    session: AsyncSession, org_id: int, fy: int, version: VersionRef
) -> tuple[dict[tuple[str, str], Occurrence], list[Occurrence]]:
    """The year's occurrences of ``version``'s edition (now all of ``version``), by code
    and period; and another edition's that are still open."""
    same: dict[tuple[str, str], Occurrence] = {}
    other: list[Occurrence] = []
    for occ, edition in await session.execute(
        select(Occurrence, CatalogueVersion.edition)
        .join(CatalogueVersion, CatalogueVersion.id == Occurrence.catalogue_id)
        .where(Occurrence.org_id == org_id, Occurrence.fiscal_year == fy)
    ):
        if edition == version.edition:  # the same items, maybe of another version
            occ.catalogue_id = version.id
            same[(occ.code, occ.period_key)] = occ
        elif occ.status in UNTOUCHED:
            other.append(occ)
    return same, other


async def _reconcile(
    session: AsyncSession,
    ctx: AppContext,
    org: Organisation,
    fy: int,
    version: VersionRef,
    planned: list[PlannedOccurrence],
    templates: list[dict[str, Any]],
    now: datetime,
    tracking: date,
    bulk: BulkInsert,
    catalogue: Catalogue,
    cal: WorkCalendar,
) -> MaterialiseStats:
    stats = MaterialiseStats()
    existing, other = await _existing(session, org.id, fy, version)
    if other:
        stats.removed, stats.kept = await _retire(session, other, version.edition, now)
    await session.flush()  # the key's catalogue_id, before inserting what is missing
    missing = [t for t in templates if (t["code"], t["period_key"]) not in existing]
    stats.created, stats.before_tracking = await insert_rows(session, bulk, org, missing, tracking)
    wanted = {(p.code, p.period.key): p for p in planned}
    policy, tz = ctx.policy, ctx.tz
    for key, occ in existing.items():
        _relabel(occ, wanted.get(key))
        if occ.status != OccStatus.OPEN:
            continue
        p = wanted.get(key) or _replanned_change(occ, catalogue, cal, ctx)
        if p is None:
            if occ.kind != Kind.CHANGE.value:
                _withdraw(session, occ, now, "no longer in the catalogue")
                stats.withdrawn += 1
            continue
        if _reschedule(occ, p, now, cal, policy, tz, session):
            stats.rescheduled += 1
        else:
            _off_day_reminder(occ, cal, ctx)
    return stats


def _relabel(occ: Occurrence, p: PlannedOccurrence | None) -> None:
    """The period it reports on, as the catalogue now says (done ones too: a label, not a
    deadline)."""
    if p is None or p.kind is Kind.CHANGE:
        return
    covers = p.covers.key if p.covers else None
    if (occ.covers_key, occ.period_start, occ.period_end) != (
        covers,
        p.covered.start,
        p.covered.end,
    ):
        occ.covers_key, occ.period_start, occ.period_end = covers, p.covered.start, p.covered.end


def _replanned_change(
    occ: Occurrence, catalogue: Catalogue, cal: WorkCalendar, ctx: AppContext
) -> PlannedOccurrence | None:
    """A reported change's deadlines as the calendar now says (counted from its report)."""
    item = catalogue.item(occ.code) if occ.kind == Kind.CHANGE.value else None
    if item is None:
        return None
    return plan_change(item, occ.period_start, cal, ctx.policy)


def _off_day_reminder(occ: Occurrence, cal: WorkCalendar, ctx: AppContext) -> None:
    """A reminder (or a snooze) set for a day that is no longer a working day moves to
    the next working day."""
    if occ.next_remind_at is None:
        return
    day = occ.next_remind_at.astimezone(ctx.tz).date()
    if not cal.is_working_day(day):
        occ.next_remind_at = slot_instant(cal.on_or_after(day), ctx.policy, ctx.tz)


def _reschedule(
    occ: Occurrence,
    p: PlannedOccurrence,
    now: datetime,
    cal: Any,
    policy: Any,
    tz: Any,
    session: AsyncSession,
) -> bool:
    """Move the deadlines of the stages not yet done to what the plan now says.

    If the current stage's deadline moved, its holders hear it in the next reminder
    (the next working morning), which names the deadline it moved from."""
    cols = _stage_columns(p)
    pending = CHAIN[CHAIN.index(occ.stage) :] if occ.stage in CHAIN else ()
    changes: list[str] = []
    for stage in pending:
        for suffix in ("role", "due"):
            col = f"{stage}_{suffix}"
            old, new = getattr(occ, col), cols[col]
            if old != new:
                setattr(occ, col, new)
                changes.append(f"{col}: {old} → {new}")
    if occ.due_date != p.due:
        changes.append(f"due_date: {occ.due_date} → {p.due}")
        occ.due_date, occ.nominal_due = p.due, p.nominal_due
    if occ.stage == Stage.CONFIRM.value and occ.prepare_role != cols["prepare_role"]:
        changes.append(f"prepare_role: {occ.prepare_role} → {cols['prepare_role']}")
        occ.prepare_role = cols["prepare_role"]
    if not changes:
        return False
    was_due = occ.current_due
    occ.current_role = occ.role_for(occ.stage)
    occ.current_due = occ.due_for(occ.stage)
    if occ.current_due is not None:
        occ.next_remind_at = next_slot(occ.current_due, now, cal, policy, tz).at
        if was_due is not None and was_due != occ.current_due:
            original = occ.due_moved_from or was_due
            occ.due_moved_from = None if original == occ.current_due else original
        if occ.due_moved_from is not None:
            occ.next_remind_at = min(occ.next_remind_at, next_reminder_time(now, cal, policy, tz))
        if occ.current_due >= now.astimezone(tz).date():
            occ.escalated_at = None
    occ.version += 1
    occ.updated_at = now
    _event(session, occ, now, "rescheduled", "; ".join(changes))
    return True


async def materialise_org(
    session: AsyncSession,
    ctx: AppContext,
    org: Organisation,
    fy: int,
    now: datetime,
    *,
    version: VersionRef,
    catalogue: Catalogue,
    templates: _Templates,
    count: int | None = None,
    changes: DayChanges = NO_CHANGES,
) -> MaterialiseStats:
    """Bring one office's fiscal year in line with the catalogue it adopted, the policy
    and its calendar (the government one with the office's own ``changes``).

    ``count``: how many occurrences of ``fy`` the office has, if the caller read it in
    this transaction already."""
    tracking = org.tracking_since.astimezone(ctx.tz).date()
    rows = templates.rows(version, catalogue, fy, changes)
    if count is None:
        count = await session.scalar(_count_of(org.id, fy))
    if not count:  # a fresh year: one bulk insert, nothing to compare
        created, before = await insert_rows(session, templates.insert(session), org, rows, tracking)
        return MaterialiseStats(created=created, before_tracking=before)
    plan = templates.plan(version, catalogue, fy, changes)
    bulk, cal = templates.insert(session), ctx.calendar(fy, changes)
    return await _reconcile(
        session, ctx, org, fy, version, plan, rows, now, tracking, bulk, catalogue, cal
    )


def _count_of(org_id: int, fy: int) -> Select[int]:
    return (
        select(func.count())
        .select_from(Occurrence)
        .where(Occurrence.org_id == org_id, Occurrence.fiscal_year == fy)
    )


@dataclass
class _Office:
    org: Organisation
    counts: dict[int, int]  # occurrences per fiscal year
    adoptions: list[OrgCatalogue]  # held here: the session only keeps weak references


async def _load_office(session: AsyncSession, org_id: int, years: list[int]) -> _Office | None:
    """The office, its occurrence count per year and its adoptions of those years, in one
    query (``adopt`` then finds the adoption in the session and needs no query of its own).

    One round trip instead of three per office and year: at national scale the
    per-statement overhead, not the database, is most of materialisation's time."""
    counts = [_count_of(org_id, y).scalar_subquery() for y in years]
    result = await session.execute(
        select(Organisation, OrgCatalogue, *counts)
        .outerjoin(
            OrgCatalogue,
            and_(OrgCatalogue.org_id == Organisation.id, OrgCatalogue.fiscal_year.in_(years)),
        )
        .where(Organisation.id == org_id)
    )
    rows = result.all()
    if not rows:
        return None
    return _Office(
        org=rows[0][0],
        counts={y: int(rows[0][2 + i] or 0) for i, y in enumerate(years)},
        adoptions=[r[1] for r in rows if r[1] is not None],
    )


async def materialise(
    ctx: AppContext,
    now: datetime,
    *,
    org_ids: list[int] | None = None,
    fiscal_years: list[int] | None = None,
) -> MaterialiseStats:
    """The daily job: the current and next fiscal year of every office, one transaction
    per office, each year from the catalogue the office adopted for it."""
    fy = fiscal_year(now.astimezone(ctx.tz).date())
    years = fiscal_years or [fy, fy + 1]
    total = MaterialiseStats(fiscal_years=years)
    templates = _Templates(ctx, now)
    async with ctx.db.transaction() as s:
        ids = org_ids or list(await s.scalars(select(Organisation.id).order_by(Organisation.id)))
        calendars = await changes_by_office(s, org_ids)
    for org_id in ids:
        async with ctx.db.transaction() as s:
            office = await _load_office(s, org_id, years)
            if office is None:
                continue
            adopted = {a.fiscal_year: a.catalogue_id for a in office.adoptions}
            for y in years:
                if y in adopted:
                    version, catalogue = await templates.version(s, adopted[y])
                else:
                    version, catalogue = await templates.default(s, org_id, y)
                total.add(
                    await materialise_org(
                        s,
                        ctx,
                        office.org,
                        y,
                        now,
                        version=version,
                        catalogue=catalogue,
                        templates=templates,
                        count=office.counts[y],
                        changes=calendars.get(org_id, NO_CHANGES),
                    )
                )
        total.orgs += 1
    return total


async def replan_office(
    session: AsyncSession, ctx: AppContext, org: Organisation, years: list[int], now: datetime
) -> MaterialiseStats:
    """Re-plan, in this unit of work, the open stages of an office's fiscal ``years`` on
    its calendar as it is now (after a change of its days off), each year with the
    catalogue the office adopted for it.  Years it has no occurrences of are left alone."""
    changes = (await changes_by_office(session, [org.id])).get(org.id, NO_CHANGES)
    adopted = {
        a.fiscal_year: a.catalogue_id
        for a in await session.scalars(
            select(OrgCatalogue).where(
                OrgCatalogue.org_id == org.id, OrgCatalogue.fiscal_year.in_(years)
            )
        )
    }
    templates = _Templates(ctx, now)
    total = MaterialiseStats()
    for fy in years:
        count = await session.scalar(_count_of(org.id, fy))
        if fy not in adopted or not count:
            continue
        version, catalogue = await templates.version(session, adopted[fy])
        total.add(
            await materialise_org(
                session,
                ctx,
                org,
                fy,
                now,
                version=version,
                catalogue=catalogue,
                templates=templates,
                count=count,
                changes=changes,
            )
        )
        total.fiscal_years.append(fy)
    return total
