"""When a chat cannot be reached for good: its messages stop, and the head hears who and which
roles are left empty.  When a group moves (a Telegram group became a supergroup), its role and
its messages follow it."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import OutboxStatus
from bot.fmt import Fmt
from bot.services.audience import head_audience
from bot.services.context import AppContext
from bot.services.outbox import enqueue
from bot.store import repo
from bot.store.models import OrgRole, Outbox, Person, Role

log = logging.getLogger(__name__)


async def chat_unreachable(ctx: AppContext, row: Outbox, reason: str) -> None:
    """Stop for good: fail the row, cancel the chat's other pending rows, mark the person,
    tell the head — in one transaction."""
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        await s.execute(
            update(Outbox)
            .where(Outbox.id == row.id)
            .values(status=OutboxStatus.FAILED.value, claimed_by=None, last_error=reason[:500])
        )
        await s.execute(
            update(Outbox)
            .where(Outbox.chat_id == row.chat_id, Outbox.status == OutboxStatus.PENDING.value)
            .values(
                status=OutboxStatus.CANCELLED.value,
                last_error=f"chat unreachable: {reason}"[:500],
            )
        )
        if row.org_id is not None:
            await tell_head(ctx, s, row, reason, now)
    log.warning("chat %s is unreachable for good: %s", row.chat_id, reason)


async def chat_moved(ctx: AppContext, old_chat_id: int, new_chat_id: int) -> None:
    """The group's role and its messages not sent yet follow it to ``new_chat_id``."""
    async with ctx.db.transaction() as s:
        await s.execute(
            update(OrgRole)
            .where(OrgRole.group_chat_id == old_chat_id)
            .values(group_chat_id=new_chat_id)
        )
        await s.execute(
            update(Outbox)
            .where(
                Outbox.chat_id == old_chat_id,
                Outbox.status.in_([OutboxStatus.PENDING.value, OutboxStatus.SENDING.value]),
            )
            .values(chat_id=new_chat_id, status=OutboxStatus.PENDING.value, claimed_by=None)
        )


# one line of the head's notice: a text key and its parameters
_Line = tuple[str, dict[str, Any]]


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
    lines: list[_Line] = []
    emptied: list[str] = []
    if person is not None and person.chat_id == row.chat_id:
        line, emptied = await _deactivate(s, person, org_id, reason, now, role_names)
        lines.append(line)
    lines += _unlink_groups(group_roles, reason, role_names)
    if not lines:
        return
    empty_names = [role_names.get(k, k) for k in emptied]
    await _notify_heads(ctx, s, row, org_id, heads, lines, empty_names, now)


async def _deactivate(
    s: AsyncSession,
    person: Person,
    org_id: int,
    reason: str,
    now: datetime,
    role_names: dict[str, str],
) -> tuple[_Line, list[str]]:
    """The person whose chat is gone stops being sent to; which of their roles nobody
    reachable holds now."""
    person.active = False
    person.inactive_reason = reason[:200]
    person.updated_at = now
    await s.flush()
    roles = await repo.roles_of(s, person.id, now)
    emptied: list[str] = []
    for key in roles:
        if not any(p.reachable for p in await repo.holders(s, org_id, key, now)):
            emptied.append(key)
    names = ", ".join(role_names.get(k, k) for k in roles) or "-"
    return ("blocked.person", {"name": person.name, "roles": names, "reason": reason}), emptied


def _unlink_groups(
    group_roles: list[OrgRole], reason: str, role_names: dict[str, str]
) -> list[_Line]:
    """A role's group chat that is gone is unlinked from the role."""
    lines: list[_Line] = []
    for g in group_roles:
        g.group_chat_id = None
        role = role_names.get(g.role_key, g.role_key)
        lines.append(("blocked.group", {"role": role, "reason": reason}))
    return lines


async def _notify_heads(
    ctx: AppContext,
    s: AsyncSession,
    row: Outbox,
    org_id: int,
    heads: list[str],
    lines: list[_Line],
    empty_roles: list[str],
    now: datetime,
) -> None:
    """One notice to each of the head's audience (not the chat that is gone), in their
    language."""
    holders = await repo.holders_by_role(s, org_id, now)
    org_roles = await repo.org_roles(s, org_id)
    audience = head_audience(
        heads, holders, org_roles, ctx.settings.default_language, besides_chat=row.chat_id
    )
    for r in audience:
        fmt = Fmt.of(ctx.settings, r.lang)
        parts = [fmt.t(key, **kw) for key, kw in lines]
        if empty_roles:
            parts.append(fmt.t("blocked.role_empty", roles=", ".join(empty_roles)))
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
