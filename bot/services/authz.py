"""Who may act on a stage: a holder of its role in its own office, or an admin of that
office (see :mod:`bot.services.access`) — checked against the database, every time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.access import Scope
from bot.services.outcome import Outcome
from bot.store import repo
from bot.store.models import Occurrence, Person, Role


async def role_name(session: AsyncSession, key: str | None) -> str:
    if key is None:
        return "-"
    role = await session.get(Role, key)
    return role.name if role else key


async def may_act(
    session: AsyncSession, scope: Scope, actor: Person, occ: Occurrence, stage: str, now: datetime
) -> bool:
    if scope.administers(occ.org_id):
        return True
    if occ.org_id != actor.org_id:
        return False
    role = occ.role_for(stage)
    return role is not None and role in await repo.roles_of(session, actor.id, now)


async def forbidden(
    session: AsyncSession,
    org_id: int,
    code: str,
    stage: str,
    role: str | None,
    now: datetime,
    occ: Occurrence | None = None,
) -> Outcome:
    """The refusal names the stage's role and who holds it, so the presser knows whom to ask."""
    holders = await repo.holders(session, org_id, role, now) if role else []
    return Outcome(
        False,
        "act.forbidden",
        {
            "code": code,
            "stage": stage,
            "role": await role_name(session, role),
            "holders": ", ".join(p.name for p in holders) or "-",
        },
        occ,
    )
