"""A quarterly, six-monthly or annual report's period and its per-occurrence results."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.catalogue.schema import Catalogue
from bot.domain import Action, Kind, OccStatus, code_key
from bot.domain.fiscal import Period, PeriodKey, fy_month_date
from bot.domain.thai import BEYearError, normalise_digits
from bot.reports.view import NO_ROLE, OrgView, org_view
from bot.services.context import AppContext
from bot.services.links import links_by_url
from bot.services.org import Catalogues
from bot.services.views import owner_role
from bot.store.models import (
    EvidenceLink,
    Occurrence,
    Person,
    StageEvent,
)

# -- quarterly, six-monthly and annual reports -------------------------------------------------


class Result(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    OVERDUE = "overdue"
    NOT_APPLICABLE = "not_applicable"
    BEFORE_TRACKING = "before_tracking"
    NOT_DUE = "not_due"


#: Each result's short label (text keys), for the chart's legend, the summary and the sheet.
RESULT_LABELS = {
    Result.ON_TIME: "report.result.on_time",
    Result.LATE: "report.result.late_short",
    Result.OVERDUE: "report.result.overdue_short",
    Result.NOT_APPLICABLE: "report.result.not_applicable",
    Result.BEFORE_TRACKING: "report.result.before_tracking",
    Result.NOT_DUE: "report.result.not_due",
}


Scope = Literal["quarter", "half", "year"]


class ReportPeriodError(ValueError):
    def __init__(self, message: str, suggestion: str | None = None) -> None:
        super().__init__(message)
        self.suggestion = suggestion  # the BE key meant by a CE-looking one (2026Q1 → 2569Q1)


def parse_report_period(text: str, scope: Scope | None = None) -> Period:
    """``2570Q1``, ``2570H1`` or ``2570`` (Thai digits and lower case welcome); with
    ``scope``, only a key of that kind (``quarter``: 2570Q1, ``half``: 2570H1, ``year``: 2570)."""
    key = normalise_digits(text).strip().upper().replace(" ", "")
    try:
        parsed = PeriodKey.parse(key)
    except BEYearError as exc:
        raise ReportPeriodError(str(exc), exc.suggestion) from None
    except ValueError:
        parsed = None
    if parsed is None or parsed.kind not in ("Y", "Q", "H") or key != parsed.key:
        raise ReportPeriodError(f"not a report period: {text!r} (try 2570Q1, 2570H1 or 2570)")
    period = parsed.period()
    if scope is not None and scope_of(period) != scope:
        example = {"quarter": "2570Q1", "half": "2570H1", "year": "2570"}[scope]
        raise ReportPeriodError(f"not a {scope}: {text!r} (e.g. {example})")
    return period


def scope_of(period: Period) -> Scope:
    kind = PeriodKey.parse(period.key).kind
    return "quarter" if kind == "Q" else "half" if kind == "H" else "year"


def classify(occ: Occurrence, as_of: date, tz_now: datetime) -> tuple[Result, int]:
    """An occurrence's result on ``as_of``, judged against its due date (the publication
    deadline), and the days late or overdue (calendar days)."""
    if occ.status == OccStatus.BEFORE_TRACKING.value:
        return Result.BEFORE_TRACKING, 0
    if occ.status == OccStatus.NOT_APPLICABLE.value:
        return Result.NOT_APPLICABLE, 0
    if occ.status == OccStatus.DONE.value:
        done_on = (occ.completed_at or tz_now).astimezone(tz_now.tzinfo).date()
        late = (done_on - occ.due_date).days
        return (Result.LATE, late) if late > 0 else (Result.ON_TIME, 0)
    if occ.due_date < as_of:
        return Result.OVERDUE, (as_of - occ.due_date).days
    return Result.NOT_DUE, 0


@dataclass
class Tally:
    counts: dict[Result, int] = field(default_factory=lambda: dict.fromkeys(Result, 0))

    def add(self, result: Result) -> None:
        self.counts[result] += 1

    def __getitem__(self, result: Result) -> int:
        return self.counts[result]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class ReportRow:
    occurrence_id: int
    code: str
    title: str
    kind: str
    period_key: str
    fiscal_year: int
    due: date
    prepare_role: str | None
    collect_role: str | None
    publish_role: str | None
    owner: str
    unit: str
    frequency: str
    stage: str
    result: Result
    days: int
    completed_on: date | None
    completed_by: str | None
    evidence_url: str | None
    note: str | None
    holders: list[str]
    first_live: date | None = None  # when its evidence URL was first seen live


@dataclass
class ActivityRow:
    measure_code: str
    measure_title: str
    code: str
    title: str
    steps: tuple[str, ...]
    responsible: str
    due_month: date  # the first day of its กำหนดเสร็จ month
    report_quarter: int
    in_period: bool
    row: ReportRow | None  # None: not materialised for this fiscal year


@dataclass
class ReportData:
    org_id: int
    org_name: str
    period: Period
    scope: Scope
    fy: int
    now: datetime
    as_of: date
    rows: list[ReportRow]
    activities: list[ActivityRow]
    view: OrgView
    totals: Tally = field(default_factory=Tally)
    by_role: dict[str, Tally] = field(default_factory=dict)
    by_unit: dict[str, Tally] = field(default_factory=dict)

    @property
    def counted(self) -> list[ReportRow]:
        """The rows the totals count: the items' and the activities' occurrences due in
        the period."""
        return self.rows + [a.row for a in self.activities if a.in_period and a.row]

    def attention(self) -> list[ReportRow]:
        return sorted(
            (r for r in self.counted if r.result is Result.OVERDUE),
            key=lambda r: (-r.days, code_key(r.code), r.period_key),
        )

    def late(self) -> list[ReportRow]:
        return [r for r in self.counted if r.result is Result.LATE]


async def report_data(
    session: AsyncSession, ctx: AppContext, org_id: int, period: Period, now: datetime
) -> ReportData:
    """A report of ``period`` as of ``now``.

    * ``rows``: every item occurrence (periodic, quarterly confirmation, reported change)
      whose due date falls in the period — so each occurrence belongs to exactly one
      quarter, and the four quarters make the year;
    * ``activities``: every measure activity of the period's fiscal year, in catalogue
      order, marked ``in_period`` when its due date falls in the period;
    * totals by result, by role (who held or holds it: :func:`owner_role`) and by unit,
      over the rows and the activities due in the period.

    Results (:func:`classify`) are judged on the occurrence's due date (the publication
    deadline), unlike the digest's overdue list, which is per stage.
    """
    tz_now = now.astimezone(ctx.tz)
    fy = period.fiscal_year
    view = await org_view(session, org_id, now)
    occs = await _occurrences_of(session, org_id, period)
    cats = Catalogues(session, ctx, org_id)
    rows = await _report_rows(session, ctx, occs, cats, view, tz_now)
    items = sorted(
        (r for r in rows.values() if r.kind != Kind.ACTIVITY),
        key=lambda r: (code_key(r.code), r.due, r.period_key),
    )
    by_code = {r.code: r for r in rows.values() if r.kind == Kind.ACTIVITY and r.fiscal_year == fy}
    data = ReportData(
        org_id=org_id,
        org_name=view.org.name,
        period=period,
        scope=scope_of(period),
        fy=fy,
        now=now,
        as_of=tz_now.date(),
        rows=items,
        activities=_activity_rows(await cats.of_year(fy), period, by_code),
        view=view,
    )
    for r in data.counted:
        data.totals.add(r.result)
        data.by_role.setdefault(r.owner, Tally()).add(r.result)
        data.by_unit.setdefault(r.unit, Tally()).add(r.result)
    return data


async def _occurrences_of(session: AsyncSession, org_id: int, period: Period) -> list[Occurrence]:
    """The items' occurrences due in the period, and the activities of its fiscal year."""
    return list(
        await session.scalars(
            select(Occurrence)
            .where(
                Occurrence.org_id == org_id,
                Occurrence.status != OccStatus.CANCELLED.value,
                or_(
                    and_(
                        Occurrence.kind != Kind.ACTIVITY,
                        Occurrence.due_date >= period.start,
                        Occurrence.due_date <= period.end,
                    ),
                    and_(
                        Occurrence.kind == Kind.ACTIVITY,
                        Occurrence.fiscal_year == period.fiscal_year,
                    ),
                ),
            )
            .order_by(Occurrence.due_date, Occurrence.code, Occurrence.period_key)
        )
    )


