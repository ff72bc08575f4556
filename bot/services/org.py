"""Offices, their units and roles, and the catalogue each adopts per fiscal year."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.catalogue.schema import Catalogue
from bot.schedule.fiscal import fiscal_year
from bot.services.context import AppContext
from bot.store import repo
from bot.store.models import CatalogueVersion, Organisation, OrgCatalogue, OrgRole, Role, Unit

UNITS_FILE = Path(__file__).resolve().parents[2] / "data" / "units.yaml"


class OrgError(ValueError):
    pass


async def upsert_roles(session: AsyncSession, catalogue: Catalogue) -> None:
    existing = {r.key: r for r in await session.scalars(select(Role))}
    for r in catalogue.roles:
        row = existing.get(r.key)
        if row is None:
            session.add(Role(key=r.key, name=r.name, short=r.short, kind=r.kind))
        else:
            row.name, row.short, row.kind = r.name, r.short, r.kind
    await session.flush()


async def store_catalogue(
    session: AsyncSession, ctx: AppContext, now: datetime
) -> tuple[CatalogueVersion, Catalogue]:
    """The configured catalogue as a stored version (added once per distinct content)."""
    text, sha = ctx.configured_catalogue_text()
    cat = ctx.catalogue_from_text(sha, text)
    row = await session.scalar(select(CatalogueVersion).where(CatalogueVersion.sha256 == sha))
    if row is None:
        row = CatalogueVersion(edition=cat.edition, sha256=sha, content=text, created_at=now)
        session.add(row)
        await session.flush()
    await upsert_roles(session, cat)
    return row, cat


async def adopt(
    session: AsyncSession, org_id: int, fy: int, version: CatalogueVersion, now: datetime
) -> bool:
    """Adopt ``version`` for ``fy``; True if that changed anything."""
    current = await session.get(OrgCatalogue, (org_id, fy))
    if current is None:
        session.add(
            OrgCatalogue(org_id=org_id, fiscal_year=fy, catalogue_id=version.id, adopted_at=now)
        )
        return True
    if current.catalogue_id != version.id:
        current.catalogue_id = version.id
        current.adopted_at = now
        return True
    return False


async def catalogue_for(
    session: AsyncSession, ctx: AppContext, org_id: int, fy: int
) -> Catalogue | None:
    row = await repo.adopted_catalogue(session, org_id, fy)
    return None if row is None else ctx.catalogue_from_text(row.sha256, row.content)


async def current_catalogue(session: AsyncSession, ctx: AppContext, org_id: int) -> Catalogue:
    """The catalogue of the current fiscal year (or the configured one if none is adopted yet)."""
    fy = fiscal_year(ctx.today())
    cat = await catalogue_for(session, ctx, org_id, fy)
    if cat is None:
        text, sha = ctx.configured_catalogue_text()
        cat = ctx.catalogue_from_text(sha, text)
    return cat


def _default_units() -> list[dict[str, object]]:
    data = yaml.safe_load(UNITS_FILE.read_text(encoding="utf-8"))
    units: list[dict[str, object]] = data["units"]
    return units


async def init_org(
    session: AsyncSession,
    ctx: AppContext,
    name: str,
    now: datetime,
    *,
    tracking_since: datetime | None = None,
) -> Organisation:
    """Create an office (the default one if it is the first), its units, and adopt the catalogue."""
    if not name.strip():
        raise OrgError("the office needs a name")
    if len(name.strip()) > 200:
        raise OrgError("an office's name is at most 200 characters")
    first = await repo.default_org(session) is None
    org = Organisation(
        name=name.strip(),
        is_default=first,
        tracking_since=tracking_since or now,
        include_before_tracking=False,
        created_at=now,
    )
    session.add(org)
    await session.flush()
    version, cat = await store_catalogue(session, ctx, now)
    role_unit: dict[str, int] = {}
    for u in _default_units():
        unit = Unit(org_id=org.id, key=str(u["key"]), name=str(u["name"]))
        session.add(unit)
        await session.flush()
        for key in u.get("roles", []) or []:  # type: ignore[attr-defined]
            role_unit[str(key)] = unit.id
    for r in cat.roles:
        session.add(OrgRole(org_id=org.id, role_key=r.key, unit_id=role_unit.get(r.key)))
    fy = fiscal_year(now.astimezone(ctx.tz).date())
    for y in (fy, fy + 1):
        await adopt(session, org.id, y, version, now)
    await session.flush()
    return org


async def get_org(session: AsyncSession, org_id: int | None = None) -> Organisation:
    org = await (session.get(Organisation, org_id) if org_id else repo.default_org(session))
    if org is None:
        raise OrgError("no office yet: run `python -m bot org init --name NAME` first")
    return org


async def include_before_tracking(
    session: AsyncSession, ctx: AppContext, org: Organisation, now: datetime
) -> int:
    """The admin's choice: track what fell due before tracking began (it becomes overdue work)."""
    from sqlalchemy import update

    from bot.schedule.reminders import next_slot
    from bot.store.models import OccStatus, Occurrence

    org.include_before_tracking = True
    rows = list(
        await session.scalars(
            select(Occurrence).where(
                Occurrence.org_id == org.id, Occurrence.status == OccStatus.BEFORE_TRACKING.value
            )
        )
    )
    for occ in rows:
        due = occ.current_due or occ.due_date
        cal = ctx.calendar(occ.fiscal_year)
        await session.execute(
            update(Occurrence)
            .where(Occurrence.id == occ.id)
            .values(
                status=OccStatus.OPEN.value,
                next_remind_at=next_slot(due, now, cal, ctx.policy, ctx.tz).at,
                updated_at=now,
            )
        )
    return len(rows)


class GroupTaken(OrgError):
    """The group chat already serves another office."""


async def link_group(session: AsyncSession, org_id: int, role_key: str, chat_id: int) -> None:
    """The role's reminders go to this group chat too.  A group serves one office: a group
    linked to another office's role is refused (its members would see this office's work)."""
    other = await session.scalar(
        select(OrgRole.org_id).where(OrgRole.group_chat_id == chat_id, OrgRole.org_id != org_id)
    )
    if other is not None:
        raise GroupTaken("that group is linked to another office")
    row = await session.get(OrgRole, (org_id, role_key))
    if row is None:
        session.add(OrgRole(org_id=org_id, role_key=role_key, group_chat_id=chat_id))
    else:
        row.group_chat_id = chat_id
