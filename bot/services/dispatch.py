"""Delivery: the outbox leaves at the channel's pace, and nothing is lost or sent twice.

* Claiming: ``UPDATE outbox SET status='sending' … WHERE id IN (…) AND status='pending'
  … RETURNING id`` for a batch of due rows (8 at Telegram's cap); the ids returned are the
  rows this worker won.  The claim commits before the sends, so two dispatchers never send
  the same row.  An interrupt (an interactive row queued), a 429's pause or a stop gives
  the unsent rows of the batch back to ``pending`` at once.
* A row whose chat is not free yet (its person had a message a moment ago) goes back until
  it is, so it never holds up the rest of the batch (``reserve_sends`` of the transport).
* As many messages in flight as the cap needs while Telegram answers (:meth:`Dispatcher.window`:
  one on a fast link at Telegram's cap, up to a batch on a slow one), each marked sent right
  after its send (the answers that come while one write is under way, together in the
  next).  Once half a batch's sends have started, the next batch is asked for and claimed
  in a task of its own (its rows of this batch's chats go back; the limiter reserves its
  slots after this batch's), so a claim overlaps the sends instead of coming between two
  batches, on both databases (on SQLite it takes its turn between the sends' writes): a
  killed process leaves at most two batches in ``sending``.  On restart (or when its lease
  expires) those go back to ``pending`` and are sent again — the ones that were in flight
  perhaps a second time (at most the window's duplicates per kill: one on a fast link), the
  others for the first time; never a loss.
* The channel is a :class:`~bot.services.transport.Transport` (Telegram's is
  :mod:`bot.telegram.transport`, which sends through the rate limiter with ``retries=0``);
  this module knows its outcomes, not its errors.  A ``RetryAfter`` pauses every send
  (:meth:`Transport.paused_for`) and the row is rescheduled, its attempt not counted.
* Transient errors retry with backoff, never given up by count.  Permanent ones (blocked,
  chat not found, user deactivated) stop at once, mark the person inactive, and tell the
  head which roles have nobody reachable.  ``BotUnusable`` (a 401 or 404: the bot, not the
  message) gives the row back and pauses all delivery (:mod:`bot.services.deliverypause`).
"""

from __future__ import annotations

import asyncio
import enum
import functools
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from bot.clock import Clock
from bot.domain import OutboxStatus
from bot.services import deliverypause
from bot.services.claims import Claims
from bot.services.context import AppContext
from bot.services.sendrow import DispatchStats, RowDelivery, backoff
from bot.services.transport import Transport
from bot.store.models import Outbox, OutboxFile

__all__ = ["CLAIM_BATCH", "DispatchStats", "Dispatcher", "backoff"]

log = logging.getLogger(__name__)

#: Rows claimed in one ``UPDATE`` at Telegram's cap (25/s): a claim's commit per 8 messages,
#: not per message, which is what lets one sender keep up with it; few enough that giving
#: back the unsent ones (an interactive row, a stop) costs nothing.
CLAIM_BATCH = 8
#: A batch is this many seconds of sends at the configured cap (8 at 25/s), so that the
#: claim between two batches costs the same share of a second at any cap: with a cap
#: raised past Telegram's (the bench's), a batch of 8 would be claimed every 80 ms at
#: 100/s, and a claim that waits for the last batch's writes (SQLite) would cost a quarter
#: of the sender's time.
BATCH_SECONDS = 0.32
#: However high the cap, a batch is at most this (and at most ``DISPATCH_BATCH``).
MAX_CLAIM_BATCH = 64
#: The shortest wait for rows put back until their chat is free (they may be due already).
MIN_DEFER_WAIT_SECONDS = 0.01
MAX_DEFER_SLEEP_SECONDS = 1.0


class _Step(enum.Enum):
    NEXT = "next batch"
    ASK_AGAIN = "ask the due rows again"
    RETURN = "return"


@dataclass
class _Claimed:
    """A batch claimed: the rows won, in order; when its claim began (monotonic); whether it
    was claimed ahead, while the last batch was still being sent."""

    ids: list[int]
    at: float
    ahead: bool = False


