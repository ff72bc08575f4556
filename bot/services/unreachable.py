"""When a chat cannot be reached for good: the head hears who and which roles are left empty."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.fmt import Fmt
from bot.services.audience import head_audience
from bot.services.context import AppContext
from bot.services.outbox import enqueue
from bot.store import repo
from bot.store.models import OrgRole, Outbox, Person, Role


async def tell_head(
    ctx: AppContext, s: AsyncSession, row: Outbox, reason: str, now: datetime
) -> None:
    """Tell the office's head that ``row``'s chat cannot be reached (and which roles nobody can
    be reached for now), in the same transaction that marks it."""
    org_id = row.org_id
    assert org_id is not None
    role_names = {r.key: r.name for r in await s.scalars(select(Role))}
    heads = await repo.head_keys(s)
    person = await s.get(Person, row.person_id) if row.person_id else None
    group_roles = list(
        await s.scalars(
            select(OrgRole).where(OrgRole.org_id == org_id, OrgRole.group_chat_id == row.chat_id)
        )
    )
    lines_for: list[tuple[str, dict[str, Any]]] = []
    emptied: list[str] = []
    if person is not None and person.chat_id == row.chat_id:
        person.active = False
        person.inactive_reason = reason[:200]
        person.updated_at = now
        await s.flush()
        roles = await repo.roles_of(s, person.id, now)
        for key in roles:
            if not any(p.reachable for p in await repo.holders(s, org_id, key, now)):
                emptied.append(key)
        lines_for.append(
            (
                "blocked.person",
                {
                    "name": person.name,
                    "roles": ", ".join(role_names.get(k, k) for k in roles) or "-",
                    "reason": reason,
                },
            )
        )
    for g in group_roles:
        g.group_chat_id = None
        lines_for.append(
            (
                "blocked.group",
                {"role": role_names.get(g.role_key, g.role_key), "reason": reason},
            )
        )
    if not lines_for:
        return
    holders = await repo.holders_by_role(s, org_id, now)
    org_roles = await repo.org_roles(s, org_id)
    audience = head_audience(
        heads, holders, org_roles, ctx.settings.default_language, besides_chat=row.chat_id
    )
    for r in audience:
        fmt = Fmt.of(ctx.settings, r.lang)
        parts = [fmt.t(key, **kw) for key, kw in lines_for]
        if emptied:
            parts.append(
                fmt.t("blocked.role_empty", roles=", ".join(role_names.get(k, k) for k in emptied))
            )
            parts.append(fmt.t("unreach.hint"))
        await enqueue(
            s,
            org_id=org_id,
            person_id=r.person_id,
            chat_id=r.chat_id,
            kind="unreachable",
            dedupe_key=f"blocked:{row.chat_id}:{r.chat_id}:{now.date().isoformat()}",
            text="\n".join(parts),
            now=now,
        )
