"""One office's people and roles, as a digest or report reads them, and the kinds of report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.audience import Recipient, head_audience
from bot.store import repo
from bot.store.models import (
    Organisation,
    OrgRole,
    Person,
    Role,
)

WEEKLY = "weekly"
QUARTERLY = "quarterly"
HALF = "half"
ANNUAL = "annual"

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
        heads=await repo.head_keys(session),
    )
