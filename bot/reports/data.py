"""Reading the store for the head's digest and reports: queries in, plain dataclasses out.

Nothing here renders text or files, and nothing commits.  The fiscal-year figures come
from :func:`bot.services.views.summarise`; this module adds what the head needs on top:
what changed since the last digest, who cannot be reached, ITA readiness, and the
per-occurrence results of a report period.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.catalogue.schema import Catalogue
from bot.domain import DueDate, FrequencyKind, OccStatus
from bot.domain.enums import QUIET
from bot.domain.fiscal import Period, fiscal_year, fy_month_date, parse_period
from bot.domain.thai import BEYearError, normalise_digits
from bot.services.audience import Recipient, head_audience
from bot.services.context import AppContext
from bot.services.org import catalogue_by_id, catalogue_for, current_catalogue
from bot.services.reminders import head_keys
from bot.services.views import Summary, owner_role, summarise
from bot.store import repo
from bot.store.models import (
    CatalogueVersion,
    DigestLog,
    Occurrence,
    Organisation,
    OrgRole,
    Person,
    Role,
    StageEvent,
)

WEEKLY = "weekly"
QUARTERLY = "quarterly"
HALF = "half"
ANNUAL = "annual"

# stage events that are not news for the head

NO_ROLE = "-"


# -- who receives it -----------------------------------------------------------------------


@dataclass
class OrgView:
    """One office's people and roles, loaded once per digest or report."""

    org: Organisation
    roles: dict[str, Role]
    holders: dict[str, list[Person]]
    org_roles: dict[str, OrgRole]
    unit_names: dict[int, str]
    heads: list[str]

    @property
    def role_names(self) -> dict[str, str]:
        return {k: r.name for k, r in self.roles.items()}

    def role_name(self, key: str | None) -> str:
        if key is None or key == NO_ROLE:
            return NO_ROLE
        role = self.roles.get(key)
        return role.name if role is not None else key

    def unit_of(self, role: str | None) -> str:
        link = self.org_roles.get(role or "")
        if link is None or link.unit_id is None:
            return NO_ROLE
        return self.unit_names.get(link.unit_id, NO_ROLE)

    def holder_names(self, role: str | None) -> list[str]:
        return [p.name for p in self.holders.get(role or "", [])]

    def recipients(self, default_lang: str) -> list[Recipient]:
        """Every reachable holder of a head role, then each head role's linked group chat."""
        return head_audience(self.heads, self.holders, self.org_roles, default_lang)


async def org_view(session: AsyncSession, org_id: int, now: datetime) -> OrgView:
    org = await session.get(Organisation, org_id)
    if org is None:
        raise LookupError(f"no office #{org_id}")
    units = await repo.units(session, org_id)
    return OrgView(
        org=org,
        roles={r.key: r for r in await session.scalars(select(Role))},
        holders=await repo.holders_by_role(session, org_id, now),
        org_roles=await repo.org_roles(session, org_id),
        unit_names={uid: u.name for uid, u in units.items()},
        heads=await head_keys(session),
    )


# -- ITA readiness ---------------------------------------------------------------------------


class ReadyState(StrEnum):
    PUBLISHED = "published"
    NOT_APPLICABLE = "not_applicable"
    OVERDUE = "overdue"
    PENDING = "pending"
    BEFORE_TRACKING = "before_tracking"
    NO_URL = "no_url"
    CONFIRM_OVERDUE = "confirm_overdue"
    MISSING = "missing"

    @property
    def ready(self) -> bool:
        return self in (ReadyState.PUBLISHED, ReadyState.NOT_APPLICABLE)


@dataclass(frozen=True)
class ItemReadiness:
    code: str
    state: ReadyState
    url: str | None = None

    @property
    def ready(self) -> bool:
        return self.state.ready


@dataclass
class Readiness:
    today: date
    window: date
    items: list[ItemReadiness] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def ready(self) -> int:
        return sum(1 for i in self.items if i.ready)

    @property
    def days_left(self) -> int:
        return (self.window - self.today).days

    def not_ready(self) -> dict[ReadyState, list[str]]:
        out: dict[ReadyState, list[str]] = {}
        for i in self.items:
            if not i.ready:
                out.setdefault(i.state, []).append(i.code)
        return out


