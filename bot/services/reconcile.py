"""An office's stored fiscal year against what its plan now says, as set-based writes.

The year's rows are read with one Core query per batch of offices (no ORM objects);
each office is compared in Python (:func:`reconcile`), and what changed is collected in
:class:`Writes`: one ``executemany`` UPDATE per set of changed columns, one
``executemany`` INSERT of history, one DELETE of the old edition's untouched plans, for
the whole batch.  An office whose year is as planned (every day but the one after a
change) costs no write at all.

A changed catalogue version of the same edition, policy or office calendar re-derives
the deadlines of stages not yet done, and records that in the history; completed stages
are never touched (only the label of the period an occurrence reports on is kept up to
date).  When a year changes edition, the old edition's rows nobody acted on are removed
(they were only a plan); rows with history are withdrawn and stay with their own item.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Row, Table, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.catalogue.schema import Catalogue
from bot.domain import Kind, OccStatus, Stage
from bot.schedule.policy import SchedulePolicy
from bot.schedule.reminders import next_reminder_time, next_slot, slot_instant
from bot.schedule.rules import PlannedOccurrence, plan_change
from bot.schedule.workdays import WorkCalendar
from bot.services.context import AppContext
from bot.services.storedrows import CHAIN, OCCURRENCE, OccRow, Stored
from bot.services.yearplan import VersionRef, YearPlan, stage_columns
from bot.store.models import StageEvent

UNTOUCHED = (OccStatus.OPEN.value, OccStatus.BEFORE_TRACKING.value)
STAGE_EVENT = cast(Table, StageEvent.__table__)
CHUNK = 500  # ids in one IN (…) list


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


@dataclass
class Writes:
    """What a batch of offices' reconciliation writes, applied in a few statements."""

    now: datetime
    events: list[dict[str, Any]] = field(default_factory=list)
    deletes: list[int] = field(default_factory=list)
    rows: list[OccRow] = field(default_factory=list)  # read; updated where changed

    def event(self, occ: OccRow, action: str, note: str) -> None:
        """What materialisation did to an occurrence, in its history (no actor: the bot)."""
        self.events.append(
            {
                "org_id": occ.org_id,
                "occurrence_id": occ.id,
                "at": self.now,
                "action": action,
                "stage": occ.stage,
                "note": note,
            }
        )

    async def apply(self, session: AsyncSession) -> None:
        conn = await session.connection()
        for i in range(0, len(self.deletes), CHUNK):
            ids = self.deletes[i : i + CHUNK]
            await conn.execute(delete(OCCURRENCE).where(OCCURRENCE.c.id.in_(ids)))
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        for occ in self.rows:
            if changed := occ.changed():
                by_columns[tuple(sorted(changed))].append({"row_id": occ.id, **changed})
        for columns, params in by_columns.items():
            stmt = (
                update(OCCURRENCE)
                .where(OCCURRENCE.c.id == bindparam("row_id"))
                .values({c: bindparam(c) for c in columns})
            )
            await conn.execute(stmt, params)
        if self.events:
            await conn.execute(insert(STAGE_EVENT), self.events)
        self.events, self.deletes, self.rows = [], [], []


async def acted_on(session: AsyncSession, ids: Iterable[int]) -> set[int]:
    """Which of these occurrences have any history."""
    wanted, acted = list(ids), set[int]()
    for i in range(0, len(wanted), CHUNK):
        acted.update(
            await session.scalars(
                select(StageEvent.occurrence_id)
                .where(StageEvent.occurrence_id.in_(wanted[i : i + CHUNK]))
                .distinct()
            )
        )
    return acted


def retiring(stored: Stored, rows: Iterable[Row[Any]], version: VersionRef) -> list[int]:
    """Another edition's occurrences still open: candidates for :func:`reconcile` to retire."""
    at = stored.columns.index("id")
    return [r[at] for r in rows if r[-1] != version.edition and stored.status(r) in UNTOUCHED]


