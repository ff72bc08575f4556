"""The roster: people, the roles they hold, and staff turnover."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.catalogue.schema import Catalogue
from bot.catalogue.schema import Role as RoleSpec
from bot.services.access import Scope
from bot.store import repo
from bot.store.models import Organisation, Person, RoleAssignment

MAX_NAME_LENGTH = 200  # Telegram's own names are at most 64 + 64 characters


class RosterError(ValueError):
    pass


def resolve_role(catalogue: Catalogue, text: str) -> RoleSpec:
    role = catalogue.find_role(text)
    if role is None:
        known = ", ".join(f"{r.key} ({r.short or r.name})" for r in catalogue.roles)
        raise RosterError(f"unknown role {text!r}; known roles: {known}")
    return role


async def add_person(
    session: AsyncSession,
    org: Organisation,
    *,
    name: str,
    now: datetime,
    telegram_id: int | None = None,
    role_key: str | None = None,
    language: str = "th",
    is_admin: bool = False,
) -> Person:
    if not name.strip():
        raise RosterError("a person needs a name")
    if len(name.strip()) > MAX_NAME_LENGTH:
        raise RosterError(f"a name is at most {MAX_NAME_LENGTH} characters")
    if telegram_id is not None and await repo.person_by_telegram(session, telegram_id) is not None:
        raise RosterError(f"Telegram id {telegram_id} is already registered")
    person = Person(
        org_id=org.id,
        telegram_user_id=telegram_id,
        chat_id=telegram_id,
        name=name.strip(),
        language=language,
        active=True,
        is_admin=is_admin,
        created_at=now,
        updated_at=now,
    )
    session.add(person)
    await session.flush()
    if role_key:
        await assign_role(session, org, person, role_key, now)
    return person


async def assign_role(
    session: AsyncSession,
    org: Organisation,
    person: Person,
    role_key: str,
    now: datetime,
    *,
    replace: bool = False,
) -> RoleAssignment:
    """Give ``person`` the role.  ``replace`` ends everyone else's hold on it (turnover):
    the role's open stages then reach the new holder, because reminders follow the role."""
    if person.org_id != org.id:
        raise RosterError("that person belongs to another office")
    if replace:
        await session.execute(
            update(RoleAssignment)
            .where(
                RoleAssignment.org_id == org.id,
                RoleAssignment.role_key == role_key,
                RoleAssignment.person_id != person.id,
                RoleAssignment.valid_to.is_(None),
            )
            .values(valid_to=now)
        )
    existing = await session.scalar(
        select(RoleAssignment).where(
            RoleAssignment.org_id == org.id,
            RoleAssignment.role_key == role_key,
            RoleAssignment.person_id == person.id,
            RoleAssignment.valid_to.is_(None),
        )
    )
    if existing is not None:
        return existing
    ra = RoleAssignment(
        org_id=org.id, role_key=role_key, person_id=person.id, valid_from=now, valid_to=None
    )
    session.add(ra)
    await session.flush()
    return ra


async def unassign_role(session: AsyncSession, person: Person, role_key: str, now: datetime) -> int:
    res = await session.execute(
        update(RoleAssignment)
        .where(
            RoleAssignment.person_id == person.id,
            RoleAssignment.role_key == role_key,
            RoleAssignment.valid_to.is_(None),
        )
        .values(valid_to=now)
    )
    return int(res.rowcount)  # type: ignore[attr-defined]


ADMIN_DEACTIVATED = "admin:"


async def deactivate(session: AsyncSession, person: Person, now: datetime, reason: str) -> None:
    person.active = False
    person.inactive_reason = (
        reason if reason.startswith(ADMIN_DEACTIVATED) else f"{ADMIN_DEACTIVATED} {reason}"
    )[:200]
    person.deactivated_at = now
    person.updated_at = now


@dataclass(frozen=True)
class RosterLine:
    person: Person
    roles: list[str]


async def roster(session: AsyncSession, org: Organisation, now: datetime) -> list[RosterLine]:
    by_role = await repo.holders_by_role(session, org.id, now)
    roles_of: dict[int, list[str]] = {}
    for key, people in by_role.items():
        for p in people:
            roles_of.setdefault(p.id, []).append(key)
    return [
        RosterLine(p, sorted(roles_of.get(p.id, []))) for p in await repo.people(session, org.id)
    ]


async def find_person(session: AsyncSession, org: Organisation, ref: str) -> Person:
    """A person by database id (``#12`` or ``12``), Telegram id, or exact name."""
    text = ref.strip().lstrip("#")
    if text.isdigit():
        value = int(text)
        p = await session.get(Person, value)
        if p is not None and p.org_id == org.id:
            return p
        p = await repo.person_by_telegram(session, value)
        if p is not None and p.org_id == org.id:
            return p
    rows = list(
        await session.scalars(
            select(Person).where(Person.org_id == org.id, Person.name == ref.strip())
        )
    )
    if len(rows) == 1:
        return rows[0]
    if len(rows) > 1:
        raise RosterError(f"more than one person is called {ref!r}; use their id")
    raise RosterError(f"no such person: {ref!r}")


async def invite_candidates(session: AsyncSession, org_id: int) -> list[Person]:
    """Who a personal invite can be for: roster people who have not opened Telegram yet,
    and people an admin deactivated (a personal invite made now lets them back in)."""
    return [
        p
        for p in await repo.people(session, org_id)
        if (p.telegram_user_id is None and p.active) or deactivated_by_admin(p)
    ]


def deactivated_by_admin(person: Person) -> bool:
    return not person.active and (person.inactive_reason or "").startswith(ADMIN_DEACTIVATED)


async def active_people(
    session: AsyncSession, org_id: int, *, besides: int | None = None
) -> list[Person]:
    return [p for p in await repo.people(session, org_id) if p.active and p.id != besides]


async def _colleague(session: AsyncSession, scope: Scope, person_id: int) -> Person:
    person = await scope.colleague(session, person_id)
    if person is None:
        raise RosterError("no such person in this office")
    return person


async def hand_over(
    session: AsyncSession, scope: Scope, role_key: str, person_id: int, now: datetime
) -> Person:
    """Staff turnover by an admin: ``role_key`` now belongs to that person alone (in the
    person's office, which the admin must administer)."""
    target = await _colleague(session, scope, person_id)
    org = await session.get(Organisation, target.org_id)
    if org is None or not target.active:
        raise RosterError("that person cannot take a role")
    await assign_role(session, org, target, role_key, now, replace=True)
    return target


async def deactivate_colleague(
    session: AsyncSession, scope: Scope, person_id: int, now: datetime
) -> Person:
    target = await _colleague(session, scope, person_id)
    if target.id == scope.person.id:
        raise RosterError("self")
    await deactivate(session, target, now, f"deactivated by {scope.person.name}")
    return target
