"""One claimed outbox row: its text and then its files sent through the transport, each part
recorded as it goes (a retry resends none of them), and what the outcome does to the row
and, for some, to its chat.  A mixin of :class:`bot.services.dispatch.Dispatcher`, as
:mod:`bot.services.claims` is; the writes themselves are :mod:`bot.services.outboxwrites`."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import timedelta
from typing import assert_never

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import deliverypause
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


class RowDelivery(OutboxWrites):
    transport: Transport
    _claimed: dict[int, tuple[Outbox | None, list[OutboxFile]]]
    #: seconds a send's outcome takes to record (a moving average): it holds its place
    #: in the window as long as Telegram's answer does
    recording: float

    @staticmethod
    async def _load(s: AsyncSession, outbox_id: int) -> tuple[Outbox | None, list[OutboxFile]]:
        row = await s.get(Outbox, outbox_id)
        files = await s.scalars(
            select(OutboxFile)
            .where(OutboxFile.outbox_id == outbox_id)
            .order_by(OutboxFile.position)
        )
        return row, list(files)

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
