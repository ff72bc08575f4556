"""The reminder tick: due reminder slots become one outbox message per person.

Each open stage keeps its next slot in ``occurrence.next_remind_at`` (indexed).  The
tick takes a batch of offices at a time, with a fixed number of statements whatever
the number of offices or stages in it:

1. **read** (a short transaction): the offices with the earliest due slots, their due
   stages, role holders, role links and days off, one query each;
2. **compose** (no transaction, yielding to the event loop between offices): each
   stage's next slot and each person's message (:mod:`bot.services.reminder_compose`);
3. **claim and enqueue** (one transaction): a conditional ``UPDATE`` of every stage read,
   taken only where ``next_remind_at`` and ``version`` are still what was read, whose
   row count is checked, and one multi-row ``INSERT`` of the outbox rows (their
   ``dedupe_key`` unique).  If any stage changed meanwhile (a press, another worker),
   the transaction is rolled back and the batch is read again: two workers never
   remind twice, a crash loses nothing, a stage done meanwhile is not reminded.

After downtime a stage's missed slots are caught up once: the claim moves
``next_remind_at`` to the first slot after *now* (caught up before the day's 09:00, the
catch-up is that day's reminder: the first slot after today's, and a dedupe key of its own,
see :func:`bot.schedule.reminders.reminder_of`).  Reminders only leave in civil hours;
outside them the tick leaves the slots for later.

The running bot composes ``ahead`` of the slots (``REMINDER_COMPOSE_AHEAD_SECONDS``, 5
minutes): the tick composes as of a horizon a little later than its clock
(:func:`bot.schedule.reminders.compose_horizon`), and each message of a slot still to come
is queued held until that slot (``next_attempt_at``), so at 09:00 the morning's
reminders are already in the outbox and only the sending is left.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.schedule.reminders import compose_horizon, held_until
from bot.schedule.workdays import NO_CHANGES
from bot.services.calendars import OfficeCalendar, changes_by_office
from bot.services.context import AppContext
from bot.services.org import catalogue_by_id
from bot.services.outbox import Message, enqueue_many
from bot.services.reminder_claim import ClaimConflict, claim, prepare_claim
from bot.services.reminder_compose import Composed, Due, Office, TickCache, compose_office
from bot.store import repo
from bot.store.models import Occurrence, Role

#: Offices per batch: the statements' cost is shared by their messages, and SQLite's write
#: lock is held only for the claim and the insert of a batch (a few milliseconds).
BATCH_OFFICES = 5
#: Batches whose claim found a stage changed since it was read, before the tick gives up
#: (each is read again; another worker or a press is the usual cause).
MAX_CONFLICTS = 20

OCC = cast(Table, Occurrence.__table__)
DUE = tuple(OCC.c[name] for name in Due.__dataclass_fields__)


@dataclass
class TickStats:
    orgs: int = 0
    stages: int = 0
    messages: int = 0
    escalations: int = 0
    batches: int = 0
    conflicts: int = 0  # batches rolled back because a stage changed after it was read
    claim_seconds: list[float] = field(default_factory=list)  # each batch's claim


async def load_cache(session: AsyncSession) -> TickCache:
    names = {r.key: r.name for r in await session.scalars(select(Role))}
    return TickCache(role_names=names, heads=await repo.head_keys(session))


async def due_offices(session: AsyncSession, now: datetime, limit: int) -> list[int]:
    """Up to ``limit`` offices with due slots, the earliest first (an index range scan)."""
    conn = await session.connection()
    rows = await conn.execute(
        select(OCC.c.org_id)
        .where(OCC.c.next_remind_at <= now)
        .order_by(OCC.c.next_remind_at)
        .limit(limit * 60)  # an office has at most a few dozen stages due at once
    )
    return list(dict.fromkeys(r[0] for r in rows))[:limit]


@dataclass
class Batch:
    offices: list[Office]
    dues: dict[int, list[Due]]


async def read_batch(
    session: AsyncSession, ctx: AppContext, cache: TickCache, org_ids: list[int], now: datetime
) -> Batch:
    """The batch's due stages and what composing them needs, one query each."""
    conn = await session.connection()
    dues: dict[int, list[Due]] = defaultdict(list)
    rows = await conn.execute(
        select(*DUE)
        .where(OCC.c.org_id.in_(org_ids), OCC.c.next_remind_at <= now)
        .order_by(OCC.c.org_id, OCC.c.id)
    )
    for row in rows:
        d = Due.of(row)
        dues[d.org_id].append(d)
    for cid in {d.catalogue_id for ds in dues.values() for d in ds} - cache.catalogues.keys():
        cache.catalogues[cid] = await catalogue_by_id(session, ctx, cid)
    holders = await repo.holders_by_role_in(session, org_ids, now)
    roles = await repo.group_links_in(session, org_ids)
    changes = await changes_by_office(session, org_ids)
    offices = [
        Office(o, OfficeCalendar(ctx, changes.get(o, NO_CHANGES)), holders[o], roles[o])
        for o in org_ids
    ]
    return Batch(offices, dues)