async def _report_rows(
    session: AsyncSession,
    ctx: AppContext,
    occs: list[Occurrence],
    cats: Catalogues,
    view: OrgView,
    tz_now: datetime,
) -> dict[int, ReportRow]:
    """One row an occurrence: its result as of today, who completed it, a n/a reason."""
    names = await _person_names(session, [o.completed_by for o in occs if o.completed_by])
    notes = await _na_notes(
        session, [o.id for o in occs if o.status == OccStatus.NOT_APPLICABLE.value]
    )
    links = await links_by_url(session, view.org.id)
    rows: dict[int, ReportRow] = {}
    for o in occs:
        cat = await cats.of(o)
        result, days = classify(o, tz_now.date(), tz_now)
        owner = owner_role(o) or NO_ROLE
        item = cat.item(o.code)
        rows[o.id] = ReportRow(
            occurrence_id=o.id,
            code=o.code,
            title=cat.title_of(o.code),
            kind=o.kind,
            period_key=o.covered_key,  # the period it reports on
            fiscal_year=o.fiscal_year,
            due=o.due_date,
            prepare_role=o.prepare_role,
            collect_role=o.collect_role,
            publish_role=o.publish_role,
            owner=owner,
            unit=view.unit_of(owner),
            frequency=item.frequency.phrase if item is not None else "",
            stage=o.stage,
            result=result,
            days=days,
            completed_on=o.completed_at.astimezone(ctx.tz).date() if o.completed_at else None,
            completed_by=names.get(o.completed_by) if o.completed_by else None,
            evidence_url=o.evidence_url,
            first_live=_first_live(links, o.evidence_url, ctx),
            note=notes.get(o.id),
            holders=view.holder_names(o.current_role) if o.status == OccStatus.OPEN.value else [],
        )
    return rows


