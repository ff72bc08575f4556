"""Telling the next people: once the chain moves, the holders of the new stage hear of it
(at once, or when the office opens), and an actor who holds that role too gets its buttons
in their own reply.  Used by :mod:`bot.services.chain` and :mod:`bot.services.changes`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select

from bot.domain import OccStatus, TaskLine
from bot.fmt import Fmt
from bot.schedule.reminders import next_working_time
from bot.services.org import Catalogues
from bot.services.outbox import enqueue
from bot.services.tasklist import keyboard
from bot.store import repo
from bot.store.models import Occurrence, StageEvent

if TYPE_CHECKING:
    from bot.services.chain import Chain


async def task_line(chain: Chain, occ: Occurrence) -> TaskLine:
    return TaskLine(
        occ.id,
        occ.code,
        await Catalogues(chain.s, chain.ctx).title(occ),
        occ.stage,
        occ.current_due or occ.due_date,
        occ.kind,
        occ.covered_key,
    )


async def own_follow_up(chain: Chain, occ: Occurrence) -> list[TaskLine]:
    """If the actor also holds the next stage's role, their reply carries its buttons."""
    if occ.status != OccStatus.OPEN.value or occ.current_role is None:
        return []
    if occ.org_id != chain.actor.org_id:  # a deployment admin's roles are in their office
        return []
    if occ.current_role in await repo.roles_of(chain.s, chain.actor.id, chain.now):
        return [await task_line(chain, occ)]
    return []


async def notify_next(
    chain: Chain, occ: Occurrence, stage: str | None, key: str, **extra: str
) -> None:
    """Tell the holders of the new stage at once — or when the office opens, in quiet hours."""
    if stage is None:
        return
    role = occ.role_for(stage)
    if role is None:
        return
    line = await task_line(chain, occ)
    ctx = chain.ctx
    when = next_working_time(
        chain.now, await chain.calendar(occ.org_id, occ.fiscal_year), ctx.policy, ctx.tz
    )
    event_id = await chain.s.scalar(
        select(func.max(StageEvent.id)).where(StageEvent.occurrence_id == occ.id)
    )
    for p in await repo.holders(chain.s, occ.org_id, role, chain.now):
        if not p.reachable or p.id == chain.actor.id:
            continue
        fmt: Fmt = Fmt.of(ctx.settings, p.language)
        text = fmt.t(
            key,
            code=occ.code,
            title=line.title,
            period=fmt.period(occ.covered_key),
            actor=chain.actor.name,
            due=fmt.date(line.due),
            reason=extra.get("reason", ""),
        )
        await enqueue(
            chain.s,
            org_id=occ.org_id,
            person_id=p.id,
            chat_id=p.chat_id or 0,
            kind="notify",
            dedupe_key=f"notify:{occ.id}:{event_id}:{p.id}",
            text=text,
            reply_markup=keyboard(fmt, [line]),
            items=[occ.id],
            now=chain.now,
            not_before=when,
        )