async def _compose(ctx: AppContext, cache: TickCache, batch: Batch, now: datetime) -> Composed:
    """Every office of the batch, yielding to the event loop after each."""
    out = Composed()
    for office in batch.offices:
        part = compose_office(ctx, cache, office, batch.dues.get(office.org_id, []), now)
        out.claims += part.claims
        out.messages += part.messages
        out.stages += part.stages
        out.escalations += part.escalations
        await asyncio.sleep(0)
    return out


def _held(messages: list[Message], batch: Batch, now: datetime) -> list[Message]:
    """Each message held until the latest slot of the stages it lists (of its office's, for
    one that lists none), when that is still to come: composed ahead, it waits for it."""
    slots = {d.id: d.next_remind_at for ds in batch.dues.values() for d in ds}
    office = {o: [d.next_remind_at for d in ds] for o, ds in batch.dues.items()}
    out = []
    for m in messages:
        covered = [slots[i] for i in m.items or () if i in slots]
        hold = held_until(covered or office.get(m.org_id or 0, []), now)
        out.append(m if hold is None else replace(m, not_before=hold))
    return out


async def _remind_batch(
    ctx: AppContext,
    cache: TickCache | None,
    limit: int,
    at: datetime,
    now: datetime,
    stats: TickStats,
) -> TickCache | None:
    """Read, compose (as of ``at``), claim and enqueue the next batch; None when nothing is due."""
    async with ctx.db.transaction() as session:
        org_ids = await due_offices(session, at, limit)
        if not org_ids:
            return None
        cache = cache or await load_cache(session)
        batch = await read_batch(session, ctx, cache, org_ids, at)
    composed = await _compose(ctx, cache, batch, at)
    held = _held(composed.messages, batch, now) if at > now else composed.messages
    prepared = prepare_claim(ctx.db.dialect, composed.claims)  # before the write lock
    async with ctx.db.transaction() as session:
        t0 = time.perf_counter()
        await claim(session, prepared)
        stats.claim_seconds.append(time.perf_counter() - t0)
        messages = await enqueue_many(session, held, now)
    stats.orgs += len(org_ids)
    stats.stages += composed.stages
    stats.escalations += composed.escalations
    stats.messages += messages
    stats.batches += 1
    return cache


async def remind(
    ctx: AppContext,
    now: datetime,
    *,
    max_orgs: int | None = None,
    budget_seconds: float | None = None,
    ahead: timedelta = timedelta(0),
) -> TickStats:
    """Turn due reminder slots into outbox rows, a batch of offices at a time — all of
    them, or as many as ``max_orgs`` / ``budget_seconds`` allow (the rest wait for the
    next tick, so a national wave does not hold up delivery of the first offices').

    With ``ahead``, the slots of the next ``ahead`` are composed now too, each message held
    until its slot (:func:`bot.schedule.reminders.compose_horizon`)."""
    stats = TickStats()
    at = compose_horizon(now, ahead, ctx.policy, ctx.tz)
    if at is None:  # each office's days off: compose_office
        return stats
    deadline = ctx.clock.monotonic() + budget_seconds if budget_seconds is not None else None
    cache: TickCache | None = None
    while max_orgs is None or stats.orgs < max_orgs:
        if deadline is not None and ctx.clock.monotonic() >= deadline:
            break
        limit = BATCH_OFFICES if max_orgs is None else min(BATCH_OFFICES, max_orgs - stats.orgs)
        try:
            cache = await _remind_batch(ctx, cache, limit, at, now, stats)
        except ClaimConflict:
            stats.conflicts += 1
            if stats.conflicts >= MAX_CONFLICTS:
                break
            continue
        if cache is None:
            break
    return stats
