"""Incoming updates: concurrent across chats, in order within a chat, and no floods.

:class:`ChatOrderedProcessor` is the ``BaseUpdateProcessor`` the Application runs every
update through:

* Updates of *different* chats are handled concurrently (at most ``workers`` at a time),
  so one busy or hostile chat never makes a colleague wait.
* Updates of the *same* chat are handled one at a time, in the order they arrived (a
  FIFO lock per chat, taken before anything else can yield), so "/lang en" then "/help"
  is answered in English, and a double press is seen as a second press.
* Each sender is rate-limited by :class:`SenderGate` (a sliding minute): strangers get
  ``stranger_per_minute`` updates handled, registered people ``staff_per_minute``; the
  excess is dropped quietly — no reply, no database work.

Once an update's handling has ended (committed and answered, or failed), the
:class:`~bot.telegram.polling.UpdateLedger` is told, in a ``finally``: only then may the
long poll confirm it to Telegram.

PTB's own semaphore (``max_concurrent_updates``) only bounds how many updates may wait
here; the real concurrency limit is ours, taken *after* the chat's turn has come, so
updates queued behind a flooder's chat never hold a slot another chat needs.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.clock import Clock
from bot.telegram.polling import UpdateLedger

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60.0
KNOWN_TTL_SECONDS = 60.0  # how long "registered or not" is remembered per sender
MAX_WAITING = 10_000  # updates that may wait in this process (PTB's semaphore)
MAX_SENDERS = 10_000  # senders remembered before idle ones are forgotten

IsRegistered = Callable[[int], Awaitable[bool]]


@dataclass
class SenderGate:
    """Sliding-minute limits per sender; registration is looked up only for a sender over
    the strangers' limit, and remembered for a minute."""

    clock: Clock
    is_registered: IsRegistered
    stranger_per_minute: int = 20
    staff_per_minute: int = 60
    _seen: dict[int, deque[float]] = field(default_factory=dict)
    _known: dict[int, tuple[bool, float]] = field(default_factory=dict)
    dropped: int = 0

    def _window(self, sender: int, now: float) -> deque[float]:
        stamps = self._seen.setdefault(sender, deque())
        while stamps and now - stamps[0] >= WINDOW_SECONDS:
            stamps.popleft()
        return stamps

    async def admit(self, sender: int | None) -> bool:
        """Count one update of ``sender``; False if it is over their limit (drop it)."""
        if sender is None:
            return True
        now = self.clock.monotonic()
        self._forget_idle(now)
        stamps = self._window(sender, now)
        if len(stamps) >= self.staff_per_minute or (
            len(stamps) >= self.stranger_per_minute and not await self._registered(sender, now)
        ):
            self.dropped += 1
            return False
        stamps.append(now)
        return True

    async def _registered(self, sender: int, now: float) -> bool:
        known = self._known.get(sender)
        if known is not None and now - known[1] < KNOWN_TTL_SECONDS:
            return known[0]
        registered = await self.is_registered(sender)
        self._known[sender] = (registered, now)
        return registered

    def _forget_idle(self, now: float) -> None:
        """Keep memory bounded: past 10,000 senders, forget those idle for a minute."""
        if len(self._seen) > MAX_SENDERS:
            for key in [k for k, v in self._seen.items() if not v or now - v[-1] >= WINDOW_SECONDS]:
                del self._seen[key]
            for key in [k for k, v in self._known.items() if now - v[1] >= KNOWN_TTL_SECONDS]:
                del self._known[key]


def chat_key(update: object) -> int | None:
    """Updates with the same key are handled in order: the chat, else the sender."""
    if isinstance(update, Update):
        if update.effective_chat is not None:
            return update.effective_chat.id
        if update.effective_user is not None:
            return update.effective_user.id
    return None


def sender_of(update: object) -> int | None:
    if isinstance(update, Update) and update.effective_user is not None:
        return update.effective_user.id
    return None


class ChatOrderedProcessor(BaseUpdateProcessor):
    def __init__(
        self, gate: SenderGate, *, workers: int = 8, ledger: UpdateLedger | None = None
    ) -> None:
        super().__init__(MAX_WAITING)
        self.gate = gate
        self.ledger = ledger
        self.workers = workers
        self._work = asyncio.Semaphore(workers)
        self._chats: dict[int, tuple[asyncio.Lock, int]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        try:
            await self._in_turn(update, coroutine)
        finally:
            if self.ledger is not None and isinstance(update, Update):
                self.ledger.handled(update.update_id)

    async def _in_turn(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = chat_key(update)
        if key is None:
            await self._run(update, coroutine)
            return
        lock, users = self._chats.get(key) or (asyncio.Lock(), 0)
        self._chats[key] = (lock, users + 1)
        try:
            async with lock:  # the first await: the chat's turns follow arrival order
                await self._run(update, coroutine)
        finally:
            lock, users = self._chats[key]
            if users <= 1:
                del self._chats[key]
            else:
                self._chats[key] = (lock, users - 1)

    async def _run(self, update: object, coroutine: Awaitable[Any]) -> None:
        if not await self.gate.admit(sender_of(update)):
            log.debug("dropped an update from %s: over the rate limit", sender_of(update))
            if asyncio.iscoroutine(coroutine):
                coroutine.close()
            return
        async with self._work:
            await coroutine

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None
