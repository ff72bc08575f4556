"""The pure-asyncio throttle behind :class:`~bot.telegram.ratelimit.TelegramRateLimiter`:
sliding logs (deques of monotonic timestamps), so the limits hold for *every* window
``[t, t + w)``, not only for aligned buckets (fixed buckets allow a 2x burst across a bucket
edge).  All time comes from the injected :class:`~bot.clock.Clock`; tests use ``FakeClock``.
It paces one process; :mod:`bot.telegram.sharedlimit` paces several on one database.

Waiting and fairness
--------------------
Every caller of :meth:`SendLimiter.acquire` joins one FIFO queue.  Slots are
handed out by :meth:`SendLimiter._dispatch`, a synchronous pass (no ``await``,
so it is atomic under asyncio and needs no lock) that walks the queue in
arrival order and grants every waiter that may go *now*:

* while global capacity is left, waiters are granted in FIFO order;
* a waiter whose own chat window is full is *skipped* (it keeps its place) and
  later waiters for other chats go ahead of it - one busy chat never stalls
  the others; waiters of the same chat still go in their own FIFO order;
* when global capacity runs out the pass stops, so the oldest waiter gets the
  next free global slot.

The grant (and the timestamp recorded for it) happens inside that synchronous
pass, so waiters can never all wake up and overshoot.  Any waiter may run the
pass (on arrival, or after waking).  Normally only *one* waiter (the
"timekeeper") sleeps on the clock, until the earliest moment at which anything
could be granted; the rest wait on their own ``asyncio.Event``, which the pass
sets when it grants them.  A newcomer sleeps as well only if it needs waking
*earlier* than every current sleeper (e.g. the timekeeper waits out a group's
minute while newcomers fill the global second).  A waiter that leaves (granted
or cancelled) while nobody would wake in time hands the role to the oldest
waiter that is not sleeping.  Apart from being cheap (no thundering herd),
this keeps ``FakeClock`` exact: its ``sleep`` moves time at once, so
concurrent sleepers would add up their waits.

Cost: a pass walks the queue from its head and stops when the global budget
is used up; waiters skipped because their chat is full are walked again on
every pass, so avoid queueing thousands of sends to one group at once.

Not thread-safe: use one limiter from one event loop.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import re
from collections import deque
from dataclasses import dataclass, field
from typing import TypeAlias

from bot.clock import Clock

__all__ = ["CHAT_MARGIN_SECONDS", "ChatId", "SendLimiter"]

_log = logging.getLogger(__name__)

ChatId: TypeAlias = int | str | None
_ChatKey: TypeAlias = int | str

#: The shortest sleep we ask of the clock.  Deadlines are strictly in the
#: future, but float/timedelta rounding can leave a residue of nanoseconds that
#: a clock might round to zero (FakeClock works in microseconds): never loop on it.
_MIN_SLEEP = 0.001
#: How many times the timekeeper yields to let just-granted waiters resume before
#: it moves the clock (matters only for FakeClock, whose sleep moves time at once).
_MAX_SETTLE = 8
_GLOBAL_WINDOW = 1.0
#: How much longer than Telegram's a chat's window is for the bot's own limiter: sends to one
#: private chat 1.15 s apart, not exactly 1 s (an emulator enforcing Telegram's limit answered
#: 429 in 3 of 4 runs to sends spaced exactly 1.000 s, after the network's jitter).
CHAT_MARGIN_SECONDS = 0.15
_NUMERIC_ID = re.compile(r"-?[0-9]+")


@dataclass(slots=True)
class _Window:
    """A per-chat limit: at most ``limit`` sends in any ``seconds``-long window."""

    name: str
    limit: int
    seconds: float
    #: (timestamp, chat) for every live send of this kind, oldest first; drives pruning.
    expiry: deque[tuple[float, _ChatKey]] = field(default_factory=deque)


@dataclass(eq=False, slots=True)
class _Waiter:
    seq: int
    key: _ChatKey | None
    window: _Window | None
    event: asyncio.Event
    granted: bool = False
    claimed: bool = False


class SendLimiter:
    """Throttle sends: overall, per private chat and per group (sliding windows).

    ``acquire(chat_id)`` returns once one more send to ``chat_id`` is allowed and
    has been recorded.  For any half-open window ``[t, t + 1)`` of the clock's
    monotonic time there are at most ``global_per_second`` sends in total and at
    most ``private_per_second`` to any one private chat (``chat_id > 0``); for
    any ``[t, t + 60)`` at most ``group_per_minute`` to any one group
    (``chat_id <= 0`` or an ``"@username"``).  ``chat_id=None`` counts only
    against the global limit.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        global_per_second: int = 25,
        private_per_second: int = 1,
        group_per_minute: int = 20,
        chat_margin: float = 0.0,
    ) -> None:
        if not 0.0 <= chat_margin < 1.0:
            raise ValueError(f"chat_margin must be in [0, 1) seconds, not {chat_margin!r}")
        for name, value in (
            ("global_per_second", global_per_second),
            ("private_per_second", private_per_second),
            ("group_per_minute", group_per_minute),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, not {value!r}")
        self._clock = clock
        self._global_limit = global_per_second
        # a chat's windows are ``chat_margin`` longer than Telegram's, so sends spaced
        # exactly at the limit are never judged too close after network jitter
        self._private = _Window("private", private_per_second, 1.0 + chat_margin)
        self._group = _Window("group", group_per_minute, 60.0 + chat_margin)
        self._global: deque[float] = deque()
        #: Live send timestamps per chat; a chat with none in its window is dropped.
        self._chats: dict[_ChatKey, deque[float]] = {}
        #: Waiters not yet granted, in arrival order (dicts keep insertion order).
        self._pending: dict[int, _Waiter] = {}
        #: seq -> wake-up target of waiters currently sleeping on the clock.
        self._sleepers: dict[int, float] = {}
        #: Granted waiters whose coroutine has not resumed yet.
        self._unclaimed = 0
        self._pause_until = -math.inf
        #: What the last dispatch pass returned: the earliest time a grant may be possible.
        self._next_time = math.inf
        self._seq = itertools.count()
        self._granted_total = 0

    # -- public API ---------------------------------------------------------------

    async def acquire(self, chat_id: ChatId) -> None:
        """Wait until one more send to ``chat_id`` is allowed, and record it."""
        key, window = self._classify(chat_id)
        waiter = _Waiter(next(self._seq), key, window, asyncio.Event())
        self._pending[waiter.seq] = waiter
        settle = 0
        try:
            while not waiter.granted:
                waiter.event.clear()
                now = self._clock.monotonic()
                next_time = self._dispatch(now)
                if waiter.granted:
                    break
                if not self._should_keep_time(next_time):
                    # Someone else wakes up no later than we need to; they will
                    # grant us (or hand us the timekeeper role).
                    await waiter.event.wait()
                    continue
                self._sleepers[waiter.seq] = next_time
                try:
                    if self._unclaimed and settle < _MAX_SETTLE:
                        # Let the waiters we just granted resume (and send) before
                        # we move the clock: FakeClock's sleep advances time at once.
                        settle += 1
                        await asyncio.sleep(0)
                    else:
                        settle = 0
                        await self._clock.sleep(max(next_time - now, _MIN_SLEEP))
                finally:
                    del self._sleepers[waiter.seq]
        finally:
            if waiter.granted:
                if not waiter.claimed:
                    # Claim the grant.  If we were cancelled right after it, the
                    # slot stays counted as used (conservative).
                    waiter.claimed = True
                    self._unclaimed -= 1
            else:
                self._pending.pop(waiter.seq, None)
            self._hand_over()

    def pause(self, retry_after: float) -> None:
        """Allow no send at all before ``now + retry_after`` seconds (a 429 said so).

        Extends, never shortens, a pause already in force.  Non-positive or
        non-finite values are ignored.
        """
        if not math.isfinite(retry_after) or retry_after <= 0:
            return
        until = self._clock.monotonic() + retry_after
        if until > self._pause_until:
            _log.info("Telegram sends paused for %.1f s", retry_after)
            self._pause_until = until

    def paused_for(self) -> float:
        """Seconds left of the current pause (0.0 when not paused)."""
        return max(0.0, self._pause_until - self._clock.monotonic())

    def chat_free_in(self, chat_id: ChatId) -> float:
        """Seconds until the chat's own window lets one more send go (0.0: now); the global
        limit and other waiters not counted."""
        key, window = self._classify(chat_id)
        if key is None or window is None:
            return 0.0
        now = self._clock.monotonic()
        self._prune(now)
        log = self._chats.get(key)
        if log is None or len(log) < window.limit:
            return 0.0
        return max(0.0, log[-window.limit] + window.seconds - now)

    def stats(self) -> dict[str, int | float]:
        """A snapshot for logs and health checks."""
        now = self._clock.monotonic()
        self._prune(now)
        return {
            "waiting": len(self._pending),
            "tracked_chats": len(self._chats),
            "sent_last_second": len(self._global),
            "paused_for": max(0.0, self._pause_until - now),
            "granted_total": self._granted_total,
        }

    # -- internals ----------------------------------------------------------------

    def _classify(self, chat_id: ChatId) -> tuple[_ChatKey | None, _Window | None]:
        if chat_id is None:
            return None, None
        if isinstance(chat_id, bool):
            raise TypeError("chat_id must be an int, a str or None, not a bool")
        if isinstance(chat_id, str):
            text = chat_id.strip()
            if not _NUMERIC_ID.fullmatch(text):
                # "@channelusername": a channel or public group; usernames ignore case.
                return text.lower(), self._group
            chat_id = int(text)
        if isinstance(chat_id, int):
            return chat_id, self._private if chat_id > 0 else self._group
        raise TypeError(f"chat_id must be an int, a str or None, not {type(chat_id).__name__}")

    def _should_keep_time(self, next_time: float) -> bool:
        """Must this waiter sleep, or will a sleeper wake up no later than ``next_time``?"""
        if next_time == math.inf:
            return False
        return not self._sleepers or next_time < min(self._sleepers.values())

    def _hand_over(self) -> None:
        """Make sure someone will wake up in time for the next possible grant.

        If waiters remain but no sleeper wakes up by the time the last pass said
        a grant may become possible, wake the oldest waiter that is not sleeping:
        it re-runs the pass and takes the timekeeper role.  (That time is a
        lower bound - grants, pauses and cancellations only push it later - so
        at worst this wakes someone a little early.)
        """
        if not self._pending:
            return
        if self._sleepers and min(self._sleepers.values()) <= self._next_time:
            return
        for waiter in self._pending.values():
            if waiter.seq not in self._sleepers:
                waiter.event.set()
                return

    def _prune(self, now: float) -> None:
        glob = self._global
        while glob and glob[0] + _GLOBAL_WINDOW <= now:
            glob.popleft()
        for window in (self._private, self._group):
            expiry = window.expiry
            while expiry and expiry[0][0] + window.seconds <= now:
                _, key = expiry.popleft()
                log = self._chats[key]
                log.popleft()  # the chat's oldest entry is the one just expired
                if not log:
                    del self._chats[key]

    def _dispatch(self, now: float) -> float:
        """Grant every waiter that may send at ``now``, oldest first.

        Returns the earliest time at which a further grant could become possible
        (``inf`` if nobody is left waiting).  Synchronous, hence atomic.
        """
        self._next_time = self._grant_due(now)
        return self._next_time

    def _grant_due(self, now: float) -> float:
        self._prune(now)
        if not self._pending:
            return math.inf
        if now < self._pause_until:
            return self._pause_until
        room = self._global_limit - len(self._global)
        next_time = math.inf
        blocked: set[_ChatKey] = set()
        granted: list[_Waiter] = []
        for waiter in self._pending.values():
            if room <= 0:
                # Nobody can go before the oldest send leaves the 1 s window.
                next_time = self._global[-self._global_limit] + _GLOBAL_WINDOW
                break
            key, window = waiter.key, waiter.window
            if key is not None and window is not None:
                if key in blocked:
                    continue
                log = self._chats.get(key)
                if log is not None and len(log) >= window.limit:
                    blocked.add(key)
                    next_time = min(next_time, log[-window.limit] + window.seconds)
                    continue
                if log is None:
                    log = self._chats[key] = deque()
                log.append(now)
                window.expiry.append((now, key))
            self._global.append(now)
            room -= 1
            granted.append(waiter)
        for waiter in granted:
            del self._pending[waiter.seq]
            waiter.granted = True
            self._unclaimed += 1
            waiter.event.set()
        self._granted_total += len(granted)
        return next_time