def reconcile(
    ctx: AppContext,
    stored: Stored,
    rows: list[Row[Any]],
    plan: YearPlan,
    templates: list[dict[str, Any]],
    acted: set[int],
    writes: Writes,
) -> tuple[MaterialiseStats, set[tuple[str, str]]]:
    """Bring an office's stored year (``rows``, as read by ``stored``) in line with
    ``plan`` (and its ``templates``).  Returns the stats and the (code, period) keys it
    already has (the rest of the plan is to be inserted)."""
    stats, now = MaterialiseStats(), writes.now
    have: set[tuple[str, str]] = set()
    existing: dict[tuple[str, str], OccRow] = {}
    for row in rows:
        if row[-1] == plan.version.edition and stored.as_planned(row, plan, templates):
            have.add(stored.key(row))  # nothing to change
            continue
        occ = stored.occ(row)
        if occ.edition == plan.version.edition:  # the same items, maybe of another version
            occ.catalogue_id = plan.version.id
            existing[(occ.code, occ.period_key)] = occ
            writes.rows.append(occ)
        elif occ.status in UNTOUCHED and occ.id in acted:
            _withdraw(occ, writes, f"the year now follows {plan.version.edition}")
            writes.rows.append(occ)
            stats.kept += 1
        elif occ.status in UNTOUCHED:
            writes.deletes.append(occ.id)
            stats.removed += 1
    wanted = {(p.code, p.period.key): p for p in plan.planned}
    for key, occ in existing.items():
        _relabel(occ, wanted.get(key))
        if occ.status != OccStatus.OPEN:
            continue
        p = wanted.get(key) or _replanned_change(occ, plan.catalogue, plan.cal, ctx)
        if p is None:
            if occ.kind != Kind.CHANGE.value:
                _withdraw(occ, writes, "no longer in the catalogue")
                stats.withdrawn += 1
            continue
        if _reschedule(occ, p, now, plan.cal, ctx.policy, ctx.tz, writes):
            stats.rescheduled += 1
        else:
            _off_day_reminder(occ, plan.cal, ctx)
    return stats, have | set(existing)


def _withdraw(occ: OccRow, writes: Writes, note: str) -> None:
    occ.status = OccStatus.CANCELLED.value
    occ.next_remind_at = None
    occ.updated_at = writes.now
    writes.event(occ, "withdrawn", note)


def _relabel(occ: OccRow, p: PlannedOccurrence | None) -> None:
    """The period it reports on, as the catalogue now says (done ones too: a label, not a
    deadline)."""
    if p is None or p.kind is Kind.CHANGE:
        return
    occ.covers_key = p.covers.key if p.covers else None
    occ.period_start, occ.period_end = p.covered.start, p.covered.end


def _replanned_change(
    occ: OccRow, catalogue: Catalogue, cal: WorkCalendar, ctx: AppContext
) -> PlannedOccurrence | None:
    """A reported change's deadlines as the calendar now says (counted from its report)."""
    item = catalogue.item(occ.code) if occ.kind == Kind.CHANGE.value else None
    if item is None:
        return None
    return plan_change(item, occ.period_start, cal, ctx.policy)


def _off_day_reminder(occ: OccRow, cal: WorkCalendar, ctx: AppContext) -> None:
    """A reminder (or a snooze) set for a day that is no longer a working day moves to
    the next working day."""
    if occ.next_remind_at is None:
        return
    day = occ.next_remind_at.astimezone(ctx.tz).date()
    if not cal.is_working_day(day):
        occ.next_remind_at = slot_instant(cal.on_or_after(day), ctx.policy, ctx.tz)


def _moved_deadlines(occ: OccRow, p: PlannedOccurrence) -> list[str]:
    """Move the deadlines (and roles) of the stages not yet done to the plan's; what moved."""
    cols = stage_columns(p)
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
    return changes


def _reschedule(
    occ: OccRow,
    p: PlannedOccurrence,
    now: datetime,
    cal: WorkCalendar,
    policy: SchedulePolicy,
    tz: ZoneInfo,
    writes: Writes,
) -> bool:
    """Move the deadlines of the stages not yet done to what the plan now says.

    If the current stage's deadline moved, its holders hear it in the next reminder
    (the next working morning), which names the deadline it moved from."""
    changes = _moved_deadlines(occ, p)
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
    writes.event(occ, "rescheduled", "; ".join(changes))
    return True