def _activity_rows(
    cat: Catalogue, period: Period, by_code: dict[str, ReportRow]
) -> list[ActivityRow]:
    """Every measure activity of the fiscal year, in catalogue order, with its row if any."""
    fy = period.fiscal_year
    activities: list[ActivityRow] = []
    for m in cat.measures:
        for a in m.activities:
            row = by_code.get(a.code)
            activities.append(
                ActivityRow(
                    measure_code=m.code,
                    measure_title=m.title,
                    code=a.code,
                    title=a.title,
                    steps=a.steps,
                    responsible=a.responsible,
                    due_month=fy_month_date(fy, a.due.month, 1, a.due.fy_offset),
                    report_quarter=a.report_quarter,
                    in_period=row is not None and period.contains(row.due),
                    row=row,
                )
            )
    return activities


def _first_live(links: Mapping[str, EvidenceLink], url: str | None, ctx: AppContext) -> date | None:
    link = links.get(url) if url else None
    if link is None or link.first_live_at is None:
        return None
    return link.first_live_at.astimezone(ctx.tz).date()


async def _person_names(session: AsyncSession, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(select(Person.id, Person.name).where(Person.id.in_(set(ids))))
    return {int(i): n for i, n in rows}


async def _na_notes(session: AsyncSession, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(
        select(StageEvent.occurrence_id, StageEvent.note)
        .where(StageEvent.occurrence_id.in_(ids), StageEvent.action == Action.NOT_APPLICABLE)
        .order_by(StageEvent.at, StageEvent.id)
    )
    return {int(i): n for i, n in rows if n}
