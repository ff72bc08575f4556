"""Waves of reminders in the outbox, for the reliability tests: one row per chat, so every
arrival can be counted (a chat that got its message twice is a duplicate)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.domain import OutboxStatus
from bot.services.outbox import enqueue
from bot.store.db import Database
from bot.store.models import Outbox
from tests.support.botapi import BotApiEmulator
from tests.support.processes import arrivals
from tests.support.world import World

FIRST_CHAT = 6000


def real_now() -> datetime:
    """A little in the past: rows queued now are due at once for processes on the real clock."""
    return datetime.now(UTC) - timedelta(minutes=1)


class Wave:
    """Reminders to chats ``FIRST_CHAT``, ``FIRST_CHAT + 1``…, queued by the test."""

    def __init__(self, w: World, first_chat: int = FIRST_CHAT) -> None:
        self.w = w
        self.first_chat = first_chat
        self.chats: set[int] = set()

    async def add(self, n: int) -> None:
        start = self.first_chat + len(self.chats)
        async with self.w.ctx.db.transaction() as s:
            for chat in range(start, start + n):
                await enqueue(s, chat_id=chat, kind="reminder", dedupe_key=f"wave:{chat}",
                              text=f"เตือน {chat}", now=self.w.clock.now(), org_id=self.w.org.id)  # fmt: skip
        self.chats.update(range(start, start + n))

    async def pending(self) -> int:
        async with self.w.ctx.db.transaction() as s:
            n = await s.scalar(
                select(func.count())
                .select_from(Outbox)
                .where(Outbox.status == OutboxStatus.PENDING.value, Outbox.kind == "reminder")
            )
        return int(n or 0)

    async def keep_topped_up(
        self, until: Callable[[], bool], *, low: int = 20, batch: int = 40, within: float = 90
    ) -> None:
        """Queue ``batch`` more whenever fewer than ``low`` wait, until ``until()``."""
        deadline = time.monotonic() + within
        while not until():
            if time.monotonic() > deadline:
                raise TimeoutError(f"wave: not done within {within} s")
            if await self.pending() < low:
                await self.add(batch)
            await asyncio.sleep(0.05)

    async def wait_delivered(
        self, emu: BotApiEmulator, *, within: float, log: Callable[[], str] | None = None
    ) -> None:
        """Until every chat of the wave got its message (polling the emulator).  Timed out:
        the missing chats' outbox rows as they stand, and the tail of ``log`` (a process's),
        so that a failure that does not come again can still be read."""
        deadline = time.monotonic() + within
        while set(arrivals(emu, self.chats)) != self.chats:
            if time.monotonic() > deadline:
                missing = sorted(self.chats - set(arrivals(emu, self.chats)))
                rows = await self.rows_of(missing[:10])
                tail = log()[-4000:] if log is not None else ""
                raise TimeoutError(
                    f"{len(missing)} never arrived, e.g. {missing[:10]}\n{rows}\n{tail}"
                )
            await asyncio.sleep(0.1)

    async def rows_of(self, chats: list[int]) -> str:
        """The outbox rows of ``chats``, a line each: status, claim, attempts, due, error."""
        async with self.w.ctx.db.transaction() as s:
            rows = await s.execute(
                select(Outbox.chat_id, Outbox.status, Outbox.claimed_by, Outbox.claimed_at,
                       Outbox.attempts, Outbox.next_attempt_at, Outbox.last_error)
                .where(Outbox.chat_id.in_(chats)).order_by(Outbox.chat_id)
            )  # fmt: skip
            return "\n".join(" ".join(str(v) for v in row) for row in rows.all())


async def next_due(db: Database) -> datetime | None:
    """When the earliest pending outbox row is due (None: nothing pending)."""
    async with db.transaction() as s:
        due: datetime | None = await s.scalar(
            select(func.min(Outbox.next_attempt_at)).where(
                Outbox.status == OutboxStatus.PENDING.value
            )
        )
    return due.replace(tzinfo=UTC) if due is not None and due.tzinfo is None else due


async def outcome(db: Database) -> Counter[str]:
    """The outbox's rows counted by status."""
    async with db.transaction() as s:
        rows = await s.execute(select(Outbox.status, func.count()).group_by(Outbox.status))
        return Counter({status: n for status, n in rows.all()})
