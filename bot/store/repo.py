"""Queries shared by the services.  Functions take a session; none of them commits."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import RoleKind
from bot.store.models import (
    CatalogueVersion,
    Occurrence,
    Organisation,
    OrgCatalogue,
    OrgRole,
    Outbox,
    Person,
    Role,
    RoleAssignment,
    Unit,
)


async def default_org(session: AsyncSession) -> Organisation | None:
    return await session.scalar(
        select(Organisation).order_by(Organisation.is_default.desc(), Organisation.id).limit(1)
    )


async def person_by_telegram(session: AsyncSession, telegram_user_id: int) -> Person | None:
    return await session.scalar(select(Person).where(Person.telegram_user_id == telegram_user_id))


def _current(now: datetime):  # type: ignore[no-untyped-def]
    return (
        RoleAssignment.valid_from <= now,
        or_(RoleAssignment.valid_to.is_(None), RoleAssignment.valid_to > now),
    )


async def holders(session: AsyncSession, org_id: int, role_key: str, now: datetime) -> list[Person]:
    """People holding ``role_key`` now (active or not)."""
    rows = await session.scalars(
        select(Person)
        .join(RoleAssignment, RoleAssignment.person_id == Person.id)
        .where(RoleAssignment.org_id == org_id, RoleAssignment.role_key == role_key, *_current(now))
        .order_by(Person.id)
    )
    return list(rows.unique())


async def holders_by_role(
    session: AsyncSession, org_id: int, now: datetime
) -> dict[str, list[Person]]:
    rows = await session.execute(
        select(RoleAssignment.role_key, Person)
        .join(Person, RoleAssignment.person_id == Person.id)
        .where(RoleAssignment.org_id == org_id, *_current(now))
        .order_by(Person.id)
    )
    out: dict[str, list[Person]] = defaultdict(list)
    for key, person in rows:
        if person not in out[key]:
            out[key].append(person)
    return dict(out)


async def holders_by_role_in(
    session: AsyncSession, org_ids: Sequence[int], now: datetime
) -> dict[int, dict[str, list[Person]]]:
    """:func:`holders_by_role` of several offices in one query: office → role → people."""
    rows = await session.execute(
        select(RoleAssignment.org_id, RoleAssignment.role_key, Person)
        .join(Person, RoleAssignment.person_id == Person.id)
        .where(RoleAssignment.org_id.in_(org_ids), *_current(now))
        .order_by(Person.id)
    )
    out: dict[int, dict[str, list[Person]]] = {org_id: {} for org_id in org_ids}
    for org_id, key, person in rows:
        people = out[org_id].setdefault(key, [])
        if person not in people:
            people.append(person)
    return out


async def group_links_in(
    session: AsyncSession, org_ids: Sequence[int]
) -> dict[int, dict[str, OrgRole]]:
    """The roles of several offices that have a group chat linked, in one query (what a
    reminder or the head's audience needs of :func:`org_roles`)."""
    out: dict[int, dict[str, OrgRole]] = {org_id: {} for org_id in org_ids}
    q = select(OrgRole).where(OrgRole.org_id.in_(org_ids), OrgRole.group_chat_id.is_not(None))
    for r in await session.scalars(q):
        out[r.org_id][r.role_key] = r
    return out


async def roles_of(session: AsyncSession, person_id: int, now: datetime) -> list[str]:
    rows = await session.scalars(
        select(RoleAssignment.role_key).where(RoleAssignment.person_id == person_id, *_current(now))
    )
    return sorted(set(rows))


async def org_roles(session: AsyncSession, org_id: int) -> dict[str, OrgRole]:
    rows = await session.scalars(select(OrgRole).where(OrgRole.org_id == org_id))
    return {r.role_key: r for r in rows}


async def units(session: AsyncSession, org_id: int) -> dict[int, Unit]:
    rows = await session.scalars(select(Unit).where(Unit.org_id == org_id))
    return {u.id: u for u in rows}


async def adopted_catalogue(session: AsyncSession, org_id: int, fy: int) -> CatalogueVersion | None:
    return await session.scalar(
        select(CatalogueVersion)
        .join(OrgCatalogue, OrgCatalogue.catalogue_id == CatalogueVersion.id)
        .where(OrgCatalogue.org_id == org_id, OrgCatalogue.fiscal_year == fy)
    )


async def people(session: AsyncSession, org_id: int) -> Sequence[Person]:
    rows = await session.scalars(select(Person).where(Person.org_id == org_id).order_by(Person.id))
    return rows.all()


async def role_names(session: AsyncSession, keys: list[str]) -> list[str]:
    """Thai display names of role keys, in the given order."""
    names = {r.key: r.name for r in await session.scalars(select(Role).where(Role.key.in_(keys)))}
    return [names.get(k, k) for k in keys]


async def message_items(session: AsyncSession, chat_id: int, message_id: int) -> list[int] | None:
    """The occurrences a message we sent (a reminder, a notice) was about, if it was one."""
    items = await session.scalar(
        select(Outbox.items).where(
            Outbox.chat_id == chat_id, Outbox.telegram_message_id == message_id
        )
    )
    return [int(i) for i in items] if items else None


async def codes_of(session: AsyncSession, occurrence_ids: list[int]) -> list[str]:
    return sorted(
        set(await session.scalars(select(Occurrence.code).where(Occurrence.id.in_(occurrence_ids))))
    )


def head_roles() -> Select[str]:
    """The one definition of a head: a holder of a role of kind ``head`` (who receives the
    digests and the reports)."""
    return select(Role.key).where(Role.kind == RoleKind.HEAD)


async def head_keys(session: AsyncSession) -> list[str]:
    return list(await session.scalars(head_roles()))


async def people_with_own_menu(session: AsyncSession, admin_telegram_ids: list[int]) -> list[int]:
    """Active people whose command menu differs from the default: heads, admins, English readers."""
    holders = select(RoleAssignment.person_id).where(
        RoleAssignment.role_key.in_(head_roles()), RoleAssignment.valid_to.is_(None)
    )
    rows = await session.scalars(
        select(Person.id).where(
            Person.active.is_(True),
            Person.chat_id.is_not(None),
            or_(
                Person.is_admin.is_(True),
                Person.telegram_user_id.in_(admin_telegram_ids),
                Person.language != "th",
                Person.id.in_(holders),
            ),
        )
    )
    return list(rows)
