"""Who may act where: each office's records are its own.

Two kinds of admin, kept apart on purpose:

* an **office admin** (``Person.is_admin``: made by an admin invite link or
  ``python -m bot people add --admin``) administers *their own office only*;
* a **deployment admin** (their Telegram id is in ``ADMIN_TELEGRAM_IDS``) administers
  every office of the deployment.  The setting is the only way to become one, and taking
  the id out of it takes the rights away (nothing is copied into the database).

Callback data and command arguments only *name* records.  Every record named by id is
looked up through a :class:`Scope`, which returns it only when it belongs to an office
the actor may touch: their own, or any office for a deployment admin.  A record of
another office is simply "not found" — the reply says nothing about it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.context import AppContext
from bot.store import repo
from bot.store.models import Occurrence, Person


def is_deployment_admin(ctx: AppContext, person: Person) -> bool:
    """Named in ``ADMIN_TELEGRAM_IDS``: an admin of every office."""
    return (
        person.telegram_user_id is not None
        and person.telegram_user_id in ctx.settings.admin_telegram_ids
    )


def is_admin(ctx: AppContext, person: Person) -> bool:
    """May administer their *own* office (an office admin, or a deployment admin)."""
    return person.is_admin or is_deployment_admin(ctx, person)


async def is_head(session: AsyncSession, ctx: AppContext, person: Person) -> bool:
    """Receives the head's commands: an admin, or a holder of a head role (see
    :func:`bot.store.repo.head_roles`)."""
    if is_admin(ctx, person):
        return True
    heads = set(await repo.head_keys(session))
    return bool(heads & set(await repo.roles_of(session, person.id, ctx.clock.now())))


async def is_registered(ctx: AppContext, telegram_user_id: int) -> bool:
    """An active person of some office (the flood limits are higher for them)."""
    async with ctx.db.transaction() as s:
        person = await s.scalar(select(Person).where(Person.telegram_user_id == telegram_user_id))
        return person is not None and person.active


@dataclass(frozen=True)
class Scope:
    """The offices one actor may touch, and lookups by id confined to them."""

    person: Person
    deployment_admin: bool

    @classmethod
    def of(cls, ctx: AppContext, person: Person) -> Scope:
        return cls(person, is_deployment_admin(ctx, person))

    def sees(self, org_id: int) -> bool:
        """Records of ``org_id`` exist for this actor."""
        return self.deployment_admin or org_id == self.person.org_id

    def administers(self, org_id: int) -> bool:
        """May act as an admin in ``org_id``."""
        return self.deployment_admin or (self.person.is_admin and org_id == self.person.org_id)

    async def occurrence(self, session: AsyncSession, occ_id: int) -> Occurrence | None:
        occ = await session.get(Occurrence, occ_id, populate_existing=True)
        return occ if occ is not None and self.sees(occ.org_id) else None

    async def colleague(self, session: AsyncSession, person_id: int) -> Person | None:
        """A person this actor may administer (None for anyone else)."""
        person = await session.get(Person, person_id)
        return person if person is not None and self.administers(person.org_id) else None