def next_oit_window(today: date, window: DueDate) -> date:
    """The next date (today or later) with the window's month and day."""
    for year in (today.year, today.year + 1):
        last = calendar.monthrange(year, window.month)[1]
        d = date(year, window.month, min(window.day, last))
        if d >= today:
            return d
    raise AssertionError("unreachable: a month/day recurs within a year")  # pragma: no cover


def _is_evidence(o: Occurrence) -> bool:
    return (o.status == OccStatus.DONE.value and bool(o.evidence_url)) or (
        o.status == OccStatus.NOT_APPLICABLE.value
    )


def assess_readiness(
    catalogue: Catalogue, occurrences: Iterable[Occurrence], today: date, window: date
) -> Readiness:
    """ITA readiness on ``today``: which of the catalogue's items could be shown to the
    OIT assessors now, from what is on record.

    * **Periodic items** (monthly, six-monthly, yearly).  The item's *current* occurrence
      is the latest one whose due date is before ``today`` (it has fallen due).  The item
      is ready when that occurrence, or a later one, is done with an evidence URL or
      recorded as not applicable.  Otherwise the state says why: ``overdue`` (still
      open), ``before_tracking`` (it fell due before the office started tracking, so
      there is no evidence on record).  When none has fallen due yet (a new fiscal year's
      yearly item in October, say, with last year's not on record), it is ready only if
      one was already published early, else ``pending``.  ``missing``: no occurrence at all.
    * **On-change items** (updated whenever they change).  Ready when some evidence URL
      is on record for the item (a published change) and neither the latest quarterly
      confirmation that has fallen due nor a reported change is still open past its due
      date.  Otherwise ``no_url`` or ``confirm_overdue`` / ``overdue``.

    Occurrences that were cancelled (withdrawn from the catalogue) are ignored.
    """
    by_code: dict[str, list[Occurrence]] = {}
    for o in occurrences:
        if o.status != OccStatus.CANCELLED.value:
            by_code.setdefault(o.code, []).append(o)
    out = Readiness(today=today, window=window)
    for item in sorted(catalogue.items, key=lambda i: i.number):
        occs = sorted(by_code.get(item.code, []), key=lambda o: (o.due_date, o.period_start))
        if item.frequency.kind is FrequencyKind.ON_CHANGE:
            out.items.append(_on_change_readiness(item.code, occs, today))
        else:
            out.items.append(_periodic_readiness(item.code, occs, today))
    return out


def _periodic_readiness(code: str, occs: list[Occurrence], today: date) -> ItemReadiness:
    periodic = [o for o in occs if o.kind == "periodic"]
    if not periodic:
        return ItemReadiness(code, ReadyState.MISSING)
    fallen = [o for o in periodic if o.due_date < today]
    current = fallen[-1] if fallen else None
    newer = [o for o in periodic if current is None or o.period_start >= current.period_start]
    evidence = [o for o in newer if _is_evidence(o)]
    if evidence:
        best = evidence[-1]
        state = (
            ReadyState.PUBLISHED
            if best.status == OccStatus.DONE.value
            else ReadyState.NOT_APPLICABLE
        )
        return ItemReadiness(code, state, best.evidence_url)
    if current is None:
        return ItemReadiness(code, ReadyState.PENDING)
    if current.status == OccStatus.BEFORE_TRACKING.value:
        return ItemReadiness(code, ReadyState.BEFORE_TRACKING)
    if current.status == OccStatus.OPEN.value:
        return ItemReadiness(code, ReadyState.OVERDUE)
    return ItemReadiness(code, ReadyState.NO_URL)  # done without a URL


