"""Interactive messages jump the queue, and a commit that queues a message wakes the sender:
the bot's start-up (``post_init``) starts it, no tick is needed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import select
from telegram.ext import Application

from bot.domain import OutboxPriority
from bot.services.dispatch import Dispatcher
from bot.services.outbox import enqueue, priority_of
from bot.store.db import Database
from bot.store.models import Outbox
from bot.telegram.transport import transport_of
from tests.support.botapi import BotApiEmulator
from tests.support.telegram import running_app
from tests.support.world import World, staff_world


async def queue(w: World, db: Database, kind: str, chats: range, tag: str) -> None:
    async with db.transaction() as s:
        for chat in chats:
            await enqueue(s, chat_id=chat, kind=kind, dedupe_key=f"{tag}:{chat}",
                          text=f"{kind} {chat}", now=w.clock.now(), org_id=w.org.id)  # fmt: skip


@asynccontextmanager
async def started(w: World, emu: BotApiEmulator) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:  # fmt: skip
    """The application with its start-up run, as ``run_polling`` runs it."""
    async with running_app(w, emu, startup=True) as app:
        assert app.post_init is not None and app.post_shutdown is not None
        await app.post_init(app)
        try:
            yield app
        finally:
            sender = app.bot_data.pop("sender")
            await sender.stop()


async def wait_sent(emu: BotApiEmulator, chat_id: int, seconds: float) -> float:
    start = time.monotonic()
    await emu.await_calls(1, method="sendMessage", chat_id=chat_id, timeout=seconds)
    return time.monotonic() - start


def test_kinds_caused_by_a_person_are_interactive() -> None:
    assert priority_of("notify") == priority_of("notice") == OutboxPriority.INTERACTIVE
    for kind in ("reminder", "escalation", "digest", "report", "unreachable"):
        assert priority_of(kind) == OutboxPriority.BULK


async def test_interactive_rows_are_claimed_before_older_bulk(
    db: Database, emulator: BotApiEmulator
) -> None:
    w = await staff_world(db)
    await queue(w, db, "reminder", range(5000, 5030), "r")
    w.clock.advance(5)
    await queue(w, db, "notify", range(6000, 6002), "n")
    async with db.transaction() as s:
        rows = {r.chat_id: r.priority for r in await s.scalars(select(Outbox))}
    assert rows[6000] == OutboxPriority.INTERACTIVE and rows[5000] == OutboxPriority.BULK
    async with running_app(w, emulator) as app:
        await Dispatcher(w.ctx, transport_of(app)).run(max_messages=3)
    assert [c.chat_id for c in emulator.sent_messages()] == [6000, 6001, 5000]


async def test_a_commit_wakes_the_running_sender_without_a_tick(
    db: Database, emulator: BotApiEmulator
) -> None:
    w = await staff_world(db)
    async with started(w, emulator) as app:
        assert app.bot_data["sender"].running
        await asyncio.sleep(0.2)  # the sender is idle now, for up to a tick
        await queue(w, db, "notify", range(6000, 6001), "n")
        waited = await wait_sent(emulator, 6000, 5)
    assert waited < 1.0, waited


async def test_a_press_jumps_a_backlog_being_sent(db: Database, emulator: BotApiEmulator) -> None:
    w = await staff_world(db)
    await queue(w, db, "reminder", range(10_000, 10_400), "r")
    async with started(w, emulator):
        await emulator.await_calls(20, method="sendMessage")
        await queue(w, db, "notify", range(6000, 6001), "n")
        await wait_sent(emulator, 6000, 5)
    sent = [c.chat_id for c in emulator.sent_messages()]
    # the backlog was being sent at 25/s; the press left within a few sends of its commit
    assert len(sent) < 400 and sent.index(6000) < 60


async def test_another_process_wakes_the_sender_through_notify(
    db: Database, emulator: BotApiEmulator
) -> None:
    if db.dialect != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    w = await staff_world(db)
    other = Database(db.url, schema=db.test_handle)  # type: ignore[attr-defined]
    try:
        async with started(w, emulator):
            await asyncio.sleep(0.2)
            await queue(w, other, "notify", range(6000, 6001), "n")
            waited = await wait_sent(emulator, 6000, 5)
    finally:
        await other.dispose()
    assert waited < 1.0, waited
