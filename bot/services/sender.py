"""The sender: one task that delivers the outbox continuously, woken by the commits that fill it.

* It runs from the application's start to its stop (``post_init`` / ``post_shutdown``), not
  inside the 30 s tick: while the outbox has due rows it sends at the rate limiter's pace,
  all the time.
* A commit that queued a message wakes it at once: in this process through
  :meth:`bot.store.db.Database.on_outbox_queued`, from other processes on PostgreSQL through
  ``LISTEN``/``NOTIFY`` (:meth:`bot.store.db.Database.listen_outbox`).  An interactive row
  queued in the middle of a batch makes the dispatcher give back the batch's unsent rows
  and ask again, interactive rows first; bulk rows (the morning's reminders, queued while
  it sends the first of them) wait their turn, the batch in hand goes on.
* When nothing is due it sleeps until the earliest pending row falls due (quiet hours,
  retries), at most ``idle_seconds``; the tick pokes it too, as a safety net.
* The database or Telegram gone: one line when the outage begins, one when it ends, retries
  with backoff up to a minute in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from bot.domain import OutboxPriority
from bot.logs import reason
from bot.services import deliverypause
from bot.services.context import AppContext
from bot.services.dispatch import Dispatcher
from bot.services.transport import Transport
from bot.store.db import OutboxListening
from bot.store.db import unavailable as database_unavailable

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 60.0
#: A database that is away is asked again at least this often (it is cheap, and the
#: backlog it leaves should start going out soon after it is back).
DB_MAX_BACKOFF_SECONDS = 10.0
MIN_IDLE_SECONDS = 0.05
#: How long a stop waits for the message in hand (a process must be gone within 10 s).
STOP_GRACE_SECONDS = 7.0


class Sender:
    def __init__(
        self, ctx: AppContext, transport: Transport, *, idle_seconds: float | None = None
    ) -> None:
        self.ctx = ctx
        self.dispatcher = Dispatcher(ctx, transport)
        self.idle_seconds = float(idle_seconds or ctx.settings.tick_seconds)
        self.wake = asyncio.Event()  # something may be due: an idle sender looks now
        self.urgent = asyncio.Event()  # an interactive row: the batch in hand gives way
        self._task: asyncio.Task[None] | None = None
        self._remove: Any = None
        self._listener: OutboxListening | None = None
        self._listen_failed = False  # told once, until it listens again
        self.failures = 0
        self.other_failures = 0  # failures that were not the database being away
        self.passes = 0
        self._stopping = False

    @property
    def listening(self) -> OutboxListening | None:
        """Its ``LISTEN`` for other processes' messages (PostgreSQL), None while it has none."""
        return self._listener if self._listener is not None and self._listener.alive else None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def poke(self, priority: OutboxPriority = OutboxPriority.BULK) -> None:
        """Something may be due: look now (an interactive row: before the batch in hand)."""
        if priority == OutboxPriority.INTERACTIVE:
            self.urgent.set()
        self.wake.set()

    async def start(self) -> None:
        if not self.ctx.delivery_pause.active:  # a process that died paused left its row
            await deliverypause.forget(self.ctx)
        self._remove = self.ctx.db.on_outbox_queued(self.poke)
        await self._listen()
        self._task = asyncio.create_task(self._loop(), name="outbox-sender")

    async def stop(self) -> None:
        if self._remove is not None:
            self._remove()
            self._remove = None
        if self._task is not None:
            # the message in hand is finished (and recorded), then the loop returns
            self._stopping = True
            self.wake.set()
            try:
                await asyncio.wait_for(asyncio.shield(self._task), STOP_GRACE_SECONDS)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None
            await self.dispatcher.release()
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
            self._listener = None

    def stopping(self) -> bool:
        return self._stopping

    async def _listen(self) -> None:
        """``LISTEN`` for other processes' messages (PostgreSQL); a listening lost with its
        connection wakes the loop, which listens again before its next pass (what was
        queued meanwhile, that pass finds).  While it cannot, the safety-net poll still
        finds what others queue."""
        if self._listener is not None:
            if self._listener.alive:
                return
            with contextlib.suppress(Exception):
                await self._listener.close()
            self._listener = None
        try:
            self._listener = await self.ctx.db.listen_outbox(self.poke, on_lost=self.wake.set)
        except Exception as exc:
            if not self._listen_failed and not database_unavailable(exc):  # (an outage: told)
                log.warning("sender: cannot LISTEN for other processes' messages: %s", reason(exc))
            self._listen_failed = True
            return
        if self._listen_failed and self._listener is not None:
            log.info("sender: listening for other processes' messages again")
        self._listen_failed = False

    async def _loop(self) -> None:
        while not self._stopping:
            self.wake.clear()
            try:
                await self._listen()  # again, if its connection was lost
                if self.failures:  # a claim the failure cut short goes back to pending
                    await self.dispatcher.recover()
                stats = await self.dispatcher.run(
                    interrupt=self.urgent,
                    recover=False,
                    stopping=self.stopping,
                    wait_deferred=False,
                )
                idle = await self._idle_for()
            except Exception as exc:
                self.failures += 1
                idle = min(2.0 ** (self.failures - 1), MAX_BACKOFF_SECONDS)
                if database_unavailable(exc):  # one account of it for the whole process
                    self.ctx.db_outage.failed(exc)
                    idle = min(idle, DB_MAX_BACKOFF_SECONDS)
                else:
                    self.other_failures += 1
                    level = logging.WARNING if self.other_failures == 1 else logging.DEBUG
                    log.log(level, "sender: delivery stopped (%s); retrying", reason(exc))
            else:
                if self.ctx.db_outage.ongoing:
                    self.ctx.db_outage.ok()
                if self.other_failures:
                    log.warning(
                        "sender: delivery resumed after %d failed tries", self.other_failures
                    )
                self.failures = self.other_failures = 0
                if stats.claimed:
                    log.info("dispatch: %s", stats)
            self.passes += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), idle)

    async def _idle_for(self) -> float:
        """Real seconds to sleep: until the earliest pending row is due, at most idle_seconds."""
        due = await self.dispatcher.next_due()
        if due is None:
            return self.idle_seconds
        wait = (due - self.ctx.clock.now()).total_seconds()
        return max(MIN_IDLE_SECONDS, min(wait, self.idle_seconds))
