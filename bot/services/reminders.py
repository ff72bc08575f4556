"""The reminder tick: due reminder slots become one outbox message per person.

Each open stage keeps its next slot in ``occurrence.next_remind_at`` (indexed).  The
tick claims one office's due stages at a time with a conditional ``UPDATE … RETURNING``
inside the transaction that also writes the outbox rows, so two workers never remind
twice and a crash loses nothing.  After downtime a stage's missed slots are caught up
once: the claim moves ``next_remind_at`` to the first slot after *now*.
Reminders only leave in civil hours; outside them the tick leaves the slots for later.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import OccStatus, TaskLine
from bot.domain.fiscal import fiscal_year
from bot.fmt import Fmt
from bot.schedule.reminders import is_civil_hour, next_slot
from bot.services.audience import Recipient, head_audience
from bot.services.calendars import OfficeCalendar, office_calendar
from bot.services.context import AppContext
from bot.services.org import Catalogues
from bot.services.outbox import enqueue
from bot.services.tasklist import Part, render_reminders
from bot.store import repo
from bot.store.models import Occurrence, Organisation, Person, Role
from bot.textfit import split_lines


@dataclass
class TickStats:
    orgs: int = 0
    stages: int = 0
    messages: int = 0
    escalations: int = 0
    claim_seconds: list[float] = field(default_factory=list)


async def claim_due(session: AsyncSession, now: datetime) -> tuple[int | None, list[Occurrence]]:
    """Claim every due stage of one office: the conditional UPDATE takes them or finds none."""
    org_id = await session.scalar(
        select(Occurrence.org_id)
        .where(Occurrence.next_remind_at <= now)
        .order_by(Occurrence.next_remind_at)
        .limit(1)
    )
    if org_id is None:
        return None, []
    rows = await session.scalars(
        update(Occurrence)
        .where(Occurrence.org_id == org_id, Occurrence.next_remind_at <= now)
        .values(next_remind_at=None)
        .returning(Occurrence)
        .execution_options(synchronize_session=False)
    )
    return org_id, list(rows)


async def _remind_org(
    session: AsyncSession,
    ctx: AppContext,
    org_id: int,
    claimed: list[Occurrence],
    now: datetime,
    stats: TickStats,
) -> None:
    today = now.astimezone(ctx.tz).date()
    org = await session.get(Organisation, org_id)
    if org is None:
        return
    cals = await office_calendar(session, ctx, org_id)
    if not cals(fiscal_year(today)).is_working_day(today):
        await _postpone(session, ctx, claimed, cals, now)  # the office's own day off
        return
    titles = Catalogues(session, ctx, org_id)
    holders = await repo.holders_by_role(session, org_id, now)
    org_roles = await repo.org_roles(session, org_id)
    role_names = {r.key: r.name for r in await session.scalars(select(Role))}
    heads = await repo.head_keys(session)
    escalate: list[tuple[Occurrence, TaskLine]] = []
    by_person: dict[int, list[TaskLine]] = defaultdict(list)
    by_group: dict[str, list[TaskLine]] = defaultdict(list)
    unreachable: dict[str, list[TaskLine]] = defaultdict(list)
    people: dict[int, Person] = {}

    for occ in claimed:
        if occ.status != OccStatus.OPEN or occ.current_due is None or occ.current_role is None:
            continue
        cal = cals(occ.fiscal_year)
        stats.stages += 1
        moved_from = occ.due_moved_from  # told once, in this reminder
        await session.execute(
            update(Occurrence)
            .where(Occurrence.id == occ.id)
            .values(
                next_remind_at=next_slot(occ.current_due, now, cal, ctx.policy, ctx.tz).at,
                last_reminded_at=now,
                due_moved_from=None,
            )
        )
        line = TaskLine(
            occ.id,
            occ.code,
            await titles.title(occ),
            occ.stage,
            occ.current_due,
            occ.kind,
            occ.covered_key,
            moved_from=moved_from,
        )
        reachable = [p for p in holders.get(occ.current_role, []) if p.reachable]
        for p in reachable:
            by_person[p.id].append(line)
            people[p.id] = p
        group = org_roles.get(occ.current_role)
        if group is not None and group.group_chat_id is not None:
            by_group[occ.current_role].append(line)
        if not reachable and (group is None or group.group_chat_id is None):
            unreachable[occ.current_role].append(line)
        overdue = cal.between(occ.current_due, today) if today > occ.current_due else 0
        if occ.escalated_at is None and overdue >= ctx.policy.escalate_after:
            await session.execute(
                update(Occurrence).where(Occurrence.id == occ.id).values(escalated_at=now)
            )
            escalate.append((occ, line))

    slot = f"{today.isoformat()}"
    for pid, lines in by_person.items():
        p = people[pid]
        stats.messages += await _enqueue_parts(
            session,
            render_reminders(Fmt.of(ctx.settings, p.language), lines, today),
            org_id=org_id,
            person_id=pid,
            chat_id=p.chat_id or 0,
            dedupe_key=f"remind:{pid}:{slot}",
            now=now,
        )
    for role_key, lines in by_group.items():
        fmt = Fmt.of(ctx.settings)
        header = fmt.t(
            "rem.group_header", role=role_names.get(role_key, role_key), date=fmt.date(today)
        )
        stats.messages += await _enqueue_parts(
            session,
            render_reminders(fmt, lines, today, header=header),
            org_id=org_id,
            person_id=None,
            chat_id=org_roles[role_key].group_chat_id or 0,
            dedupe_key=f"remind-group:{org_id}:{role_key}:{slot}",
            now=now,
        )

    audience = head_audience(heads, holders, org_roles, ctx.settings.default_language)
    if escalate:
        stats.escalations += len(escalate)
        for r in audience:
            fmt = Fmt.of(ctx.settings, r.lang)
            lines_text = []
            for occ, ln in escalate:
                names = ", ".join(p.name for p in holders.get(occ.current_role or "", [])) or fmt.t(
                    "esc.nobody"
                )
                lines_text.append(
                    fmt.t(
                        "esc.line",
                        code=ln.code,
                        title=ln.title,
                        stage=fmt.stage(ln.stage),
                        role=role_names.get(occ.current_role or "", occ.current_role),
                        holders=names,
                        overdue=fmt.num(cals(occ.fiscal_year).between(ln.due, today)),
                    )
                )
            parts = split_lines(
                lines_text,
                head=fmt.t("esc.header", n=fmt.num(ctx.policy.escalate_after), date=fmt.date(today))
                + "\n",
            )
            for k, text in enumerate(parts):
                if await enqueue(
                    session,
                    org_id=org_id,
                    person_id=r.person_id,
                    chat_id=r.chat_id,
                    kind="escalation",
                    dedupe_key=f"escalate:{org_id}:{r.chat_id}:{slot}" + (f":{k}" if k else ""),
                    text=text,
                    items=[o.id for o, _ in escalate],
                    now=now,
                ):
                    stats.messages += 1
    if unreachable:
        await notify_unreachable(session, ctx, org, unreachable, holders, role_names, audience, now)


async def _enqueue_parts(
    session: AsyncSession,
    parts: list[Part],
    *,
    org_id: int,
    person_id: int | None,
    chat_id: int,
    dedupe_key: str,
    now: datetime,
) -> int:
    """A reminder in as many messages as it needs; each remembers the items it lists (so a
    reply to it means them).  The first keeps the plain dedupe key."""
    queued = 0
    for k, part in enumerate(parts):
        if await enqueue(
            session,
            org_id=org_id,
            person_id=person_id,
            chat_id=chat_id,
            kind="reminder",
            dedupe_key=dedupe_key + (f":{k}" if k else ""),
            text=part.text,
            reply_markup=part.markup,
            items=part.items,
            now=now,
        ):
            queued += 1
    return queued


async def _postpone(
    session: AsyncSession,
    ctx: AppContext,
    claimed: list[Occurrence],
    cals: OfficeCalendar,
    now: datetime,
) -> None:
    """Claimed on a day the office is closed: each stage waits for its next slot."""
    for occ in claimed:
        if occ.status != OccStatus.OPEN or occ.current_due is None:
            continue
        at = next_slot(occ.current_due, now, cals(occ.fiscal_year), ctx.policy, ctx.tz).at
        await session.execute(
            update(Occurrence).where(Occurrence.id == occ.id).values(next_remind_at=at)
        )


async def notify_unreachable(
    session: AsyncSession,
    ctx: AppContext,
    org: Organisation,
    unreachable: dict[str, list[TaskLine]],
    holders: dict[str, list[Person]],
    role_names: dict[str, str],
    audience: list[Recipient],
    now: datetime,
) -> None:
    """Tell the head, once a day, which roles have open work and nobody to receive it."""
    today = now.astimezone(ctx.tz).date()
    for r in audience:
        fmt = Fmt.of(ctx.settings, r.lang)
        lines = []
        for role_key, items in sorted(unreachable.items()):
            reason = "unreach.reason.inactive" if holders.get(role_key) else "unreach.reason.none"
            lines.append(
                fmt.t(
                    "unreach.role",
                    role=role_names.get(role_key, role_key),
                    reason=fmt.t(reason),
                    n=fmt.num(len(items)),
                )
            )
        text = "\n".join(
            [fmt.t("unreach.header", date=fmt.date(today)), "", *lines, "", fmt.t("unreach.hint")]
        )
        await enqueue(
            session,
            org_id=org.id,
            person_id=r.person_id,
            chat_id=r.chat_id,
            kind="unreachable",
            dedupe_key=f"unreachable:{org.id}:{r.chat_id}:{today.isoformat()}",
            text=text,
            now=now,
        )


async def remind(
    ctx: AppContext,
    now: datetime,
    *,
    max_orgs: int | None = None,
    budget_seconds: float | None = None,
) -> TickStats:
    """Turn due reminder slots into outbox rows, one office per transaction — all of them,
    or as many as ``max_orgs`` / ``budget_seconds`` allow (the rest wait for the next tick,
    so a national wave does not hold up delivery of the first offices' messages)."""
    stats = TickStats()
    if not is_civil_hour(now, ctx.policy, ctx.tz):  # each office's days off: _remind_org
        return stats
    deadline = ctx.clock.monotonic() + budget_seconds if budget_seconds is not None else None
    while max_orgs is None or stats.orgs < max_orgs:
        if deadline is not None and ctx.clock.monotonic() >= deadline:
            break
        async with ctx.db.transaction() as session:
            t0 = time.perf_counter()
            org_id, claimed = await claim_due(session, now)
            stats.claim_seconds.append(time.perf_counter() - t0)
            if org_id is None:
                break
            await _remind_org(session, ctx, org_id, claimed, now, stats)
        stats.orgs += 1
    return stats
