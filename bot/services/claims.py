"""Claiming outbox rows for a dispatcher (:class:`bot.services.dispatch.Dispatcher`): a
batch of due rows in one conditional ``UPDATE … RETURNING id``, one per chat, their send
slots reserved in the same transaction when the limit is shared; giving back what was not
sent; and, at a start or a stop, the rows a worker left in flight."""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import OutboxStatus
from bot.services.context import AppContext
from bot.services.outboxwrites import OUTBOX
from bot.services.transport import Transport
from bot.store.db import unavailable
from bot.store.models import Outbox, OutboxFile

log = logging.getLogger("bot.services.dispatch")


class _ReserveSends(Protocol):
    """A transport that paces sends readies a batch at once: the chats not free soon (and
    the seconds until they are) come back; a limit shared in the database reserves the
    others' slots in ``session``."""

    async def __call__(
        self, chat_ids: list[int], session: AsyncSession | None, busy: Collection[int]
    ) -> dict[int, float]: ...


class Claims:
    ctx: AppContext
    transport: Transport
    worker: str
    _claimed: dict[int, tuple[Outbox | None, list[OutboxFile]]]
    #: the latest time a row put back until its chat is free falls due (see run)
    deferred_until: datetime | None
    put_back: int  # how many rows, so far, were put back so

    async def recover(self) -> int:
        """Rows this worker left in ``sending`` (it was killed), and expired leases, go back to pending."""
        now = self.ctx.clock.now()
        lease = now - timedelta(seconds=self.ctx.settings.outbox_lease_seconds)
        async with self.ctx.db.transaction() as s:
            res = await s.execute(
                update(Outbox)
                .where(
                    Outbox.status == OutboxStatus.SENDING.value,
                    or_(Outbox.claimed_by == self.worker, Outbox.claimed_at < lease),
                )
                .values(status=OutboxStatus.PENDING.value, claimed_by=None, next_attempt_at=now)
            )
        n = int(res.rowcount)  # type: ignore[attr-defined]
        if n:
            log.warning("recovered %d outbox rows left in flight", n)
        return n

    async def release(self) -> int:
        """On a stop: the rows this worker claimed and has not sent go back to pending, for
        any worker to send at once (not after the lease).  A database that cannot be
        reached leaves them to the lease."""
        try:
            async with self.ctx.db.transaction() as s:
                res = await s.execute(
                    update(Outbox)
                    .where(
                        Outbox.status == OutboxStatus.SENDING.value,
                        Outbox.claimed_by == self.worker,
                    )
                    .values(status=OutboxStatus.PENDING.value, claimed_by=None)
                )
        except Exception as exc:
            if not unavailable(exc):
                raise
            log.warning("could not give back claimed outbox rows (%s): their lease will", exc)
            return 0
        self._claimed.clear()
        n = int(res.rowcount)  # type: ignore[attr-defined]
        if n:
            log.info("gave back %d claimed outbox rows", n)
        return n

    async def claim(self, outbox_id: int, now: datetime) -> bool:
        return outbox_id in await self.claim_batch([outbox_id], now)

    async def claim_batch(
        self, ids: list[int], now: datetime, busy: Collection[int] = ()
    ) -> list[int]:
        """Claim those of ``ids`` that are still pending and due, in one conditional
        ``UPDATE … RETURNING id`` that commits before any send: the ids it returns are this
        worker's, the others went to another worker (or were rescheduled).  The rows are read
        in the claiming transaction; the won ids come back in the order asked.  ``busy``: the
        chats of this worker's sends still in flight, whose rows go back like a batch's
        second row of one chat."""
        if not ids:
            return []
        async with self.ctx.db.transaction() as s:
            res = await s.execute(
                update(Outbox)
                .where(
                    Outbox.id.in_(ids),
                    Outbox.status == OutboxStatus.PENDING.value,
                    Outbox.next_attempt_at <= now,
                )
                .values(
                    status=OutboxStatus.SENDING.value,
                    claimed_by=self.worker,
                    claimed_at=now,
                    attempts=Outbox.attempts + 1,
                )
                .returning(Outbox.id)
                .execution_options(synchronize_session=False)
            )
            won = set(res.scalars().all())
            if not won:
                return []
            # read in the claiming transaction: one commit less for every message
            rows = {r.id: r for r in await s.scalars(select(Outbox).where(Outbox.id.in_(won)))}
            won -= await self._one_per_chat(s, [i for i in ids if i in won], rows, busy)
            won -= await self._reserve_slots(
                s, [rows[i] for i in ids if i in won and i in rows], now, busy
            )
            files: dict[int, list[OutboxFile]] = {i: [] for i in won}
            for f in await s.scalars(
                select(OutboxFile)
                .where(OutboxFile.outbox_id.in_(won))
                .order_by(OutboxFile.outbox_id, OutboxFile.position)
            ):
                files[f.outbox_id].append(f)
        claimed = [i for i in ids if i in won]
        for i in claimed:
            self._claimed[i] = (rows.get(i), files[i])
        return claimed

    @staticmethod
    async def _one_per_chat(
        s: AsyncSession, won: list[int], rows: dict[int, Outbox], busy: Collection[int]
    ) -> set[int]:
        """A worker holds at most one row per chat in flight: what one row's answer does to
        its chat (blocked: the chat's pending rows cancelled; migrated: moved to the new id)
        then never meets a row this worker holds, and no send waits out another's per-chat
        spacing.  The later rows of a chat, and the rows of ``busy`` chats, go back in the
        same transaction (their claim's attempt not counted); returns their ids."""
        seen: set[int] = set(busy)
        again: set[int] = set()
        for i in won:
            row = rows.get(i)
            if row is None:
                continue
            if row.chat_id in seen:
                again.add(i)
            seen.add(row.chat_id)
        if again:
            await s.execute(
                update(Outbox)
                .where(Outbox.id.in_(again))
                .values(
                    status=OutboxStatus.PENDING.value,
                    claimed_by=None,
                    attempts=Outbox.attempts - 1,
                )
                .execution_options(synchronize_session=False)
            )
        return again

    async def release_unsent(self, ids: list[int]) -> int:
        """Give back rows this worker claimed in a batch and has not tried to send (an
        interrupt, a pause, a stop, the batch held too long): pending again at once, and
        their claim's attempt not counted.  A database that cannot be reached leaves them
        to the lease."""
        for i in ids:
            self._claimed.pop(i, None)
        if not ids:
            return 0
        try:
            async with self.ctx.db.transaction() as s:
                res = await s.execute(
                    update(Outbox)
                    .where(
                        Outbox.id.in_(ids),
                        Outbox.status == OutboxStatus.SENDING.value,
                        Outbox.claimed_by == self.worker,
                    )
                    .values(
                        status=OutboxStatus.PENDING.value,
                        claimed_by=None,
                        attempts=Outbox.attempts - 1,
                    )
                    .execution_options(synchronize_session=False)
                )
        except Exception as exc:
            if not unavailable(exc):
                raise
            log.warning("could not give back %d claimed rows (%s): their lease will", len(ids), exc)
            return 0
        return int(res.rowcount)  # type: ignore[attr-defined]

    async def _reserve_slots(
        self, s: AsyncSession, rows: list[Outbox], now: datetime, busy: Collection[int]
    ) -> set[int]:
        """Ready the batch's sends through the transport's ``reserve_sends``, when it has one:
        with the limit shared in the database, its send slots in the claim's own transaction
        (:meth:`bot.telegram.sharedlimit.SharedSlots.prepare`, no transaction of their own).
        The rows of chats not free soon (a person who had a message a moment ago) go back
        until their chat is, their attempt not counted, so that one chat's second never holds
        up the batch; returns their ids."""
        reserve: _ReserveSends | None = getattr(self.transport, "reserve_sends", None)
        if reserve is None or not rows:
            return set()
        later = await reserve([row.chat_id for row in rows], s, busy)
        back = {row.id: now + timedelta(seconds=later[row.chat_id]) for row in rows
                if row.chat_id in later}  # fmt: skip
        if not back:
            return set()
        self.put_back += len(back)
        latest = max(back.values())
        if self.deferred_until is None or latest > self.deferred_until:
            self.deferred_until = latest
        conn = await s.connection()  # one executemany for all of them
        await conn.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id == bindparam("back_id"))
            .values(
                status=OutboxStatus.PENDING.value,
                claimed_by=None,
                attempts=OUTBOX.c.attempts - 1,
                next_attempt_at=bindparam("back_due"),
            ),
            [{"back_id": i, "back_due": due} for i, due in back.items()],
        )
        return set(back)