def _on_change_readiness(code: str, occs: list[Occurrence], today: date) -> ItemReadiness:
    published = [o for o in occs if o.status == OccStatus.DONE.value and o.evidence_url]
    if not published:
        return ItemReadiness(code, ReadyState.NO_URL)
    confirms = [o for o in occs if o.kind == "confirm" and o.due_date < today]
    if confirms and confirms[-1].status == OccStatus.OPEN.value:
        return ItemReadiness(code, ReadyState.CONFIRM_OVERDUE)
    if any(
        o.kind == "change" and o.status == OccStatus.OPEN.value and o.due_date < today for o in occs
    ):
        return ItemReadiness(code, ReadyState.OVERDUE)
    latest = max(published, key=lambda o: (o.due_date, o.id))
    return ItemReadiness(code, ReadyState.PUBLISHED, latest.evidence_url)


async def readiness(
    session: AsyncSession, ctx: AppContext, org_id: int, catalogue: Catalogue, today: date
) -> Readiness:
    """:func:`assess_readiness` over this and the previous fiscal year's occurrences of
    the catalogue's own items: evidence of another edition's item with the same number
    is that item's, not this one's."""
    fy = fiscal_year(today)
    codes = [i.code for i in catalogue.items]
    occs = await session.scalars(
        select(Occurrence)
        .join(CatalogueVersion, CatalogueVersion.id == Occurrence.catalogue_id)
        .where(
            Occurrence.org_id == org_id,
            Occurrence.fiscal_year.in_((fy - 1, fy)),
            Occurrence.code.in_(codes),
            CatalogueVersion.edition == catalogue.edition,
        )
    )
    window = next_oit_window(today, ctx.settings.oit_window)
    return assess_readiness(catalogue, list(occs), today, window)


# -- the weekly digest -----------------------------------------------------------------------


@dataclass(frozen=True)
class ChangeLine:
    at: datetime
    code: str
    period_key: str
    action: str
    stage: str | None
    actor: str | None


@dataclass(frozen=True)
class UnreachablePerson:
    name: str
    roles: list[str]
    reason: str | None


@dataclass(frozen=True)
class UnreachableRole:
    role: str
    reason: Literal["none", "inactive", "not_joined"]
    open: int


@dataclass
class DigestData:
    org_id: int
    org_name: str
    fy: int
    now: datetime
    today: date
    summary: Summary
    view: OrgView
    upcoming_roles: dict[int, str | None]
    changes: list[ChangeLine]
    since: datetime | None  # None: no earlier digest, the changes cover the last 7 days
    unreachable_people: list[UnreachablePerson]
    unreachable_roles: list[UnreachableRole]
    readiness: Readiness
    recipients: list[Recipient]
    tz: ZoneInfo
    upcoming_days: int


async def previous_digest_at(
    session: AsyncSession, org_id: int, before: datetime, kind: str = WEEKLY
) -> datetime | None:
    return await session.scalar(
        select(DigestLog.created_at)
        .where(DigestLog.org_id == org_id, DigestLog.kind == kind, DigestLog.created_at < before)
        .order_by(DigestLog.created_at.desc())
        .limit(1)
    )


async def changes_between(
    session: AsyncSession, org_id: int, since: datetime, until: datetime
) -> list[ChangeLine]:
    rows = await session.execute(
        select(StageEvent, Occurrence.code, Occurrence.period_key, Occurrence.covers_key)
        .join(Occurrence, Occurrence.id == StageEvent.occurrence_id)
        .where(
            StageEvent.org_id == org_id,
            StageEvent.at > since,
            StageEvent.at <= until,
            StageEvent.action.notin_(QUIET),
        )
        .order_by(StageEvent.at, StageEvent.id)
    )
    return [
        ChangeLine(
            ev.at, code, covers or key, ev.action, ev.stage, ev.actor.name if ev.actor else None
        )
        for ev, code, key, covers in rows
    ]


