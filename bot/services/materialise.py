"""Materialisation: the catalogue's occurrences of a fiscal year become rows.

Idempotent: running it again creates nothing new.  The current and the next fiscal
year are kept materialised, so the next year appears by itself before 1 October.  A
changed catalogue or policy re-derives the deadlines of stages not yet done, and
records that in the history; completed stages and occurrences are never touched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from bot.catalogue.schema import Catalogue, Stage
from bot.schedule.fiscal import fiscal_year
from bot.schedule.reminders import next_slot
from bot.schedule.rules import Kind, PlannedOccurrence, plan_fiscal_year
from bot.services.context import AppContext
from bot.services.org import adopt, store_catalogue
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
OCCURRENCE_KEY = ["org_id", "code", "period_key"]


@dataclass
class MaterialiseStats:
    orgs: int = 0
    created: int = 0
    rescheduled: int = 0
    withdrawn: int = 0
    before_tracking: int = 0
    fiscal_years: list[int] = field(default_factory=list)

    def add(self, other: MaterialiseStats) -> None:
        self.created += other.created
        self.rescheduled += other.rescheduled
        self.withdrawn += other.withdrawn
        self.before_tracking += other.before_tracking


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

    def insert(self, session: AsyncSession) -> _BulkInsert:
        dialect = session.get_bind().dialect
        if dialect.name not in self._inserts:
            self._inserts[dialect.name] = _BulkInsert(session, dialect)
        return self._inserts[dialect.name]

    def plan(self, sha: str, catalogue: Catalogue, fy: int) -> list[PlannedOccurrence]:
        key = (sha, fy)
        if key not in self._plans:
            self._plans[key] = plan_fiscal_year(
                catalogue, fy, self.ctx.calendar(fy), self.ctx.policy
            )
        return self._plans[key]

    def rows(self, sha: str, catalogue: Catalogue, fy: int) -> list[dict[str, Any]]:
        key = (sha, fy)
        if key not in self._rows:
            cal, policy, tz, now = self.ctx.calendar(fy), self.ctx.policy, self.ctx.tz, self.now
            out = []
            for p in self.plan(sha, catalogue, fy):
                first = p.stages[0]
                out.append(
                    {
                        "fiscal_year": p.fiscal_year,
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


async def _reconcile(
    session: AsyncSession,
    ctx: AppContext,
    org: Organisation,
    fy: int,
    planned: list[PlannedOccurrence],
    templates: list[dict[str, Any]],
    now: datetime,
    tracking: date,
    bulk: _BulkInsert,
) -> MaterialiseStats:
    stats = MaterialiseStats()
    existing = {
        (o.code, o.period_key): o
        for o in await session.scalars(
            select(Occurrence).where(Occurrence.org_id == org.id, Occurrence.fiscal_year == fy)
        )
    }
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
    version: CatalogueVersion,
    catalogue: Catalogue,
    templates: _Templates,
    count: int | None = None,
) -> MaterialiseStats:
    """Bring one office's fiscal year in line with its catalogue and the policy.

    ``count``: how many occurrences of ``fy`` the office has, if the caller read it in
    this transaction already."""
    await adopt(session, org.id, fy, version, now)
    tracking = org.tracking_since.astimezone(ctx.tz).date()
    rows = templates.rows(version.sha256, catalogue, fy)
    if count is None:
        count = await session.scalar(_count_of(org.id, fy))
    if not count:  # a fresh year: one bulk insert, nothing to compare
        created, before = await _insert_rows(
            session, templates.insert(session), org, rows, tracking
        )
        return MaterialiseStats(created=created, before_tracking=before)
    plan = templates.plan(version.sha256, catalogue, fy)
    return await _reconcile(
        session, ctx, org, fy, plan, rows, now, tracking, templates.insert(session)
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
    """The daily job: the current and next fiscal year of every office, one transaction per office."""
    fy = fiscal_year(now.astimezone(ctx.tz).date())
    years = fiscal_years or [fy, fy + 1]
    total = MaterialiseStats(fiscal_years=years)
    templates = _Templates(ctx, now)
    async with ctx.db.transaction() as s:
        version, catalogue = await store_catalogue(s, ctx, now)
        ids = org_ids or list(await s.scalars(select(Organisation.id).order_by(Organisation.id)))
    for org_id in ids:
        async with ctx.db.transaction() as s:
            office = await _load_office(s, org_id, years)
            if office is None:
                continue
            for y in years:
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
