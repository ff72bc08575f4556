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

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.catalogue.schema import Catalogue, Stage
from bot.schedule.fiscal import fiscal_year
from bot.schedule.reminders import next_slot
from bot.schedule.rules import Kind, PlannedOccurrence, plan_fiscal_year
from bot.services.context import AppContext
from bot.services.org import adopt, store_catalogue
from bot.store.db import insert_ignoring_conflicts
from bot.store.models import CatalogueVersion, OccStatus, Occurrence, Organisation, StageEvent

CHAIN = (Stage.PREPARE.value, Stage.COLLECT.value, Stage.PUBLISH.value)


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


async def _insert_rows(
    session: AsyncSession, org: Organisation, rows: list[dict[str, Any]], tracking: date
) -> tuple[int, int]:
    include = org.include_before_tracking
    batch: list[dict[str, Any]] = []
    before = 0
    for r in rows:
        row = dict(r, org_id=org.id)
        if not include and r["due_date"] < tracking:
            row["status"] = OccStatus.BEFORE_TRACKING.value
            row["next_remind_at"] = None
            before += 1
        batch.append(row)
    if batch:
        await session.execute(
            insert_ignoring_conflicts(session, Occurrence, ["org_id", "code", "period_key"]), batch
        )
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
) -> MaterialiseStats:
    stats = MaterialiseStats()
    existing = {
        (o.code, o.period_key): o
        for o in await session.scalars(
            select(Occurrence).where(Occurrence.org_id == org.id, Occurrence.fiscal_year == fy)
        )
    }
    missing = [t for t in templates if (t["code"], t["period_key"]) not in existing]
    stats.created, stats.before_tracking = await _insert_rows(session, org, missing, tracking)
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
) -> MaterialiseStats:
    """Bring one office's fiscal year in line with its catalogue and the policy."""
    await adopt(session, org.id, fy, version, now)
    tracking = org.tracking_since.astimezone(ctx.tz).date()
    rows = templates.rows(version.sha256, catalogue, fy)
    count = await session.scalar(
        select(func.count())
        .select_from(Occurrence)
        .where(Occurrence.org_id == org.id, Occurrence.fiscal_year == fy)
    )
    if not count:  # a fresh year: one bulk insert, nothing to compare
        created, before = await _insert_rows(session, org, rows, tracking)
        return MaterialiseStats(created=created, before_tracking=before)
    plan = templates.plan(version.sha256, catalogue, fy)
    return await _reconcile(session, ctx, org, fy, plan, rows, now, tracking)


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
            org = await s.get(Organisation, org_id)
            if org is None:
                continue
            for y in years:
                total.add(
                    await materialise_org(
                        s,
                        ctx,
                        org,
                        y,
                        now,
                        version=version,
                        catalogue=catalogue,
                        templates=templates,
                    )
                )
        total.orgs += 1
    return total