@dataclass
class _Pass:
    """One :meth:`Dispatcher.run`: its limits, its figures, the sends under way (each with
    its chat), and the next batch's claim when it is made ahead."""

    stats: DispatchStats
    interrupt: asyncio.Event | None
    stopping: Callable[[], bool] | None
    wait_deferred: bool
    deadline: float | None
    max_messages: int | None
    flying: dict[asyncio.Task[None], int] = field(default_factory=dict)
    ahead: asyncio.Task[_Claimed | None] | None = None
    done: Callable[[], bool] = lambda: False


def _done(p: _Pass, clock: Clock) -> bool:
    """A stop, the budget spent, or as many sent as asked."""
    return (
        (p.stopping is not None and p.stopping())
        or (p.deadline is not None and clock.monotonic() >= p.deadline)
        or (p.max_messages is not None and p.stats.sent >= p.max_messages)
    )


async def _landed(flying: dict[asyncio.Task[None], int], *, only_done: bool = False) -> None:
    """Wait for every send under way (``only_done``: take the finished ones only), then
    raise the first failure: a send that went out is recorded, never cut off because
    another failed."""
    tasks = [t for t in flying if t.done()] if only_done else list(flying)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for task in tasks:
        del flying[task]
    for result in results:
        if isinstance(result, BaseException):
            raise result


async def _one_landed(flying: dict[asyncio.Task[None], int]) -> None:
    """Wait until at least one send under way has finished, and take the finished ones."""
    await asyncio.wait(flying, return_when=asyncio.FIRST_COMPLETED)
    await _landed(flying, only_done=True)


