"""From a catalogue item and a fiscal year to its occurrences and stage deadlines.

Defaults (BRIEF.md), each overridable per item and globally:

* monthly — one per month, due on the 10th of the next month;
* quarterly — one per quarter (ไตรมาส), due on the 15th of the month after it;
* every 6 months — H1 (Oct–Mar) due 30 Apr, H2 (Apr–Sep) due 31 Oct;
* yearly / at least yearly — one per fiscal year, due 31 Dec;
* on change — a quarterly ``confirm`` stage by the preparer, due on the quarter's last
  day; a reported change opens an occurrence due in 3 working days;
* the measures' activities — one-off, due on the last day of their month (or, for
  "ภายใน ๓๐ วัน", that many days after the fiscal year starts).

An annual results report (``reports_on: previous_fy``) due on 31 Dec of fiscal year
``fy`` reports on ``fy - 1``: its occurrence keeps ``fy``'s key and deadline and
``covers`` the year before.

A due date on a non-working day moves back to the previous working day.  Stage
deadlines count back from that: prepare 5 working days, collect 2, publish 0.
An occurrence belongs to the fiscal year it is planned for (the year of its key).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

from bot.catalogue.schema import Activity, Catalogue, Item
from bot.domain import DueDate, FrequencyKind, Kind, Stage
from bot.domain.fiscal import (
    Period,
    add_months,
    fiscal_months,
    fiscal_year,
    fy_month_date,
    fy_start,
    half_period,
    month_end,
    month_period,
    quarter_period,
    year_period,
)
from bot.schedule.policy import SchedulePolicy
from bot.schedule.workdays import WorkCalendar


@dataclass(frozen=True, slots=True)
class StageDeadline:
    stage: Stage
    role: str
    due: date


@dataclass(frozen=True, slots=True)
class PlannedOccurrence:
    code: str
    kind: Kind
    period: Period
    nominal_due: date
    due: date
    stages: tuple[StageDeadline, ...]
    covers: Period | None = None  # what it reports on, when not ``period`` itself

    @property
    def fiscal_year(self) -> int:
        return self.period.fiscal_year

    @property
    def covered(self) -> Period:
        """The period the occurrence reports on (named everywhere people see it)."""
        return self.covers or self.period

    def stage(self, stage: Stage) -> StageDeadline | None:
        return next((s for s in self.stages if s.stage == stage), None)


def _dated(fy: int, d: DueDate) -> date:
    return fy_month_date(fy, d.month, d.day, d.fy_offset)


def stage_deadlines(
    due: date,
    roles: dict[Stage, str],
    cal: WorkCalendar,
    policy: SchedulePolicy,
    *,
    not_before: date | None = None,
) -> tuple[StageDeadline, ...]:
    """Prepare, collect and publish deadlines counted back from ``due`` (already a working day).

    ``not_before`` clamps early stages for occurrences opened late (a reported change):
    no stage falls before it, and the order prepare ≤ collect ≤ publish holds.
    """
    offsets = {
        Stage.PREPARE: policy.prepare_offset,
        Stage.COLLECT: policy.collect_offset,
        Stage.PUBLISH: policy.publish_offset,
    }
    out: list[StageDeadline] = []
    floor = not_before
    previous: date | None = None
    for stage in (Stage.PREPARE, Stage.COLLECT, Stage.PUBLISH):
        d = cal.add(due, -offsets[stage])
        if floor is not None and d < floor:
            d = floor
        if previous is not None and d < previous:
            d = previous
        if d > due:
            d = due
        out.append(StageDeadline(stage, roles[stage], d))
        previous = d
    return tuple(out)


def _full_chain(
    item: Item,
    kind: Kind,
    period: Period,
    nominal: date,
    cal: WorkCalendar,
    policy: SchedulePolicy,
    not_before: date | None = None,
) -> PlannedOccurrence:
    due = cal.on_or_before(nominal)
    if not_before is not None and due < not_before:
        due = cal.on_or_after(not_before)
    stages = stage_deadlines(due, item.stage_roles(), cal, policy, not_before=not_before)
    return PlannedOccurrence(item.code, kind, period, nominal, due, stages)


def plan_item(
    item: Item, fy: int, cal: WorkCalendar, base: SchedulePolicy
) -> list[PlannedOccurrence]:
    """Every calendar occurrence of ``item`` covering fiscal year ``fy``."""
    policy = base.with_rule(item.rule)
    kind = item.frequency.kind
    out: list[PlannedOccurrence] = []
    if kind is FrequencyKind.MONTHLY:
        for y, m in fiscal_months(fy):
            period = month_period(y, m)
            dy, dm = add_months(y, m, policy.monthly_months_after)
            nominal = date(dy, dm, min(policy.monthly_due_day, month_end(dy, dm).day))
            out.append(_full_chain(item, Kind.PERIODIC, period, nominal, cal, policy))
    elif kind is FrequencyKind.QUARTERLY:
        for q in (1, 2, 3, 4):
            period = quarter_period(fy, q)
            dy, dm = add_months(period.end.year, period.end.month, policy.quarterly_months_after)
            nominal = date(dy, dm, min(policy.quarterly_due_day, month_end(dy, dm).day))
            out.append(_full_chain(item, Kind.PERIODIC, period, nominal, cal, policy))
    elif kind is FrequencyKind.SEMIANNUAL:
        for h, due_spec in zip((1, 2), policy.semiannual_due, strict=True):
            out.append(
                _full_chain(
                    item, Kind.PERIODIC, half_period(fy, h), _dated(fy, due_spec), cal, policy
                )
            )
    elif kind in (FrequencyKind.YEARLY, FrequencyKind.AT_LEAST_YEARLY):
        occ = _full_chain(
            item, Kind.PERIODIC, year_period(fy), _dated(fy, policy.yearly_due), cal, policy
        )
        if item.reports_on == "previous_fy":
            occ = replace(occ, covers=year_period(fy - 1))
        out.append(occ)
    elif kind is FrequencyKind.ON_CHANGE:
        if policy.confirm_quarterly:
            for q in (1, 2, 3, 4):
                period = quarter_period(fy, q)
                due = cal.on_or_before(period.end)
                stages = (StageDeadline(Stage.CONFIRM, item.prepare, due),)
                out.append(
                    PlannedOccurrence(item.code, Kind.CONFIRM, period, period.end, due, stages)
                )
    else:  # pragma: no cover - FrequencyKind is closed
        raise ValueError(f"unknown frequency {kind}")
    return out


def plan_change(
    item: Item, reported_on: date, cal: WorkCalendar, base: SchedulePolicy, *, seq: int = 1
) -> PlannedOccurrence:
    """The occurrence opened when someone reports that an on-change item changed.

    Due ``change_due_working_days`` working days after the report; no stage is due
    before the next working day.
    """
    policy = base.with_rule(item.rule)
    nominal = cal.add(reported_on, policy.change_due_working_days)
    first = cal.add(reported_on, 1)
    fy = fiscal_year(reported_on)
    key = f"{fy}C{reported_on:%Y%m%d}" + (f"-{seq}" if seq > 1 else "")
    period = Period(reported_on, reported_on, key)
    return _full_chain(item, Kind.CHANGE, period, nominal, cal, policy, not_before=first)


def plan_activity(
    activity: Activity, fy: int, cal: WorkCalendar, base: SchedulePolicy
) -> PlannedOccurrence:
    """A measure's one-off activity: one stage, due on the last day of its month."""
    period = year_period(fy)
    if activity.within_days is not None:
        nominal = fy_start(fy) + timedelta(days=activity.within_days)
    else:
        nominal = fy_month_date(fy, activity.due.month, 31, activity.due.fy_offset)
    due = cal.on_or_before(nominal)
    stages = (StageDeadline(Stage.PREPARE, activity.responsible, due),)
    return PlannedOccurrence(activity.code, Kind.ACTIVITY, period, nominal, due, stages)


def plan_fiscal_year(
    catalogue: Catalogue, fy: int, cal: WorkCalendar, policy: SchedulePolicy
) -> list[PlannedOccurrence]:
    """Every calendar occurrence of a fiscal year, items first, in a stable order."""
    out: list[PlannedOccurrence] = []
    for item in sorted(catalogue.items, key=lambda i: i.number):
        out.extend(plan_item(item, fy, cal, policy))
    for activity in catalogue.activities:
        out.append(plan_activity(activity, fy, cal, policy))
    return out
