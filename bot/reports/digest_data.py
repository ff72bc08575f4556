"""What the weekly digest reads: progress, what changed since the last one, who cannot be reached."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.enums import QUIET
from bot.domain.fiscal import fiscal_year
from bot.reports.readiness import Readiness, readiness
from bot.reports.view import NO_ROLE, WEEKLY, OrgView, org_view
from bot.services.audience import Recipient
from bot.services.context import AppContext
from bot.services.links import RepairLine, links_to_repair
from bot.services.org import catalogue_for, current_catalogue
from bot.services.views import Summary, summarise
from bot.store.models import (
    DigestLog,
    Occurrence,
    Person,
    StageEvent,
)

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
    repair: list[RepairLine]
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
        repair=await links_to_repair(session, org_id),
        recipients=view.recipients(ctx.settings.default_language),
        tz=ctx.tz,
        upcoming_days=ctx.settings.upcoming_days,
    )
