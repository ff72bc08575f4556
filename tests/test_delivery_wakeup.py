"""Interactive messages jump the queue, and a commit that queues a message wakes the sender:
the bot's start-up (``post_init``) starts it, no tick is needed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import select, text
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


@pytest.mark.postgres  # the db fixture is then PostgreSQL too
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


@pytest.mark.postgres  # the db fixture is then PostgreSQL too
async def test_the_sender_listens_again_when_its_listening_connection_is_ended(
    db: Database, emulator: BotApiEmulator
) -> None:
    """The server ends the sender's LISTEN connection (a restart, an outage, an administrator):
    it listens again at once, so another process's press still wakes it within a second, not
    at the next poll (30 s)."""
    if db.dialect != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    w = await staff_world(db)
    other = Database(db.url, schema=db.test_handle)  # type: ignore[attr-defined]
    try:
        async with started(w, emulator) as app:
            sender = app.bot_data["sender"]
            first = sender.listening
            assert first is not None
            async with other.engine.begin() as conn:
                ended = await conn.scalar(
                    text("SELECT pg_terminate_backend(:pid)"), {"pid": first.server_pid}
                )
            assert ended
            deadline = time.monotonic() + 5
            while (now := sender.listening) is None or now is first:
                assert time.monotonic() < deadline, "the sender never listened again"
                await asyncio.sleep(0.02)
            assert now.server_pid != first.server_pid
            await queue(w, other, "notify", range(6000, 6001), "n")
            waited = await wait_sent(emulator, 6000, 5)
    finally:
        await other.dispose()
    assert waited < 1.0, waited


async def test_reminders_queued_while_a_backlog_goes_do_not_interrupt_its_batches(
    db: Database, emulator: BotApiEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The morning's reminders are queued a few offices at a time while the first of them
    are being sent: each such commit wakes the sender, but the batch in hand goes on (no
    rows given back, no claim wasted); a press still gives the batch's unsent rows back and
    goes next."""
    w = await staff_world(db)
    await queue(w, db, "reminder", range(10_000, 10_400), "r")
    given_back: list[list[int]] = []
    async with started(w, emulator) as app:
        dispatcher = app.bot_data["sender"].dispatcher
        release = dispatcher.release_unsent

        async def spy(ids: list[int]) -> int:
            given_back.append(list(ids))
            return int(await release(ids))

        monkeypatch.setattr(dispatcher, "release_unsent", spy)
        sent = 20
        await emulator.await_calls(sent, method="sendMessage")
        for n in range(5):  # five more commits of reminders, each mid-batch
            await queue(w, db, "reminder", range(20_000 + 10 * n, 20_010 + 10 * n), f"m{n}")
            sent += 5
            await emulator.await_calls(sent, method="sendMessage")
        assert [ids for ids in given_back if ids] == []
        await queue(w, db, "notify", range(6000, 6001), "n")
        await wait_sent(emulator, 6000, 5)
    order = [c.chat_id for c in emulator.sent_messages()]
    assert order.index(6000) < sent + 40  # a few sends after its commit, as above


async def test_a_commit_tells_the_listeners_the_most_urgent_priority_it_queued(
    db: Database,
) -> None:
    w = await staff_world(db)
    got: list[OutboxPriority] = []
    remove = db.on_outbox_queued(got.append)
    try:
        await queue(w, db, "reminder", range(5000, 5002), "r")
        await queue(w, db, "notify", range(6000, 6001), "n")
        async with db.transaction() as s:  # both in one unit of work: one call, urgent
            for kind, chat in (("reminder", 5100), ("confirm", 6100), ("digest", 5200)):
                await enqueue(s, chat_id=chat, kind=kind, dedupe_key=f"b:{chat}",
                              text=kind, now=w.clock.now(), org_id=w.org.id)  # fmt: skip
        await queue(w, db, "reminder", range(5000, 5002), "r")  # all already queued: no call
    finally:
        remove()
    assert got == [OutboxPriority.BULK, OutboxPriority.INTERACTIVE, OutboxPriority.INTERACTIVE]


@pytest.mark.postgres  # the db fixture is then PostgreSQL too
async def test_notify_tells_other_processes_the_priority_queued(db: Database) -> None:
    if db.dialect != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    w = await staff_world(db)
    got: list[OutboxPriority] = []
    both = asyncio.Event()

    def heard(priority: OutboxPriority) -> None:
        got.append(priority)
        if len(got) == 2:
            both.set()

    listener = await db.listen_outbox(heard)
    assert listener is not None
    other = Database(db.url, schema=db.test_handle)  # type: ignore[attr-defined]
    try:
        await queue(w, other, "reminder", range(5000, 5002), "r")
        await queue(w, other, "notify", range(6000, 6001), "n")
        await asyncio.wait_for(both.wait(), 5)
    finally:
        await other.dispose()
        await listener.close()
    assert got == [OutboxPriority.BULK, OutboxPriority.INTERACTIVE]