class Dispatcher(Claims, RowDelivery):
    def __init__(self, ctx: AppContext, transport: Transport) -> None:
        self.ctx = ctx
        self.transport = transport
        self.worker = ctx.settings.worker_id
        self._claimed: dict[int, tuple[Outbox | None, list[OutboxFile]]] = {}
        self.deferred_until: datetime | None = None  # the latest a row put back falls due
        self.put_back = 0
        self._sent_marks = []
        #: seconds a send's outcome takes to record (a moving average): it holds its place
        #: in the window as long as Telegram's answer does
        self.recording = 0.0
        self._marking = None

    # -- claiming: recover, release, claim, claim_batch, release_unsent (bot.services.claims)
    async def candidates(self, now: datetime, limit: int | None = None) -> list[int]:
        """The due rows to claim next, interactive first (at most ``DISPATCH_BATCH``)."""
        limit = min(limit or self.ctx.settings.dispatch_batch, self.ctx.settings.dispatch_batch)
        async with self.ctx.db.transaction() as s:
            rows = await s.scalars(
                select(Outbox.id)
                .where(Outbox.status == OutboxStatus.PENDING.value, Outbox.next_attempt_at <= now)
                .order_by(Outbox.priority, Outbox.next_attempt_at, Outbox.id)
                .limit(limit)
            )
            return list(rows)

    # -- the loop -----------------------------------------------------------------------
    async def run(
        self,
        *,
        budget_seconds: float | None = None,
        max_messages: int | None = None,
        interrupt: asyncio.Event | None = None,
        recover: bool = True,
        stopping: Callable[[], bool] | None = None,
        wait_deferred: bool = True,
    ) -> DispatchStats:
        """Send due rows until none are due, the time budget is spent, or ``max_messages``
        were sent.  Rows this run put back because their chat was not free yet are waited
        for (within the budget) unless ``wait_deferred`` is false: the running sender's own
        idle wait finds them (:mod:`bot.services.sender`).

        Rows are claimed interactive first (see :class:`~bot.store.models.OutboxPriority`), a
        batch of :meth:`claim_batch_size` in one conditional ``UPDATE`` and then sent, at most
        :meth:`window` at a time.  When ``interrupt`` is set (the sender's: a commit queued an
        interactive row), the batch's unsent rows are given back and the due rows are asked
        again, so a press never waits behind a batch of bulk; when ``stopping()`` says so,
        they are given back and it returns."""
        clock = self.ctx.clock
        deadline = clock.monotonic() + budget_seconds if budget_seconds is not None else None
        p = _Pass(DispatchStats(), interrupt, stopping, wait_deferred, deadline, max_messages)
        p.done = functools.partial(_done, p, clock)
        if recover:
            await self.recover()
        self.deferred_until = None
        try:
            await self._rounds(p)
        except asyncio.CancelledError:  # a stop that could not wait: the sends go with it
            for task in [*p.flying, *([p.ahead] if p.ahead else [])]:
                task.cancel()
            raise
        except Exception:  # a send that went is recorded, never cut off by another's failure
            # (the rows left claimed go back when the caller recovers: Sender, or the lease)
            await asyncio.gather(*p.flying, *([p.ahead] if p.ahead else []), return_exceptions=True)
            raise
        await _landed(p.flying)
        return p.stats

    async def _rounds(self, p: _Pass) -> None:
        """Claim the due rows a batch at a time and send them, each batch claimed while the
        last one's sends are still going (see :meth:`_batch`), until none are due (or ``p``
        says so)."""
        clock = self.ctx.clock
        size = self.claim_batch_size()
        while True:
            if p.ahead is not None:
                got = await self._take_ahead(p)
            elif (p.stopping is not None and p.stopping()) or not await self._wait_out_pause(
                p.done
            ):
                return
            else:
                got = await self._claim_next(p, size, set(p.flying.values()))
            if got is None:  # nothing due
                await _landed(p.flying)  # their outcomes may reschedule rows
                wait = await self._deferred_wait() if p.wait_deferred else None
                if wait is None or p.done():
                    return
                if p.deadline is not None:
                    wait = min(wait, max(p.deadline - clock.monotonic(), 0.0))
                await clock.sleep(wait)
                continue
            if await self._batch(got, p, size) is _Step.RETURN:
                return

    async def _claim_next(self, p: _Pass, size: int, busy: set[int]) -> _Claimed | None:
        """Ask for the next ``size`` due rows, interactive first, and claim them (None: none
        are due).  ``busy``: the chats of the sends under way and to come, whose rows go
        back."""
        clock, stats = self.ctx.clock, p.stats
        if p.interrupt is not None:  # what an interrupt asks for, this asking answers
            p.interrupt.clear()
        ids = await self.candidates(clock.now(), size)
        if not ids:
            return None
        at, before = clock.monotonic(), self.put_back
        claimed = await self.claim_batch(ids, clock.now(), busy)
        stats.waited += self.put_back - before
        stats.lost_claims += len(ids) - len(claimed) - (self.put_back - before)
        return _Claimed(claimed, at)

    async def _take_ahead(self, p: _Pass) -> _Claimed | None:
        """The batch claimed ahead (see :meth:`_batch`), once its claim has ended."""
        task, p.ahead = p.ahead, None
        assert task is not None
        got = await task
        if got is not None:
            got.ahead = True
        return got

    async def _give_back(self, p: _Pass, unsent: list[int]) -> None:
        """An interrupt, a pause, a stop: the sends under way are finished, and the batch's
        unsent rows, and the next batch's if it was claimed ahead, go back."""
        await _landed(p.flying)
        if p.ahead is not None:
            got = await self._take_ahead(p)
            unsent = unsent + (got.ids if got is not None else [])
        await self.release_unsent(unsent)

    async def _deferred_wait(self) -> float | None:
        """With nothing due: how long to sleep before asking again, while rows this run put
        back until their chat is free are still waiting (None: none are, or the last of them
        fell due and was taken).  At most :data:`MAX_DEFER_SLEEP_SECONDS`, so a stop is
        seen soon; until the earliest pending row, so each goes when it falls due."""
        now = self.ctx.clock.now()
        if self.deferred_until is None or self.deferred_until <= now:
            self.deferred_until = None
            return None
        due = await self.next_due()
        until = self.deferred_until if due is None else min(due, self.deferred_until)
        wait = (until - now).total_seconds()
        return min(max(wait, MIN_DEFER_WAIT_SECONDS), MAX_DEFER_SLEEP_SECONDS)

    def claim_batch_size(self) -> int:
        """:data:`BATCH_SECONDS` of sends at the cap (:data:`CLAIM_BATCH` at 25/s, never fewer,
        at most :data:`MAX_CLAIM_BATCH`), when the lease is long enough for a batch's rows to
        be sent with their claim at most half the lease old (:meth:`_batch`), and the other
        half covers one row's own wait: a group's minute in the limiter and its request.
        With a shorter lease, one row at a time."""
        settings = self.ctx.settings
        one_row = 61.0 + 3 * settings.request_timeout_seconds
        if settings.outbox_lease_seconds < 2 * one_row:
            return 1
        at_cap = math.ceil(settings.rate_global_per_second * BATCH_SECONDS)
        return max(CLAIM_BATCH, min(MAX_CLAIM_BATCH, at_cap))

    async def _batch(self, got: _Claimed, p: _Pass, size: int) -> _Step:
        """Start the sends of a claimed batch, at most :meth:`window` in flight (this batch's
        and the last's together); returns once the last has started.  Once half of them have
        started, the next batch is asked for and claimed in a task of its own (its rows of
        this batch's chats go back; the limiter reserves its slots after this batch's), so
        its claim overlaps these sends instead of coming between two batches.  Before each
        send starts: a stop or the budget spent, a wake-up for an interactive row, a 429's
        pause (never wait one out holding claims), or a claim half the lease old gives the
        unsent rows back (the sends in flight are finished first)."""
        clock, stats, claimed = self.ctx.clock, p.stats, got.ids
        await _landed(p.flying, only_done=True)  # a send's failure is raised here
        if not claimed and p.flying:  # rows of the chats in flight: asked again once one
            await _one_landed(p.flying)  # lands, not at once
        hold = self.ctx.settings.outbox_lease_seconds / 2
        for n, outbox_id in enumerate(claimed):
            while len(p.flying) >= self.window():
                await _one_landed(p.flying)
            step = _Step.NEXT
            if p.done():
                step = _Step.RETURN
            elif (n or got.ahead) and (
                (p.interrupt is not None and p.interrupt.is_set())
                or self._paused()
                or clock.monotonic() - got.at >= hold
            ):
                step = _Step.ASK_AGAIN
            if step is not _Step.NEXT:
                await self._give_back(p, claimed[n:])
                return step
            stats.claimed += 1
            p.flying[asyncio.create_task(self.deliver(outbox_id, stats))] = self._chat_of(outbox_id)
            if p.ahead is None and len(claimed) - n - 1 == len(claimed) // 2:
                busy = {*p.flying.values(), *map(self._chat_of, claimed[n + 1 :])}
                p.ahead = asyncio.create_task(self._claim_next(p, size, busy))
        return _Step.NEXT

    def _chat_of(self, outbox_id: int) -> int:
        """The chat of a row this worker claimed and has not sent yet (0: not known)."""
        loaded = self._claimed.get(outbox_id)
        return loaded[0].chat_id if loaded is not None and loaded[0] is not None else 0

    def window(self) -> int:
        """How many sends are in flight at once: as many as the cap needs while each waits
        for Telegram's answer and its outcome is recorded (1.5 × cap × both, at least 1 and
        at most a batch).  One on a fast link at Telegram's own cap, so a ``kill -9`` then
        resends at most one message; a slow link (or a raised cap) several, and as many at
        most after a kill."""
        round_trip: Callable[[], float] | None = getattr(self.transport, "round_trip", None)
        if round_trip is None:
            return 1
        need = 1.5 * self.ctx.settings.rate_global_per_second * (round_trip() + self.recording)
        return max(1, min(CLAIM_BATCH, math.ceil(need)))

    def _paused(self) -> bool:
        return self.transport.paused_for() > 0 or self.ctx.delivery_pause.active

    async def _wait_out_pause(self, stopping: Callable[[], bool] | None) -> bool:
        """While a 429 pauses every send, wait *before* claiming the next row: a claim held
        through a ``retry_after`` longer than the lease would let another worker send the
        same row.  Returns False when a stop came meanwhile, or while the channel refuses
        the bot (see :mod:`bot.services.deliverypause`)."""
        if not await deliverypause.ready(self.ctx, self.transport):
            return False
        while (pause := self.transport.paused_for()) > 0:
            if stopping is not None and stopping():
                return False
            await self.ctx.clock.sleep(min(pause, 1.0))
        return True

    async def next_due(self) -> datetime | None:
        """When the earliest pending row becomes due (None: nothing pending); while delivery
        is paused, not before the next probe of the bot."""
        async with self.ctx.db.transaction() as s:
            due: datetime | None = await s.scalar(
                select(func.min(Outbox.next_attempt_at)).where(
                    Outbox.status == OutboxStatus.PENDING.value
                )
            )
        probe = self.ctx.delivery_pause.next_probe_at
        if due is not None and probe is not None and self.ctx.delivery_pause.active:
            return max(due, probe)
        return due
