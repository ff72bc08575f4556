"""Read-only views of the store: my tasks, an item's history, the fiscal year at a glance."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import Action, Kind, OccStatus, Stage, TaskLine
from bot.services.context import AppContext
from bot.services.org import Catalogues, catalogue_for
from bot.store import repo
from bot.store.models import CatalogueVersion, Occurrence, Person, StageEvent

TASK_HORIZON_DAYS = 30


async def open_stages(
    session: AsyncSession,
    ctx: AppContext,
    org_id: int,
    roles: list[str] | None,
    now: datetime,
    *,
    horizon_days: int | None = TASK_HORIZON_DAYS,
) -> list[TaskLine]:
    """Open stages whose current role is one of ``roles`` (None: any role), soonest first."""
    if roles is not None and not roles:
        return []
    q = select(Occurrence).where(
        Occurrence.org_id == org_id, Occurrence.status == OccStatus.OPEN.value
    )
    if roles is not None:
        q = q.where(Occurrence.current_role.in_(roles))
    if horizon_days is not None:
        q = q.where(
            Occurrence.current_due <= now.astimezone(ctx.tz).date() + timedelta(days=horizon_days)
        )
    rows = list(
        await session.scalars(
            q.order_by(Occurrence.current_due, Occurrence.code, Occurrence.period_key)
        )
    )
    titles = Catalogues(session, ctx, org_id)
    return [
        TaskLine(
            o.id,
            o.code,
            await titles.title(o),
            o.stage,
            o.current_due or o.due_date,
            o.kind,
            o.covered_key,
        )
        for o in rows
    ]


async def my_tasks(
    session: AsyncSession, ctx: AppContext, person: Person, now: datetime, *, everything: bool
) -> tuple[list[str], list[TaskLine]]:
    roles = await repo.roles_of(session, person.id, now)
    lines = await open_stages(
        session,
        ctx,
        person.org_id,
        roles,
        now,
        horizon_days=None if everything else TASK_HORIZON_DAYS,
    )
    return roles, lines


@dataclass
class ItemHistory:
    occurrences: list[Occurrence]
    events: dict[int, list[StageEvent]]


async def item_history(
    session: AsyncSession, org_id: int, code: str, fy: int, *, edition: str | None = None
) -> ItemHistory:
    """``code``'s occurrences in ``fy``; of ``edition``'s item only, when given (another
    edition's item with the same number has its own history)."""
    query = select(Occurrence).where(
        Occurrence.org_id == org_id, Occurrence.code == code, Occurrence.fiscal_year == fy
    )
    if edition is not None:
        query = query.join(CatalogueVersion, CatalogueVersion.id == Occurrence.catalogue_id).where(
            CatalogueVersion.edition == edition
        )
    occs = list(
        await session.scalars(query.order_by(Occurrence.period_start, Occurrence.period_key))
    )
    events: dict[int, list[StageEvent]] = defaultdict(list)
    if occs:
        rows = await session.scalars(
            select(StageEvent)
            .where(StageEvent.occurrence_id.in_([o.id for o in occs]))
            .order_by(StageEvent.at, StageEvent.id)
        )
        for ev in rows.unique():
            events[ev.occurrence_id].append(ev)
    return ItemHistory(occs, dict(events))


# -- the fiscal year at a glance ------------------------------------------------------------


@dataclass
class Counts:
    done: int = 0
    open: int = 0
    overdue: int = 0
    not_applicable: int = 0
    total: int = 0


@dataclass
class OverdueLine:
    occurrence: Occurrence
    title: str
    role: str
    holders: list[Person]
    days: int


@dataclass
class Summary:
    fy: int
    today: date
    total: int = 0
    done: int = 0
    in_progress: int = 0
    not_started: int = 0
    overdue: int = 0
    not_applicable: int = 0
    before_tracking: int = 0
    by_role: dict[str, Counts] = field(default_factory=dict)
    by_unit: dict[str, Counts] = field(default_factory=dict)
    by_item: dict[str, Counts] = field(default_factory=dict)
    overdue_list: list[OverdueLine] = field(default_factory=list)
    upcoming: list[TaskLine] = field(default_factory=list)
    published: list[Occurrence] = field(default_factory=list)

    @property
    def open(self) -> int:
        return self.in_progress + self.not_started

    @property
    def resolved(self) -> int:
        return self.done + self.not_applicable


def owner_role(occ: Occurrence) -> str | None:
    """The role an occurrence counts under: who holds it now, or (once closed) who prepared it."""
    return occ.current_role if occ.status == OccStatus.OPEN.value else occ.prepare_role


async def summarise(
    session: AsyncSession,
    ctx: AppContext,
    org_id: int,
    fy: int,
    now: datetime,
    *,
    upcoming_days: int = 14,
) -> Summary:
    today = now.astimezone(ctx.tz).date()
    occs = await _year_occurrences(session, org_id, fy)
    started = await _started(session, org_id)
    holders = await repo.holders_by_role(session, org_id, now)
    unit_of = await _unit_names(session, org_id)
    titles = Catalogues(session, ctx, org_id)
    s = Summary(fy=fy, today=today)
    horizon = today + timedelta(days=upcoming_days)
    for o in occs:
        s.total += 1
        role = owner_role(o) or "-"
        item = s.by_item.setdefault(o.code, Counts())
        buckets = (
            s.by_role.setdefault(role, Counts()),
            s.by_unit.setdefault(unit_of(role), Counts()),
            item,
        )
        if o.status == OccStatus.BEFORE_TRACKING.value:
            s.before_tracking += 1
            continue
        for b in buckets:
            b.total += 1
        if o.status in (OccStatus.DONE.value, OccStatus.NOT_APPLICABLE.value):
            _count_closed(s, o, buckets)
        else:
            await _count_open(
                s, o, buckets, o.id in started, titles, holders.get(role, []), role, horizon
            )
    s.overdue_list.sort(key=lambda x: (-x.days, x.occurrence.code))
    s.upcoming.sort(key=lambda t: (t.due, t.code))
    s.published.sort(key=lambda o: o.completed_at or now, reverse=True)
    return s


async def _year_occurrences(session: AsyncSession, org_id: int, fy: int) -> list[Occurrence]:
    """The office's occurrences of ``fy``, but the cancelled ones."""
    return list(
        await session.scalars(
            select(Occurrence).where(
                Occurrence.org_id == org_id,
                Occurrence.fiscal_year == fy,
                Occurrence.status != OccStatus.CANCELLED.value,
            )
        )
    )


async def _started(session: AsyncSession, org_id: int) -> set[int]:
    """The occurrences somebody acted on (a re-plan, a snooze or a withdrawal is no start)."""
    return set(
        await session.scalars(
            select(StageEvent.occurrence_id)
            .where(
                StageEvent.org_id == org_id,
                StageEvent.action.notin_((Action.RESCHEDULED, Action.SNOOZE, Action.WITHDRAWN)),
            )
            .distinct()
        )
    )


async def _unit_names(session: AsyncSession, org_id: int) -> Callable[[str], str]:
    """The name of the unit that holds a role in the office ("-": none)."""
    org_roles = await repo.org_roles(session, org_id)
    units = await repo.units(session, org_id)

    def unit_of(role: str) -> str:
        unit_id = org_roles[role].unit_id if role in org_roles else None
        return units[unit_id].name if unit_id in units else "-"

    return unit_of


def _count_closed(s: Summary, o: Occurrence, buckets: tuple[Counts, ...]) -> None:
    """A closed occurrence: done (published, when it has a URL) or not applicable."""
    if o.status == OccStatus.DONE.value:
        s.done += 1
        for b in buckets:
            b.done += 1
        if o.evidence_url:
            s.published.append(o)
    else:
        s.not_applicable += 1
        for b in buckets:
            b.not_applicable += 1


async def _count_open(
    s: Summary,
    o: Occurrence,
    buckets: tuple[Counts, ...],
    started: bool,
    titles: Catalogues,
    holders: list[Person],
    role: str,
    horizon: date,
) -> None:
    """An open occurrence: in progress or not started; overdue, or due within the horizon."""
    for b in buckets:
        b.open += 1
    if started or o.stage != _first_stage(o):
        s.in_progress += 1
    else:
        s.not_started += 1
    due = o.current_due or o.due_date
    if due < s.today:
        s.overdue += 1
        for b in buckets:
            b.overdue += 1
        title = await titles.title(o)
        s.overdue_list.append(OverdueLine(o, title, role, holders, (s.today - due).days))
    elif due <= horizon:
        title = await titles.title(o)
        s.upcoming.append(TaskLine(o.id, o.code, title, o.stage, due, o.kind, o.covered_key))


def _first_stage(o: Occurrence) -> str:
    return Stage.CONFIRM if o.kind == Kind.CONFIRM else Stage.PREPARE


async def changeable_items(
    session: AsyncSession, ctx: AppContext, person: Person, now: datetime, *, admin: bool
) -> list[tuple[str, str]]:
    """On-change items in whose chain ``person`` has a role (every one, for an admin)."""
    from bot.domain import FrequencyKind
    from bot.domain.fiscal import fiscal_year

    cat = await catalogue_for(
        session, ctx, person.org_id, fiscal_year(now.astimezone(ctx.tz).date())
    )
    if cat is None:
        return []
    roles = set(await repo.roles_of(session, person.id, now))
    return [
        (it.code, it.title)
        for it in sorted(cat.items, key=lambda i: i.number)
        if it.frequency.kind is FrequencyKind.ON_CHANGE
        and (admin or roles & set(it.stage_roles().values()))
    ]
