"""Offices, their units and roles, and the catalogue each adopts per fiscal year."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import yaml
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.catalogue.loader import dump_catalogue
from bot.catalogue.schema import Catalogue, Measure
from bot.domain.fiscal import fiscal_year
from bot.services.context import AppContext
from bot.shipped import data_file
from bot.store import repo
from bot.store.models import (
    CatalogueVersion,
    Occurrence,
    Organisation,
    OrgCatalogue,
    OrgRole,
    Role,
    Unit,
)

UNITS_FILE = data_file("units.yaml")


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


def compose(shared: Catalogue, measures: Sequence[Measure]) -> Catalogue:
    """An edition's shared OIT list (items and roles) with one office's own measures."""
    data = shared.model_dump(mode="json")
    data["measures"] = [m.model_dump(mode="json") for m in measures]
    try:
        return Catalogue.model_validate(data)
    except ValidationError as exc:
        msg = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        raise OrgError(f"the office's measures do not fit {shared.edition}: {msg}") from None


async def store_version(session: AsyncSession, cat: Catalogue, now: datetime) -> CatalogueVersion:
    """``cat`` as a stored version, its canonical YAML added once per distinct content."""
    text = dump_catalogue(cat)
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    row = await session.scalar(select(CatalogueVersion).where(CatalogueVersion.sha256 == sha))
    if row is None:
        row = CatalogueVersion(edition=cat.edition, sha256=sha, content=text, created_at=now)
        session.add(row)
        await session.flush()
    await upsert_roles(session, cat)
    return row


def configured_catalogue(ctx: AppContext) -> Catalogue:
    text, sha = ctx.configured_catalogue_text()
    return ctx.catalogue_from_text(sha, text)


async def store_catalogue(
    session: AsyncSession, ctx: AppContext, now: datetime
) -> tuple[CatalogueVersion, Catalogue]:
    """The configured catalogue, as it is (with its measures), as a stored version."""
    cat = configured_catalogue(ctx)
    return await store_version(session, cat, now), cat


async def adopt(
    session: AsyncSession, org_id: int, fy: int, version_id: int, now: datetime
) -> bool:
    """Adopt catalogue version ``version_id`` for ``fy``; True if that changed anything."""
    current = await session.get(OrgCatalogue, (org_id, fy))
    if current is None:
        session.add(
            OrgCatalogue(org_id=org_id, fiscal_year=fy, catalogue_id=version_id, adopted_at=now)
        )
        return True
    if current.catalogue_id != version_id:
        current.catalogue_id = version_id
        current.adopted_at = now
        return True
    return False


async def catalogue_for(
    session: AsyncSession, ctx: AppContext, org_id: int, fy: int
) -> Catalogue | None:
    row = await repo.adopted_catalogue(session, org_id, fy)
    return None if row is None else ctx.catalogue_from_text(row.sha256, row.content)


async def catalogue_by_id(
    session: AsyncSession, ctx: AppContext, catalogue_id: int
) -> Catalogue | None:
    """A stored version (the one an occurrence's item belongs to)."""
    row = await session.get(CatalogueVersion, catalogue_id)
    return None if row is None else ctx.catalogue_from_text(row.sha256, row.content)


class Catalogues:
    """The catalogues one unit of work reads, each parsed once: an occurrence's own (its
    item's edition, which names its title) and an office's of a fiscal year."""

    def __init__(self, session: AsyncSession, ctx: AppContext, org_id: int | None = None) -> None:
        self.session, self.ctx, self.org_id = session, ctx, org_id
        self._versions: dict[int, Catalogue | None] = {}
        self._years: dict[int, Catalogue] = {}

    async def version(self, catalogue_id: int) -> Catalogue | None:
        if catalogue_id not in self._versions:
            self._versions[catalogue_id] = await catalogue_by_id(
                self.session, self.ctx, catalogue_id
            )
        return self._versions[catalogue_id]

    async def title(self, occ: Occurrence) -> str:
        """The title in the occurrence's own catalogue (its item's edition)."""
        cat = await self.version(occ.catalogue_id)
        return cat.title_of(occ.code) if cat else occ.code

    async def of_year(self, fy: int) -> Catalogue:
        """The office's catalogue of ``fy`` (its current one if it adopted none for it)."""
        assert self.org_id is not None, "a fiscal year's catalogue is an office's"
        if fy not in self._years:
            cat = await catalogue_for(self.session, self.ctx, self.org_id, fy)
            if cat is None:
                cat = await current_catalogue(self.session, self.ctx, self.org_id)
            self._years[fy] = cat
        return self._years[fy]

    async def of(self, occ: Occurrence) -> Catalogue:
        """The occurrence's own catalogue, else its fiscal year's."""
        return await self.version(occ.catalogue_id) or await self.of_year(occ.fiscal_year)


async def office_measures(
    session: AsyncSession, ctx: AppContext, org_id: int, fy: int
) -> tuple[Measure, ...]:
    """The office's own measures for ``fy``: those it adopted for it, else its latest before."""
    row = await session.scalar(
        select(CatalogueVersion)
        .join(OrgCatalogue, OrgCatalogue.catalogue_id == CatalogueVersion.id)
        .where(OrgCatalogue.org_id == org_id, OrgCatalogue.fiscal_year <= fy)
        .order_by(OrgCatalogue.fiscal_year.desc())
        .limit(1)
    )
    if row is None:
        return ()
    return ctx.catalogue_from_text(row.sha256, row.content).measures


_OFFICE_PREFIXES = {
    "อบต.": "องค์การบริหารส่วนตำบล",
    "อบจ.": "องค์การบริหารส่วนจังหวัด",
    "ทต.": "เทศบาลตำบล",
    "ทม.": "เทศบาลเมือง",
    "ทน.": "เทศบาลนคร",
}


def same_office(name: str, organisation: str | None) -> bool:
    """Whether an office's name is the catalogue's ``organisation`` (อบต.X = องค์การบริหารส่วนตำบลX)."""

    def key(text: str) -> str:
        text = "".join(text.split())
        for short, full in _OFFICE_PREFIXES.items():
            if text.startswith(short):
                return full + text[len(short) :]
        return text

    return organisation is not None and key(name) == key(organisation)


@dataclass(frozen=True)
class Adoption:
    version: CatalogueVersion
    catalogue: Catalogue
    previous: CatalogueVersion | None  # what the year followed before
    changed: bool


async def adopt_edition(
    session: AsyncSession,
    ctx: AppContext,
    org: Organisation,
    fy: int,
    shared: Catalogue,
    now: datetime,
    *,
    measures: Sequence[Measure] | None = None,
) -> Adoption:
    """The office follows ``shared``'s edition in ``fy``, with its own measures: ``measures``,
    else those ``shared`` brings if it is this office's catalogue (its ``organisation``),
    else the ones the office already had for that year."""
    if measures is None:
        if shared.measures and same_office(org.name, shared.organisation):
            measures = shared.measures
        else:
            measures = await office_measures(session, ctx, org.id, fy)
    cat = compose(shared, measures)
    previous = await repo.adopted_catalogue(session, org.id, fy)
    version = await store_version(session, cat, now)
    changed = await adopt(session, org.id, fy, version.id, now)
    return Adoption(version, cat, previous, changed)


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
    measures: Sequence[Measure] | None = None,
) -> Organisation:
    """Create an office (the default one if it is the first), its units, and adopt the
    configured catalogue for this fiscal year and the next.

    An office's measures are its own: ``measures``, else the configured catalogue's if
    it is this office's (its ``organisation``), else none."""
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
    shared = configured_catalogue(ctx)
    if measures is None:
        measures = shared.measures if same_office(org.name, shared.organisation) else ()
    cat = compose(shared, measures)
    version = await store_version(session, cat, now)
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
        await adopt(session, org.id, y, version.id, now)
    await session.flush()
    return org


async def list_orgs(session: AsyncSession) -> list[tuple[Organisation, int]]:
    """Every office, the default first, with the number of people on its roster."""
    from sqlalchemy import func

    from bot.store.models import Person

    people = select(Person.org_id, func.count().label("n")).group_by(Person.org_id).subquery()
    rows = await session.execute(
        select(Organisation, func.coalesce(people.c.n, 0))
        .outerjoin(people, people.c.org_id == Organisation.id)
        .order_by(Organisation.is_default.desc(), Organisation.id)
    )
    return [(org, int(n)) for org, n in rows]


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

    from bot.domain import OccStatus
    from bot.schedule.reminders import next_slot
    from bot.store.models import Occurrence

    org.include_before_tracking = True
    rows = list(
        await session.scalars(
            select(Occurrence).where(
                Occurrence.org_id == org.id, Occurrence.status == OccStatus.BEFORE_TRACKING.value
            )
        )
    )
    from bot.services.calendars import office_calendar

    cals = await office_calendar(session, ctx, org.id)
    for occ in rows:
        due = occ.current_due or occ.due_date
        cal = cals(occ.fiscal_year)
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
