"""What a dispatcher writes to a claimed outbox row once Telegram has answered (sent, a part
sent, retry later, failed), each in its own short unit of work; and recording it while the
database is away (:meth:`OutboxWrites._settle`).  A mixin of
:class:`bot.services.dispatch.Dispatcher`, as :mod:`bot.services.claims` is."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, update

from bot.domain import OutboxStatus
from bot.services.context import AppContext
from bot.store.db import unavailable
from bot.store.models import Outbox, OutboxFile

log = logging.getLogger("bot.services.dispatch")

#: Between tries to record a send's outcome while the database is away.
SETTLE_MAX_PAUSE_SECONDS = 5.0


OUTBOX = cast(Table, Outbox.__table__)
_Mark = tuple[int, int | None, "asyncio.Future[None]"]


class OutboxWrites:
    ctx: AppContext
    #: sends answered whose rows wait to be marked sent, and the task marking them
    _sent_marks: list[_Mark]
    _marking: asyncio.Task[None] | None

    async def _mark_sent(self, outbox_id: int, text_id: int | None) -> None:
        """Mark the row sent; returns once that has committed.  Sends answered while a
        write is under way are marked together in the next one (one transaction for the
        window's answers, not one each); a failed write fails each of them, for each
        send's :meth:`_settle` to try again."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sent_marks.append((outbox_id, text_id, done))
        if self._marking is None or self._marking.done():
            self._marking = asyncio.create_task(self._write_marks())
        await done

    async def _write_marks(self) -> None:
        while self._sent_marks:
            marks, self._sent_marks = self._sent_marks, []
            try:
                await self._write_sent([(i, text_id) for i, text_id, _ in marks])
            except Exception as exc:
                for *_, done in marks:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for *_, done in marks:
                    if not done.done():
                        done.set_result(None)

    async def _write_sent(self, marks: list[tuple[int, int | None]]) -> None:
        table = OUTBOX
        sent = (
            update(table)
            .where(table.c.id == bindparam("m_id"), table.c.status == OutboxStatus.SENDING.value)
            .values(
                status=OutboxStatus.SENT.value,
                sent_at=self.ctx.clock.now(),
                last_error=None,
                telegram_message_id=bindparam("m_text"),
            )
        )
        async with self.ctx.db.transaction() as s:
            await s.execute(sent, [{"m_id": i, "m_text": text_id} for i, text_id in marks])

    async def _settle(self, write: Callable[[], Awaitable[None]]) -> None:
        """Record what Telegram said about a send, retrying while the database is away.

        The message has gone (or was refused): forgetting that would send it again, so the
        write is tried until the database answers, for at most the lease (after that the row
        may be another worker's, and resending it is the outbox's at most one duplicate)."""
        waited, tries = 0.0, 0
        while True:
            try:
                await write()
                if tries:
                    self.ctx.db_outage.ok()
                return
            except Exception as exc:
                if not unavailable(exc) or waited >= self.ctx.settings.outbox_lease_seconds:
                    raise
                self.ctx.db_outage.failed(exc)
                tries += 1
                pause = min(2.0 ** (tries - 1), SETTLE_MAX_PAUSE_SECONDS)
                await self.ctx.clock.sleep(pause)
                waited += pause

    async def _mark_part(self, outbox_id: int, file_id: int | None, message_id: int) -> None:
        async with self.ctx.db.transaction() as s:
            if file_id is None:
                await s.execute(
                    update(Outbox)
                    .where(Outbox.id == outbox_id)
                    .values(telegram_message_id=message_id)
                )
            else:
                await s.execute(
                    update(OutboxFile)
                    .where(OutboxFile.id == file_id)
                    .values(telegram_message_id=message_id)
                )

    async def _reschedule(
        self, outbox_id: int, error: str, delay: timedelta, *, count_attempt: bool = True
    ) -> None:
        now = self.ctx.clock.now()
        values: dict[str, Any] = {
            "status": OutboxStatus.PENDING.value,
            "claimed_by": None,
            "last_error": error[:500],
            "next_attempt_at": now + delay,
        }
        if not count_attempt:
            values["attempts"] = Outbox.attempts - 1
        async with self.ctx.db.transaction() as s:
            await s.execute(update(Outbox).where(Outbox.id == outbox_id).values(**values))

    async def _fail(self, outbox_id: int, error: str) -> None:
        async with self.ctx.db.transaction() as s:
            await s.execute(
                update(Outbox)
                .where(Outbox.id == outbox_id)
                .values(status=OutboxStatus.FAILED.value, claimed_by=None, last_error=error[:500])
            )
        log.warning("outbox %s failed: %s", outbox_id, error)
