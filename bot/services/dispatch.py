"""Delivery: the outbox leaves at the channel's pace, and nothing is lost or sent twice.

* Claiming: ``UPDATE outbox SET status='sending' … WHERE id IN (…) AND status='pending'
  … RETURNING id`` for a batch of up to 8 due rows; the ids returned are the rows this
  worker won.  The claim commits before the sends, so two dispatchers never send the same
  row.  An interrupt (an interactive row queued), a 429's pause or a stop gives the unsent
  rows of the batch back to ``pending`` at once.
* A row whose chat is not free yet (its person had a message a moment ago) goes back until
  it is, so it never holds up the rest of the batch (``reserve_sends`` of the transport).
* As many messages in flight as the cap needs while Telegram answers (:meth:`Dispatcher.window`:
  one on a fast link at Telegram's cap, up to a batch on a slow one), each marked sent right
  after its send (the answers that come while one write is under way, together in the
  next): a killed process leaves at most its batch in ``sending``.  On restart (or
  when its lease expires) those go back to ``pending`` and are sent again — the ones that
  were in flight perhaps a second time (at most the window's duplicates per kill: one on a
  fast link), the others for the first time; never a loss.
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
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import assert_never

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import OutboxStatus
from bot.services import deliverypause
from bot.services.claims import Claims
from bot.services.context import AppContext
from bot.services.outboxwrites import OutboxWrites
from bot.services.transport import (
    BotUnusable,
    Done,
    Migrated,
    Outcome,
    OutgoingFile,
    Permanent,
    Rejected,
    RetryAfter,
    Sent,
    Transient,
    Transport,
    buttons_from_stored,
)
from bot.services.unreachable import chat_moved, chat_unreachable
from bot.store.models import Outbox, OutboxFile

log = logging.getLogger(__name__)

#: Rows claimed in one ``UPDATE``: a claim's commit per 8 messages, not per message, which is
#: what lets one sender keep up with the 25/s cap; few enough that giving back the unsent
#: ones (an interactive row, a stop) costs nothing.
CLAIM_BATCH = 8
#: The shortest wait for rows put back until their chat is free (they may be due already).
MIN_DEFER_WAIT_SECONDS = 0.01
MAX_DEFER_SLEEP_SECONDS = 1.0


@dataclass
class DispatchStats:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    rate_limited: int = 0
    lost_claims: int = 0
    paused: int = 0  # rows given back because the channel refused the bot
    waited: int = 0  # rows put back until their chat was free (not lost to another worker)


def backoff(attempts: int, cap_seconds: float = 300) -> timedelta:
    """5 s, 10 s, 20 s … capped (``OUTBOX_RETRY_MAX_SECONDS``, 5 minutes)."""
    return timedelta(seconds=min(5 * 2 ** min(max(attempts - 1, 0), 30), cap_seconds))


@dataclass(frozen=True)
class _AllSent:
    """Every part of the row went; ``text_id`` is its text's message (None: files only)."""

    text_id: int | None


class _Step(enum.Enum):
    NEXT = "next batch"
    ASK_AGAIN = "ask the due rows again"
    RETURN = "return"


async def _ended(tasks: Collection[asyncio.Task[None]]) -> None:
    """Wait for every one of these sends, then raise the first failure: a send that went
    out is recorded, never cut off because another failed."""
    for result in await asyncio.gather(*tasks, return_exceptions=True):
        if isinstance(result, BaseException):
            raise result


