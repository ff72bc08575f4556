"""Long polling that confirms to Telegram only the updates that have been handled.

PTB's Updater asks ``getUpdates`` with ``offset`` one past the last update it *fetched*:
Telegram then forgets every update below it.  A kill -9 between the fetch and the
handler's commit would lose a press silently.  Here the offset sent to Telegram is never
past the lowest update fetched but not yet handled (:class:`UpdateLedger`, told by
:class:`~bot.telegram.updates.ChatOrderedProcessor` in a ``finally`` once an update's
handling ended), so after a crash Telegram sends that update again.

Updates re-sent while this process is alive (those above the lowest unhandled one, and
the unhandled ones themselves) are in the ledger and are not handed to the Application a
second time.  After a restart the ledger is empty: what Telegram re-sends was not handled,
or was handled by the previous process concurrently with an older update still in hand;
a press's own idempotence (its confirmation's dedupe key, the chain's state checks)
covers those.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
from collections.abc import Iterable, Sequence
from typing import Any

from telegram import Update
from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import JSONDict, ODVInput, TimePeriod
from telegram.ext import ExtBot


class UpdateLedger:
    """Fetched update ids: those in hand (not yet handled) and those handled but not yet
    confirmed to Telegram."""

    def __init__(self) -> None:
        self._in_hand: set[int] = set()
        self._handled: set[int] = set()
        self._next = 0  # one past the highest update fetched (0: none yet)
        self._changed = asyncio.Event()

    @property
    def next_offset(self) -> int:
        return self._next

    @property
    def polled(self) -> bool:
        """Whether this process has fetched any update with getUpdates."""
        return self._next > 0

    @property
    def in_hand(self) -> frozenset[int]:
        return frozenset(self._in_hand)

    def offset(self, requested: int) -> int:
        """The offset to send: never past an update still in hand."""
        if not self._in_hand:
            return requested
        lowest = min(self._in_hand)
        return min(requested, lowest) if requested > 0 else lowest

    def confirmed(self, offset: int) -> None:
        """Telegram forgot every update below ``offset``: so may we."""
        if offset > 0:
            self._handled = {i for i in self._handled if i >= offset}

    def take(self, updates: Iterable[Update]) -> list[Update]:
        """The updates not seen before, now in hand."""
        fresh = []
        for u in updates:
            if u.update_id in self._in_hand or u.update_id in self._handled:
                continue
            self._in_hand.add(u.update_id)
            self._next = max(self._next, u.update_id + 1)
            fresh.append(u)
        return fresh

    def handled(self, update_id: int) -> None:
        if update_id in self._in_hand:
            self._in_hand.discard(update_id)
            self._handled.add(update_id)
            self._changed.set()

    async def wait_handled(self, seconds: float) -> bool:
        """Wait until some update in hand is handled (False after ``seconds``)."""
        self._changed.clear()
        try:
            async with asyncio.timeout(max(seconds, 0.0)):
                await self._changed.wait()
        except TimeoutError:
            return False
        return True


def _seconds(timeout: TimePeriod | None) -> float:
    if timeout is None:
        return 0.0
    if isinstance(timeout, dtm.timedelta):
        return timeout.total_seconds()
    return float(timeout)


class PollingBot(ExtBot[Any]):
    """The bot, whose ``getUpdates`` keeps the offset at the lowest unhandled update and
    hands each update to the Application once."""

    def __init__(self, *args: Any, ledger: UpdateLedger, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ledger = ledger

    @property
    def ledger(self) -> UpdateLedger:
        return self._ledger

    async def get_updates(
        self,
        offset: int | None = None,
        limit: int | None = None,
        timeout: TimePeriod | None = None,  # noqa: ASYNC109 - PTB's interface
        allowed_updates: Sequence[str] | None = None,
        *,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
        api_kwargs: JSONDict | None = None,
    ) -> tuple[Update, ...]:
        # a network wait, in the event loop's time (not the bot's clock, which tests freeze)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _seconds(timeout)
        while True:
            sent = self._ledger.offset(offset or 0)
            got = await super().get_updates(
                offset=sent or None,
                limit=limit,
                timeout=timeout,
                allowed_updates=allowed_updates,
                read_timeout=read_timeout,
                write_timeout=write_timeout,
                connect_timeout=connect_timeout,
                pool_timeout=pool_timeout,
                api_kwargs=api_kwargs,
            )
            self._ledger.confirmed(sent)
            fresh = self._ledger.take(got)
            left = deadline - loop.time()
            if fresh or not got or left <= 0:
                return tuple(fresh)
            # Telegram re-sent only updates still in hand (or handled above one that is):
            # asking again at once would spin, so wait until one of them is handled
            if not await self._ledger.wait_handled(left):
                return ()

    async def confirm_handled(self) -> None:
        """After a stop, once the updates in hand have been handled: tell Telegram, so that
        the next start does not fetch them again.  (PTB's own last getUpdates comes when
        polling stops, before the Application has finished the updates in hand.)"""
        if not self._ledger.polled:
            return  # a webhook, or nothing fetched: nothing to confirm
        await super().get_updates(offset=self._ledger.offset(self._ledger.next_offset), limit=1,
                                  timeout=0)  # fmt: skip
