"""Dropping what has become pointless, by meaning and never by count (issue 15).

A message that waits in the outbox (Telegram is away, quiet hours) is retried for as long as
it takes.  Two kinds of waiting message stop making sense on their own, and only those are
dropped — each one ``cancelled`` with its reason in ``last_error``:

* **A reminder superseded** by a newer reminder to the same chat that lists the same stages
  (every occurrence the old one lists is in a reminder of a later slot): the person gets the
  newer one only.  Checked when the newer one is queued (:func:`supersede_reminders`, from
  :func:`bot.services.outbox.enqueue`), in the same transaction.
* **A one-time notice about a stage that has moved on** (a review request, a send back,
  approved → publisher, a reported change: kind ``notify``, about ``items[0]``): the
  occurrence is no longer open, or it left the stage after the notice was made (its
  ``stage_started_at`` is later than the notice's ``created_at``).  Checked by the chain when
  it moves an occurrence (:func:`drop_moved_on`, same transaction) and by every tick before
  it wakes the sender (anything moved some other way).
* **A reminder whose every stage has moved on** since it was made (each occurrence it lists
  closed, or left the stage after the reminder was made): the morning's reminders are
  composed a few minutes ahead and held until 09:00, and one whose person did it all in
  between (or while Telegram was away) asks for what is done.  Checked by the chain when it
  moves an occurrence (:func:`drop_stale_reminders`, same transaction; the office's waiting
  reminders only, through ``ix_outbox_office_kind``).  A reminder listing one stage still
  open goes as it was made.

Rows being sent (``sending``) are never touched: the conditional ``UPDATE … WHERE
status='pending'`` loses to a claim, and the message goes out as it would have.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import OccStatus, OutboxPriority, OutboxStatus
from bot.store.models import Occurrence, Outbox

log = logging.getLogger(__name__)

REMINDER = "reminder"
#: One-time notices about one occurrence's stage (``items == [occurrence id]``).
STAGE_NOTICES = frozenset({"notify"})
#: A newer reminder supersedes an older one whether it is waiting, going or gone.
LIVE = (OutboxStatus.PENDING.value, OutboxStatus.SENDING.value, OutboxStatus.SENT.value)
_CHECKED = "supersede.older_pending"


async def _any_older_pending(session: AsyncSession, org_id: int | None, now: datetime) -> bool:
    """Whether the office has a reminder queued before ``now`` still waiting (asked once per
    office and transaction: without an outage there is none, and nothing else is read)."""
    checked: dict[tuple[int | None, datetime], bool] = session.info.setdefault(_CHECKED, {})
    key = (org_id, now)
    if key not in checked:
        office = Outbox.org_id.is_(None) if org_id is None else Outbox.org_id == org_id
        found = await session.scalar(
            select(Outbox.id)
            .where(
                office,
                Outbox.kind == REMINDER,
                Outbox.status == OutboxStatus.PENDING.value,
                Outbox.created_at < now,
            )
            .limit(1)
        )
        checked[key] = found is not None
    return checked[key]


async def supersede_reminders(
    session: AsyncSession, *, org_id: int | None, chat_id: int, now: datetime
) -> list[int]:
    """A reminder to ``chat_id`` was just queued at ``now``: cancel the chat's older waiting
    reminders whose every stage a later one lists.  Returns the ids cancelled."""
    if not await _any_older_pending(session, org_id, now):
        return []
    older = (
        await session.execute(
            select(Outbox.id, Outbox.items, Outbox.created_at)
            .where(
                Outbox.chat_id == chat_id,
                Outbox.kind == REMINDER,
                Outbox.status == OutboxStatus.PENDING.value,
                Outbox.created_at < now,
            )
            .order_by(Outbox.created_at, Outbox.id)
        )
    ).all()
    if not older:
        return []
    newer = (
        await session.execute(
            select(Outbox.id, Outbox.items, Outbox.created_at).where(
                Outbox.chat_id == chat_id,
                Outbox.kind == REMINDER,
                Outbox.status.in_(LIVE),
                Outbox.created_at > older[0].created_at,
            )
        )
    ).all()
    dropped = []
    for old in older:
        items = set(old.items or ())
        later = [r for r in newer if r.created_at > old.created_at and items & set(r.items or ())]
        if not items or not items <= {i for r in later for i in r.items or ()}:
            continue
        by = max(later, key=lambda r: (r.created_at, r.id)).id
        if await _cancel(session, old.id, f"superseded by outbox {by}"):
            dropped.append(old.id)
    if dropped:
        log.info("outbox: %d reminders to chat %s superseded by newer ones", len(dropped), chat_id)
    return dropped


def _moved_on(occ: Occurrence | None, made_at: datetime) -> str | None:
    """Why a notice made at ``made_at`` about ``occ`` is pointless now (None: it is not)."""
    if occ is None:
        return "stage moved on: the occurrence is gone"
    if occ.status != OccStatus.OPEN.value:
        return f"stage moved on: {occ.code} is {occ.status}"
    if occ.stage_started_at is not None and occ.stage_started_at > made_at:
        return f"stage moved on: {occ.code} is at {occ.stage} since {occ.stage_started_at:%Y-%m-%d %H:%M:%S}"
    return None


async def drop_moved_on(
    session: AsyncSession, *, org_id: int | None = None, occurrence_id: int | None = None
) -> list[int]:
    """Cancel the waiting one-time notices whose stage has moved on since they were made
    (of one office, or about one occurrence, if given).  Returns the ids cancelled."""
    query = select(Outbox.id, Outbox.items, Outbox.created_at).where(
        Outbox.status == OutboxStatus.PENDING.value,
        Outbox.priority == int(OutboxPriority.INTERACTIVE),  # the claim index's prefix
        Outbox.kind.in_(STAGE_NOTICES),
    )
    if org_id is not None:
        query = query.where(Outbox.org_id == org_id)
    rows = [r for r in (await session.execute(query)).all() if r.items]
    if occurrence_id is not None:
        rows = [r for r in rows if r.items[0] == occurrence_id]
    dropped = await _cancel_moved_on(session, [(r.id, r.created_at, r.items[:1]) for r in rows])
    if dropped:
        log.info("outbox: %d notices dropped, their stage moved on", len(dropped))
    return dropped


async def drop_stale_reminders(
    session: AsyncSession, *, org_id: int | None, occurrence_id: int
) -> list[int]:
    """``occurrence_id`` just moved: cancel the office's waiting reminders that list it and
    whose every listed stage has moved on since they were made.  Returns the ids cancelled."""
    office = Outbox.org_id.is_(None) if org_id is None else Outbox.org_id == org_id
    waiting = [
        r
        for r in await session.execute(
            select(Outbox.id, Outbox.items, Outbox.created_at).where(
                office, Outbox.kind == REMINDER, Outbox.status == OutboxStatus.PENDING.value
            )
        )
        if occurrence_id in (r.items or ())
    ]
    dropped = await _cancel_moved_on(session, [(r.id, r.created_at, r.items) for r in waiting])
    if dropped:
        log.info("outbox: %d reminders dropped, every stage they list moved on", len(dropped))
    return dropped


async def _cancel_moved_on(
    session: AsyncSession, rows: list[tuple[int, datetime, list[int]]]
) -> list[int]:
    """Cancel each waiting row (id, made at, the occurrences it is about) whose every
    occurrence has moved on since it was made, saying why.  Returns the ids cancelled."""
    ids = {int(i) for _, _, items in rows for i in items}
    if not ids:
        return []
    occs = {
        o.id: o for o in await session.scalars(select(Occurrence).where(Occurrence.id.in_(ids)))
    }
    dropped = []
    for outbox_id, made_at, items in rows:
        reasons = [w for i in items if (w := _moved_on(occs.get(int(i)), made_at)) is not None]
        every = bool(reasons) and len(reasons) == len(items)
        if every and await _cancel(session, outbox_id, "; ".join(reasons)):
            dropped.append(outbox_id)
    return dropped


async def _cancel(session: AsyncSession, outbox_id: int, why: str) -> bool:
    res = await session.execute(
        update(Outbox)
        .where(Outbox.id == outbox_id, Outbox.status == OutboxStatus.PENDING.value)
        .values(status=OutboxStatus.CANCELLED.value, claimed_by=None, last_error=why[:500])
        .execution_options(synchronize_session=False)
    )
    return int(res.rowcount) == 1  # type: ignore[attr-defined]
