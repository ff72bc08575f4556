"""The clock, passed in everywhere it is needed.

Pure code in :mod:`bot.schedule` never reads a clock: it receives ``now``.  The
edges (jobs, handlers, the dispatcher, the CLI) hold a :class:`Clock` given to
them by the composition root, so tests can swap in :class:`FakeClock`.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for rate limiting)."""

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` on this clock."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            await asyncio.sleep(seconds)


class FakeClock:
    """A clock that only moves when told to; ``sleep`` advances it at once."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware start")
        self._now = start.astimezone(UTC)
        self._mono = 1_000.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float = 0.0, **kwargs: float) -> None:
        delta = timedelta(seconds=seconds, **kwargs)
        if delta < timedelta(0):
            raise ValueError("time does not go back")
        self._now += delta
        self._mono += delta.total_seconds()

    def set(self, when: datetime) -> None:
        when = when.astimezone(UTC)
        self.advance((when - self._now).total_seconds())

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.advance(seconds)
        await asyncio.sleep(0)


class ShiftedClock:
    """The system's clock, moved to start at ``start``: it runs at the real pace from there.

    For rehearsals and the real-process tests: ``python -m bot run`` with its own jobs,
    answering real presses, on a day of the fiscal year chosen by the caller (the 09:00
    slot of a reminder, say).  Only the bot's own clock moves; APScheduler's triggers keep
    the machine's time, and the periodic jobs read this clock when they run."""

    def __init__(self, start: datetime, base: Clock | None = None) -> None:
        if start.tzinfo is None:
            raise ValueError("ShiftedClock needs a timezone-aware start")
        self._base = base or SystemClock()
        self._offset = start.astimezone(UTC) - self._base.now()

    def now(self) -> datetime:
        return self._base.now() + self._offset

    def monotonic(self) -> float:
        return self._base.monotonic()

    async def sleep(self, seconds: float) -> None:
        await self._base.sleep(seconds)