class Dispatcher(Claims, OutboxWrites):
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
    @staticmethod
    async def _load(s: AsyncSession, outbox_id: int) -> tuple[Outbox | None, list[OutboxFile]]:
        row = await s.get(Outbox, outbox_id)
        files = await s.scalars(
            select(OutboxFile)
            .where(OutboxFile.outbox_id == outbox_id)
            .order_by(OutboxFile.position)
        )
        return row, list(files)

    async def candidates(self, now: datetime) -> list[int]:
        async with self.ctx.db.transaction() as s:
            rows = await s.scalars(
                select(Outbox.id)
                .where(Outbox.status == OutboxStatus.PENDING.value, Outbox.next_attempt_at <= now)
                .order_by(Outbox.priority, Outbox.next_attempt_at, Outbox.id)
                .limit(self.ctx.settings.dispatch_batch)
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
        batch of up to :data:`CLAIM_BATCH` in one conditional ``UPDATE`` and then sent, at most
        :meth:`window` at a time.  When ``interrupt`` is set (a commit queued something), the batch's unsent rows
        are given back and the due rows are asked again, so a press never waits behind a batch
        of bulk; when ``stopping()`` says so, they are given back and it returns."""
        stats = DispatchStats()
        clock = self.ctx.clock
        deadline = clock.monotonic() + budget_seconds if budget_seconds is not None else None

        def done() -> bool:
            return (
                (stopping is not None and stopping())
                or (deadline is not None and clock.monotonic() >= deadline)
                or (max_messages is not None and stats.sent >= max_messages)
            )

        if recover:
            await self.recover()
        size = self.claim_batch_size()
        self.deferred_until = None
        while True:
            if stopping is not None and stopping():
                return stats
            if interrupt is not None:
                interrupt.clear()
            ids = await self.candidates(clock.now())
            if not ids:
                wait = await self._deferred_wait() if wait_deferred else None
                if wait is None or done():
                    return stats
                if deadline is not None:
                    wait = min(wait, max(deadline - clock.monotonic(), 0.0))
                await clock.sleep(wait)
                continue
            for start in range(0, len(ids), size):
                step = await self._batch(ids[start : start + size], stats, done, interrupt)
                if step is _Step.RETURN:
                    return stats
                if step is _Step.ASK_AGAIN:
                    break

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
        """:data:`CLAIM_BATCH`, when the lease is long enough for a batch's rows to be sent
        with their claim at most half the lease old (:meth:`_batch`), and the other half
        covers one row's own wait: a group's minute in the limiter and its request.  With a
        shorter lease, one row at a time."""
        settings = self.ctx.settings
        one_row = 61.0 + 3 * settings.request_timeout_seconds
        return CLAIM_BATCH if settings.outbox_lease_seconds >= 2 * one_row else 1

    async def _batch(
        self,
        ids: list[int],
        stats: DispatchStats,
        done: Callable[[], bool],
        interrupt: asyncio.Event | None,
    ) -> _Step:
        """Claim ``ids`` at once and send the rows won, at most :meth:`window` of them in
        flight.  Before each send starts: a stop or the budget spent, a wake-up for an
        interactive row, a 429's pause (never wait one out holding claims), or a claim half
        the lease old gives the unsent rows back (the sends in flight are finished first)."""
        clock = self.ctx.clock
        if done():
            return _Step.RETURN
        if interrupt is not None and interrupt.is_set():
            return _Step.ASK_AGAIN
        if not await self._wait_out_pause(lambda: done()):
            return _Step.RETURN
        claimed_at = clock.monotonic()
        before = self.put_back
        claimed = await self.claim_batch(ids, clock.now())
        stats.waited += self.put_back - before
        stats.lost_claims += len(ids) - len(claimed) - (self.put_back - before)
        hold = self.ctx.settings.outbox_lease_seconds / 2
        flying: set[asyncio.Task[None]] = set()
        try:
            for n, outbox_id in enumerate(claimed):
                while len(flying) >= self.window():
                    finished, flying = await asyncio.wait(
                        flying, return_when=asyncio.FIRST_COMPLETED
                    )
                    if any(not t.cancelled() and t.exception() for t in finished):
                        await _ended([*finished, *flying])
                step = _Step.NEXT
                if done():
                    step = _Step.RETURN
                elif n and (
                    (interrupt is not None and interrupt.is_set())
                    or self._paused()
                    or clock.monotonic() - claimed_at >= hold
                ):
                    step = _Step.ASK_AGAIN
                if step is not _Step.NEXT:
                    await _ended(flying)
                    await self.release_unsent(claimed[n:])
                    return step
                stats.claimed += 1
                flying.add(asyncio.create_task(self.deliver(outbox_id, stats)))
            await _ended(flying)
        except asyncio.CancelledError:  # a stop that could not wait: the sends go with it
            for task in flying:
                task.cancel()
            raise
        return _Step.NEXT

    def window(self) -> int:
        """How many sends are in flight at once: as many as the cap needs while each waits
        for Telegram's answer and its outcome is recorded (1.5 × cap × both, at least 1 and
        at most a batch).  One
        on a fast link at Telegram's own cap, so a ``kill -9`` then resends at most one
        message; a slow link (or a raised cap) several, and as many at most after a kill."""
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

    # -- one row --------------------------------------------------------------------------
    async def deliver(self, outbox_id: int, stats: DispatchStats) -> None:
        """Send one claimed row (its text, then its files) and record what came of it."""
        loaded = self._claimed.pop(outbox_id, None)
        if loaded is None:
            async with self.ctx.db.transaction() as s:
                loaded = await self._load(s, outbox_id)
        row, files = loaded
        if row is None:
            return
        outcome = await self._send(row, files)
        started = self.ctx.clock.monotonic()
        await self._record(row, outcome, stats)
        took = self.ctx.clock.monotonic() - started
        self.recording = 0.8 * self.recording + 0.2 * took

    async def _send(self, row: Outbox, files: list[OutboxFile]) -> _AllSent | Outcome:
        """The parts not sent yet; each one that goes is recorded at once, so a retry
        resends none of them.  Stops at the first that does not go."""
        text_id = row.telegram_message_id
        if row.text and text_id is None:
            buttons = buttons_from_stored(row.reply_markup)
            outcome = await self.transport.send_text(row.chat_id, row.text, buttons)
            if not isinstance(outcome, Sent):
                return outcome
            text_id = outcome.message_id
            if files:
                await self._settle(functools.partial(self._mark_part, row.id, None, text_id))
        for f in files:
            if f.telegram_message_id is not None:
                continue
            part = OutgoingFile(
                "photo" if f.kind == "photo" else "document", f.filename, f.content, f.caption
            )
            outcome = await self.transport.send_file(row.chat_id, part)
            if not isinstance(outcome, Sent):
                return outcome
            await self._settle(functools.partial(self._mark_part, row.id, f.id, outcome.message_id))
        return _AllSent(text_id)

    async def _record(self, row: Outbox, outcome: _AllSent | Outcome, stats: DispatchStats) -> None:
        """What the outcome of a send does to the row (and, for some, to its chat)."""
        outbox_id = row.id
        match outcome:
            case _AllSent(text_id):
                await self._settle(lambda: self._mark_sent(outbox_id, text_id))
                stats.sent += 1
            case RetryAfter(seconds):  # every send waits (paused_for); this one is not counted
                stats.rate_limited += 1
                stats.retried += 1
                error, delay = f"429: retry after {seconds:g} s", timedelta(seconds=seconds)
                await self._settle(
                    lambda: self._reschedule(outbox_id, error, delay, count_attempt=False)
                )
            case Transient(reason):  # never given up by count, only delayed
                stats.retried += 1
                delay = backoff(row.attempts, self.ctx.settings.outbox_retry_max_seconds)
                await self._settle(lambda: self._reschedule(outbox_id, reason, delay))
            case BotUnusable(reason):  # about the bot: the row goes back as it was
                stats.paused += 1
                await self._settle(
                    lambda: self._reschedule(outbox_id, reason, timedelta(0), count_attempt=False)
                )
                await deliverypause.pause(self.ctx, reason)
            case Migrated(new_chat_id):
                stats.retried += 1
                await chat_moved(self.ctx, row.chat_id, new_chat_id)
            case Permanent(reason):
                stats.failed += 1
                await chat_unreachable(self.ctx, row, reason)
            case Rejected(reason):  # a malformed message: retrying cannot help
                stats.failed += 1
                await self._fail(outbox_id, reason)
            case Sent() | Done():  # pragma: no cover - _send turns these into _AllSent
                raise AssertionError(f"unexpected outcome {outcome}")
            case _:
                assert_never(outcome)