def unreachable(
    view: OrgView, summary: Summary
) -> tuple[list[UnreachablePerson], list[UnreachableRole]]:
    """People who blocked the bot (inactive, still holding roles), and roles with open work
    this fiscal year that no reachable person (nor a linked group) receives."""
    roles_of: dict[int, list[str]] = {}
    people: dict[int, Person] = {}
    for key, holders in view.holders.items():
        for p in holders:
            roles_of.setdefault(p.id, []).append(key)
            people[p.id] = p
    blocked = [
        UnreachablePerson(p.name, sorted(roles_of[p.id]), p.inactive_reason)
        for p in sorted(people.values(), key=lambda p: p.id)
        if not p.active
    ]
    roles: list[UnreachableRole] = []
    for key, counts in sorted(summary.by_role.items()):
        if key == NO_ROLE or counts.open == 0:
            continue
        holders = view.holders.get(key, [])
        link = view.org_roles.get(key)
        if any(p.reachable for p in holders) or (link is not None and link.group_chat_id):
            continue
        reason: Literal["none", "inactive", "not_joined"]
        if not holders:
            reason = "none"
        elif any(p.active for p in holders):
            reason = "not_joined"
        else:
            reason = "inactive"
        roles.append(UnreachableRole(key, reason, counts.open))
    return blocked, roles


async def digest_data(
    session: AsyncSession,
    ctx: AppContext,
    org_id: int,
    now: datetime,
    *,
    since: datetime | None = None,
) -> DigestData:
    """Everything the weekly digest shows.  ``since`` defaults to the office's previous
    weekly digest (or the last 7 days when there was none)."""
    today = now.astimezone(ctx.tz).date()
    fy = fiscal_year(today)
    view = await org_view(session, org_id, now)
    summary = await summarise(
        session, ctx, org_id, fy, now, upcoming_days=ctx.settings.upcoming_days
    )
    upcoming_roles: dict[int, str | None] = {}
    if summary.upcoming:
        rows = await session.execute(
            select(Occurrence.id, Occurrence.current_role).where(
                Occurrence.id.in_([t.occurrence_id for t in summary.upcoming])
            )
        )
        upcoming_roles = {int(i): r for i, r in rows}
    if since is None:
        since = await previous_digest_at(session, org_id, now)
    changes = await changes_between(session, org_id, since or now - timedelta(days=7), now)
    blocked, roles = unreachable(view, summary)
    cat = await catalogue_for(session, ctx, org_id, fy) or await current_catalogue(
        session, ctx, org_id
    )
    ready = await readiness(session, ctx, org_id, cat, today)
    return DigestData(
        org_id=org_id,
        org_name=view.org.name,
        fy=fy,
        now=now,
        today=today,
        summary=summary,
        view=view,
        upcoming_roles=upcoming_roles,
        changes=changes,
        since=since,
        unreachable_people=blocked,
        unreachable_roles=roles,
        readiness=ready,
        recipients=view.recipients(ctx.settings.default_language),
        tz=ctx.tz,
        upcoming_days=ctx.settings.upcoming_days,
    )


# -- quarterly, six-monthly and annual reports -------------------------------------------------


