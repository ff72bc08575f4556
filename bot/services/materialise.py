"""Materialisation: the catalogue's occurrences of a fiscal year become rows.

Idempotent: running it again creates nothing new.  The current and the next fiscal
year are kept materialised, so the next year appears by itself before 1 October.

Each office plans each fiscal year from the catalogue it adopted for that year
(``python -m bot catalogue adopt``); the configured catalogue is only the default for
a year not adopted yet, and adopting it then pins it.  A changed catalogue version of
the same edition, or a changed policy, re-derives the deadlines of stages not yet
done, and records that in the history; completed stages and occurrences are never
touched.  When a year changes edition, the old edition's rows nobody acted on are
removed (they were only a plan); rows with history stay with their own item.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, and_, delete, func, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from bot.catalogue.schema import Catalogue, Stage
from bot.schedule.fiscal import fiscal_year
from bot.schedule.reminders import next_slot
from bot.schedule.rules import Kind, PlannedOccurrence, plan_fiscal_year
from bot.services.context import AppContext
from bot.services.org import (
    adopt,
    compose,
    configured_catalogue,
    office_measures,
    store_version,
)
from bot.store.db import insert_ignoring_conflicts
from bot.store.models import (
    CatalogueVersion,
    OccStatus,
    Occurrence,
    Organisation,
    OrgCatalogue,
    StageEvent,
)

CHAIN = (Stage.PREPARE.value, Stage.COLLECT.value, Stage.PUBLISH.value)
OCCURRENCE = Occurrence.__table__
OCCURRENCE_KEY = ["org_id", "catalogue_id", "code", "period_key"]
UNTOUCHED = (OccStatus.OPEN.value, OccStatus.BEFORE_TRACKING.value)


@dataclass
class MaterialiseStats:
    orgs: int = 0
    created: int = 0
    rescheduled: int = 0
    withdrawn: int = 0
    before_tracking: int = 0
    removed: int = 0  # plans of another edition nobody had acted on
    kept: int = 0  # another edition's occurrences with history, kept with their own item
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
    """Rows of one (catalogue, fiscal year) computed once and shared by every office."""

    def __init__(self, ctx: AppContext, now: datetime) -> None:
        self.ctx = ctx
        self.now = now
        self._plans: dict[tuple[str, int], list[PlannedOccurrence]] = {}
        self._rows: dict[tuple[str, int], list[dict[str, Any]]] = {}
        self._inserts: dict[str, _BulkInsert] = {}
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

    def insert(self, session: AsyncSession) -> _BulkInsert:
        dialect = session.get_bind().dialect
        if dialect.name not in self._inserts:
            self._inserts[dialect.name] = _BulkInsert(session, dialect)
        return self._inserts[dialect.name]

    def plan(self, version: VersionRef, catalogue: Catalogue, fy: int) -> list[PlannedOccurrence]:
        key = (version.sha256, fy)
        if key not in self._plans:
            self._plans[key] = plan_fiscal_year(
                catalogue, fy, self.ctx.calendar(fy), self.ctx.policy
            )
        return self._plans[key]

    def rows(self, version: VersionRef, catalogue: Catalogue, fy: int) -> list[dict[str, Any]]:
        key = (version.sha256, fy)
        if key not in self._rows:
            cal, policy, tz, now = self.ctx.calendar(fy), self.ctx.policy, self.ctx.tz, self.now
            out = []
            for p in self.plan(version, catalogue, fy):
                first = p.stages[0]
                out.append(
                    {
                        "fiscal_year": p.fiscal_year,
                        "catalogue_id": version.id,
                        "code": p.code,
                        "kind": p.kind.value,
                        "period_key": p.period.key,
                        "period_start": p.period.start,
                        "period_end": p.period.end,
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


class _BulkInsert:
    """``INSERT … ON CONFLICT DO NOTHING`` of occurrence rows, for one dialect.

    Every office gets the same template rows but for ``org_id``, so the statement is
    compiled once and each template row is converted to database values (the columns'
    bind processors) once; an office's insert is then one ``executemany`` of ready
    tuples.  The ORM's bulk insert split an office's 128 rows into one statement per
    pattern of NULL columns (18 of them) and converted 128 rows x 24 columns again for
    every office: that was most of the time a national fiscal year took.
    """

    def __init__(self, session: AsyncSession, dialect: Dialect) -> None:
        columns = [c.key for c in OCCURRENCE.c if c.key != "id"]
        stmt = insert_ignoring_conflicts(session, OCCURRENCE, OCCURRENCE_KEY).values(
            dict.fromkeys(columns)
        )
        compiled = stmt.compile(dialect=dialect)
        self.sql = compiled.string
        self.order: list[str] = list(compiled.positiontup or [])
        if sorted(self.order) != sorted(columns):  # pragma: no cover - a named paramstyle
            raise RuntimeError(f"unexpected parameters for {dialect.name}: {self.order}")
        self._procs = [
            OCCURRENCE.c[k].type.dialect_impl(dialect).bind_processor(dialect) for k in self.order
        ]
        self._org_at = self.order.index("org_id")
        self._converted: dict[tuple[int, bool], tuple[dict[str, Any], list[Any]]] = {}

    def _values(self, template: dict[str, Any], before_tracking: bool) -> list[Any]:
        key = (id(template), before_tracking)
        hit = self._converted.get(key)
        if hit is None:
            row = dict(template, org_id=None)  # the columns it lacks are NULL
            if before_tracking:
                row["status"] = OccStatus.BEFORE_TRACKING.value
                row["next_remind_at"] = None
            values = [
                row.get(k) if proc is None else proc(row.get(k))
                for k, proc in zip(self.order, self._procs, strict=True)
            ]
            hit = self._converted[key] = (template, values)  # keeps the template alive
        return hit[1]

    def params(
        self, org_id: int, template: dict[str, Any], before_tracking: bool
    ) -> tuple[Any, ...]:
        values = list(self._values(template, before_tracking))
        proc = self._procs[self._org_at]
        values[self._org_at] = org_id if proc is None else proc(org_id)
        return tuple(values)


async def _insert_rows(
    session: AsyncSession,
    bulk: _BulkInsert,
    org: Organisation,
    rows: list[dict[str, Any]],
    tracking: date,
) -> tuple[int, int]:
    include = org.include_before_tracking
    batch: list[tuple[Any, ...]] = []
    before = 0
    for r in rows:
        early = not include and r["due_date"] < tracking
        before += int(early)
        batch.append(bulk.params(org.id, r, early))
    if batch:  # already database values: straight to the driver
        conn = await session.connection()
        await conn.exec_driver_sql(bulk.sql, batch)
    return len(batch), before


async def _retire(
    session: AsyncSession, rows: list[Occurrence], edition: str, now: datetime
) -> tuple[int, int]:
    """Another edition's occurrences of a year that changed edition: the plans nobody
    acted on go, the ones with history stay with their own item (open ones withdrawn)."""
    acted = set(
        await session.scalars(
            select(StageEvent.occurrence_id)
            .where(StageEvent.occurrence_id.in_([o.id for o in rows]))
            .distinct()
        )
    )
    plans = [o.id for o in rows if o.id not in acted and o.status in UNTOUCHED]
    if plans:
        await session.execute(
            delete(Occurrence)
            .where(Occurrence.id.in_(plans))
            .execution_options(synchronize_session=False)
        )
    for occ in rows:
        if occ.id in plans:
            session.expunge(occ)
        elif occ.status in UNTOUCHED:
            occ.status = OccStatus.CANCELLED.value
            occ.next_remind_at = None
            occ.updated_at = now
            session.add(
                StageEvent(
                    org_id=occ.org_id,
                    occurrence_id=occ.id,
                    at=now,
                    action="withdrawn",
                    stage=occ.stage,
                    note=f"the year now follows {edition}",
                )
            )
    return len(plans), len(rows) - len(plans)


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
    bulk: _BulkInsert,
) -> MaterialiseStats:
    stats = MaterialiseStats()
    existing: dict[tuple[str, str], Occurrence] = {}
    other: list[Occurrence] = []
    for occ, edition in await session.execute(
        select(Occurrence, CatalogueVersion.edition)
        .join(CatalogueVersion, CatalogueVersion.id == Occurrence.catalogue_id)
        .where(Occurrence.org_id == org.id, Occurrence.fiscal_year == fy)
    ):
        if edition == version.edition:  # the same items, maybe of another version
            occ.catalogue_id = version.id
            existing[(occ.code, occ.period_key)] = occ
        else:
            other.append(occ)
    if other:
        stats.removed, stats.kept = await _retire(session, other, version.edition, now)
    await session.flush()  # the key's catalogue_id, before inserting what is missing
    missing = [t for t in templates if (t["code"], t["period_key"]) not in existing]
    stats.created, stats.before_tracking = await _insert_rows(session, bulk, org, missing, tracking)
    wanted = {(p.code, p.period.key): p for p in planned}
    cal, policy, tz = ctx.calendar(fy), ctx.policy, ctx.tz
    for key, occ in existing.items():
        if occ.status != OccStatus.OPEN:
            continue
        p = wanted.get(key)
        if p is None:
            if occ.kind != Kind.CHANGE.value:
                occ.status = OccStatus.CANCELLED.value
                occ.next_remind_at = None
                occ.updated_at = now
                session.add(
                    StageEvent(
                        org_id=org.id,
                        occurrence_id=occ.id,
                        at=now,
                        action="withdrawn",
                        stage=occ.stage,
                        note="no longer in the catalogue",
                    )
                )
                stats.withdrawn += 1
            continue
        if _reschedule(occ, p, now, cal, policy, tz, session):
            stats.rescheduled += 1
    return stats


def _reschedule(
    occ: Occurrence,
    p: PlannedOccurrence,
    now: datetime,
    cal: Any,
    policy: Any,
    tz: Any,
    session: AsyncSession,
) -> bool:
    """Move the deadlines of the stages not yet done to what the plan now says."""
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
    occ.current_role = occ.role_for(occ.stage)
    occ.current_due = occ.due_for(occ.stage)
    if occ.current_due is not None:
        occ.next_remind_at = next_slot(occ.current_due, now, cal, policy, tz).at
        if occ.current_due >= now.astimezone(tz).date():
            occ.escalated_at = None
    occ.version += 1
    occ.updated_at = now
    session.add(
        StageEvent(
            org_id=occ.org_id,
            occurrence_id=occ.id,
            at=now,
            action="rescheduled",
            stage=occ.stage,
            note="; ".join(changes),
        )
    )
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
) -> MaterialiseStats:
    """Bring one office's fiscal year in line with the catalogue it adopted and the policy.

    ``count``: how many occurrences of ``fy`` the office has, if the caller read it in
    this transaction already."""
    tracking = org.tracking_since.astimezone(ctx.tz).date()
    rows = templates.rows(version, catalogue, fy)
    if count is None:
        count = await session.scalar(_count_of(org.id, fy))
    if not count:  # a fresh year: one bulk insert, nothing to compare
        created, before = await _insert_rows(
            session, templates.insert(session), org, rows, tracking
        )
        return MaterialiseStats(created=created, before_tracking=before)
    plan = templates.plan(version, catalogue, fy)
    return await _reconcile(
        session, ctx, org, fy, version, plan, rows, now, tracking, templates.insert(session)
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
                    )
                )
        total.orgs += 1
    return total
