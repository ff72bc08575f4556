"""When the channel refuses the *bot* (a 401 or 404 from the Bot API: a revoked token, a wrong
base URL or proxy), delivery pauses instead of failing every due row.

* The row that met it is given back (pending, its attempt not counted); no row is failed.
* One clear line is logged when the pause begins, naming the setting to check, and one when
  it ends; nothing in between.
* While paused, nothing is claimed; the bot is probed (``getMe``) after 5 s, then 10 s, 20 s …
  up to every 5 minutes, on the context's clock.  The first probe that answers resumes
  delivery.
* The pause is written to ``job_run`` as the row ``delivery`` (:data:`DELIVERY_ROW`) so that
  ``python -m bot health``, another process, reports it: paused since when, and why.  It is
  deleted when delivery resumes (and by a sender's start: a process that died paused leaves
  no pause behind it).

One :class:`DeliveryPause` per process (``AppContext.delivery_pause``): every dispatcher of
the process sees it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.logs import reason as reason_of
from bot.services.transport import Done, Transport
from bot.store.models import JobRun

if TYPE_CHECKING:
    from bot.services.context import AppContext

log = logging.getLogger(__name__)

#: The ``job_run`` row that says delivery is paused (it is no periodic job).
DELIVERY_ROW = "delivery"
PROBE_FIRST_SECONDS = 5.0
PROBE_MAX_SECONDS = 300.0


@dataclass
class DeliveryPause:
    reason: str | None = None
    since: datetime | None = None
    next_probe_at: datetime | None = None
    delay: float = PROBE_FIRST_SECONDS
    probes: int = 0

    @property
    def active(self) -> bool:
        return self.reason is not None


async def pause(ctx: AppContext, why: str) -> None:
    """Pause delivery (once: a second refusal while paused changes nothing)."""
    p = ctx.delivery_pause
    if p.active:
        return
    now = ctx.clock.now()
    p.reason, p.since, p.delay, p.probes = why, now, PROBE_FIRST_SECONDS, 0
    p.next_probe_at = now + timedelta(seconds=p.delay)
    log.error(
        "delivery paused: %s; no message is failed, they wait; probing getMe after %.0f s, "
        "backing off to every %.0f s",
        why,
        PROBE_FIRST_SECONDS,
        PROBE_MAX_SECONDS,
    )
    await _record(ctx)


async def ready(ctx: AppContext, transport: Transport) -> bool:
    """Whether sends may go on: not paused, or paused and the probe that is due answers."""
    p = ctx.delivery_pause
    if not p.active:
        return True
    assert p.next_probe_at is not None and p.since is not None
    now = ctx.clock.now()
    if now < p.next_probe_at:
        return False
    p.probes += 1
    outcome = await transport.probe()
    if not isinstance(outcome, Done):
        p.delay = min(p.delay * 2, PROBE_MAX_SECONDS)
        p.next_probe_at = ctx.clock.now() + timedelta(seconds=p.delay)
        log.debug("delivery still paused (probe %d): %s", p.probes, outcome)
        await _record(ctx)
        return False
    log.warning(
        "delivery resumed: the Bot API answers getMe again, after %.0f s paused (%d probes)",
        (now - p.since).total_seconds(),
        p.probes,
    )
    ctx.delivery_pause = DeliveryPause()
    await forget(ctx)
    return True


async def _record(ctx: AppContext) -> None:
    """Write the pause to ``job_run`` (a database that is away leaves it unwritten)."""
    p = ctx.delivery_pause
    values: dict[str, Any] = {
        "worker_id": ctx.settings.worker_id,
        "started_at": p.since,
        "next_due_at": p.next_probe_at,
        "finished_at": None,
        "ok": False,
        "error": p.reason,
        "runs": p.probes,
    }
    try:
        async with ctx.db.transaction() as s:
            ins = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
            stmt = ins(JobRun).values(name=DELIVERY_ROW, **values)
            await s.execute(stmt.on_conflict_do_update(index_elements=["name"], set_=values))
    except Exception as exc:  # the pause goes on in this process; health cannot see it
        log.debug("could not record the delivery pause: %s", reason_of(exc))


async def forget(ctx: AppContext) -> None:
    """Delivery is not paused (any more): drop the ``delivery`` row."""
    try:
        async with ctx.db.transaction() as s:
            await s.execute(delete(JobRun).where(JobRun.name == DELIVERY_ROW))
    except Exception as exc:
        log.debug("could not clear the delivery pause: %s", reason_of(exc))