class Result(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    OVERDUE = "overdue"
    NOT_APPLICABLE = "not_applicable"
    BEFORE_TRACKING = "before_tracking"
    NOT_DUE = "not_due"


Scope = Literal["quarter", "half", "year"]


class ReportPeriodError(ValueError):
    def __init__(self, message: str, suggestion: str | None = None) -> None:
        super().__init__(message)
        self.suggestion = suggestion  # the BE key meant by a CE-looking one (2026Q1 → 2569Q1)


_REPORT_KEY = re.compile(r"^(\d{4})(?:([QH])(\d))?$")


def parse_report_period(text: str, scope: Scope | None = None) -> Period:
    """``2570Q1``, ``2570H1`` or ``2570`` (Thai digits and lower case welcome); with
    ``scope``, only a key of that kind (``quarter``: 2570Q1, ``half``: 2570H1, ``year``: 2570)."""
    key = normalise_digits(text).strip().upper().replace(" ", "")
    m = _REPORT_KEY.match(key)
    if (
        not m
        or (m.group(2) == "Q" and m.group(3) not in "1234")
        or (m.group(2) == "H" and m.group(3) not in "12")
    ):
        raise ReportPeriodError(f"not a report period: {text!r} (try 2570Q1, 2570H1 or 2570)")
    try:
        period = parse_period(key)
    except BEYearError as exc:
        raise ReportPeriodError(str(exc), exc.suggestion) from None
    if scope is not None and scope_of(period) != scope:
        example = {"quarter": "2570Q1", "half": "2570H1", "year": "2570"}[scope]
        raise ReportPeriodError(f"not a {scope}: {text!r} (e.g. {example})")
    return period


def scope_of(period: Period) -> Scope:
    rest = period.key[4:]
    if rest.startswith("Q"):
        return "quarter"
    if rest.startswith("H"):
        return "half"
    return "year"


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


def code_key(code: str) -> tuple[int, int, int]:
    """Sort key: O1 < O2 < O10 < M1.1 < M1.2 < M2.1."""
    head, _, tail = code[1:].partition(".")
    number = int(head) if head.isdigit() else 0
    return (0 if code.startswith("O") else 1, number, int(tail) if tail.isdigit() else 0)


class _Catalogues:
    def __init__(self, session: AsyncSession, ctx: AppContext, org_id: int) -> None:
        self.session, self.ctx, self.org_id = session, ctx, org_id
        self._cats: dict[int, Catalogue] = {}
        self._versions: dict[int, Catalogue] = {}

    async def of(self, occ: Occurrence) -> Catalogue:
        """The occurrence's own catalogue (its item's edition)."""
        if occ.catalogue_id not in self._versions:
            cat = await catalogue_by_id(self.session, self.ctx, occ.catalogue_id)
            self._versions[occ.catalogue_id] = cat or await self.get(occ.fiscal_year)
        return self._versions[occ.catalogue_id]

    async def get(self, fy: int) -> Catalogue:
        if fy not in self._cats:
            cat = await catalogue_for(self.session, self.ctx, self.org_id, fy)
            if cat is None:
                cat = await current_catalogue(self.session, self.ctx, self.org_id)
            self._cats[fy] = cat
        return self._cats[fy]


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
    as_of = tz_now.date()
    fy = period.fiscal_year
    view = await org_view(session, org_id, now)
    occs = list(
        await session.scalars(
            select(Occurrence)
            .where(
                Occurrence.org_id == org_id,
                Occurrence.status != OccStatus.CANCELLED.value,
                or_(
                    and_(
                        Occurrence.kind != "activity",
                        Occurrence.due_date >= period.start,
                        Occurrence.due_date <= period.end,
                    ),
                    and_(Occurrence.kind == "activity", Occurrence.fiscal_year == fy),
                ),
            )
            .order_by(Occurrence.due_date, Occurrence.code, Occurrence.period_key)
        )
    )
    names = await _person_names(session, [o.completed_by for o in occs if o.completed_by])
    notes = await _na_notes(
        session, [o.id for o in occs if o.status == OccStatus.NOT_APPLICABLE.value]
    )
    cats = _Catalogues(session, ctx, org_id)
    rows: dict[int, ReportRow] = {}
    for o in occs:
        cat = await cats.of(o)
        result, days = classify(o, as_of, tz_now)
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
            note=notes.get(o.id),
            holders=view.holder_names(o.current_role) if o.status == OccStatus.OPEN.value else [],
        )
    items = sorted(
        (r for r in rows.values() if r.kind != "activity"),
        key=lambda r: (code_key(r.code), r.due, r.period_key),
    )
    by_code = {r.code: r for r in rows.values() if r.kind == "activity" and r.fiscal_year == fy}
    cat = await cats.get(fy)
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
    data = ReportData(
        org_id=org_id,
        org_name=view.org.name,
        period=period,
        scope=scope_of(period),
        fy=fy,
        now=now,
        as_of=as_of,
        rows=items,
        activities=activities,
        view=view,
    )
    for r in data.counted:
        data.totals.add(r.result)
        data.by_role.setdefault(r.owner, Tally()).add(r.result)
        data.by_unit.setdefault(r.unit, Tally()).add(r.result)
    return data


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
        .where(StageEvent.occurrence_id.in_(ids), StageEvent.action == "not_applicable")
        .order_by(StageEvent.at, StageEvent.id)
    )
    return {int(i): n for i, n in rows if n}
