"""The dispatcher claims a batch of due rows in one ``UPDATE``, and gives back what it has not
sent: a wake-up for an interactive row, a stop or a crash never costs a message, and only the
row in flight can arrive twice."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from sqlalchemy import select

from bot.domain import OutboxStatus
from bot.services.dispatch import CLAIM_BATCH, Dispatcher, DispatchStats
from bot.services.outbox import enqueue
from bot.store.db import Database
from bot.store.models import Outbox
from bot.telegram.transport import transport_of
from tests.support.botapi import BotApiEmulator
from tests.support.telegram import running_app
from tests.support.world import World, staff_world

pytestmark = pytest.mark.postgres  # claims are conditional UPDATEs … RETURNING


async def put(w: World, chats: list[int], kind: str = "reminder", tag: str = "b") -> list[int]:
    ids = []
    async with w.ctx.db.transaction() as s:
        for n, chat in enumerate(chats):
            new = await enqueue(s, chat_id=chat, kind=kind, dedupe_key=f"{tag}:{n}:{chat}",
                                text=f"{kind} {n}", now=w.clock.now(), org_id=w.org.id)  # fmt: skip
            assert new is not None
            ids.append(new)
    return ids


async def rows(db: Database) -> dict[int, Outbox]:
    async with db.transaction() as s:
        return {r.id: r for r in await s.scalars(select(Outbox))}


def sent_to(emu: BotApiEmulator) -> Counter[int]:
    return Counter(c.chat_id for c in emu.sent_messages() if c.chat_id is not None)


async def test_one_update_claims_a_batch_and_another_worker_gets_none_of_it(
    db: Database, emulator: BotApiEmulator
) -> None:
    w = await staff_world(db)
    ids = await put(w, list(range(5000, 5020)))
    async with running_app(w, emulator) as app:
        a, b = Dispatcher(w.ctx, transport_of(app)), Dispatcher(w.ctx, transport_of(app))
        b.worker = "another-host"
        got_a = await a.claim_batch(ids[:CLAIM_BATCH], w.clock.now())
        got_b = await b.claim_batch(ids[: CLAIM_BATCH + 4], w.clock.now())
    assert got_a == ids[:CLAIM_BATCH]  # in the order asked
    assert got_b == ids[CLAIM_BATCH : CLAIM_BATCH + 4]  # only what a had not won
    left = await rows(db)
    assert {left[i].claimed_by for i in got_a} == {w.ctx.settings.worker_id}
    assert all(left[i].status == OutboxStatus.SENDING.value for i in got_a + got_b)


async def test_a_batch_holds_one_row_per_chat(db: Database, emulator: BotApiEmulator) -> None:
    w = await staff_world(db)
    ids = await put(w, [5000, 5001, 5000, 5002, 5000])
    async with running_app(w, emulator) as app:
        got = await Dispatcher(w.ctx, transport_of(app)).claim_batch(ids, w.clock.now())
    assert got == [ids[0], ids[1], ids[3]]
    left = await rows(db)
    for i in (ids[2], ids[4]):  # given back at once, their attempt not counted
        assert left[i].status == OutboxStatus.PENDING.value and left[i].attempts == 0
        assert left[i].claimed_by is None


class Pressed(Dispatcher):
    """After its second send, a press queues an interactive row and wakes the dispatcher."""

    wake: asyncio.Event
    world: World

    async def deliver(self, outbox_id: int, stats: DispatchStats) -> None:
        await super().deliver(outbox_id, stats)
        if stats.sent == 2:
            await put(self.world, [6000], kind="notify", tag="press")
            self.wake.set()


async def test_a_wake_up_gives_back_the_unsent_rows_and_the_press_goes_next(
    db: Database, emulator: BotApiEmulator
) -> None:
    w = await staff_world(db)
    await put(w, list(range(5000, 5020)))
    async with running_app(w, emulator) as app:
        d = Pressed(w.ctx, transport_of(app))
        d.wake, d.world = asyncio.Event(), w
        stats = await d.run(interrupt=d.wake)
    order = [c.chat_id for c in emulator.sent_messages()]
    assert order[:3] == [5000, 5001, 6000]  # the press jumped the batch in hand
    assert sent_to(emulator) == Counter(dict.fromkeys([*range(5000, 5020), 6000], 1))
    assert stats.sent == 21 and stats.claimed == 21
    assert {r.attempts for r in (await rows(db)).values()} == {1}  # given back, not counted


async def test_a_stop_mid_batch_leaves_nothing_claimed(
    db: Database, emulator: BotApiEmulator
) -> None:
    w = await staff_world(db)
    await put(w, list(range(5000, 5020)))
    async with running_app(w, emulator) as app:
        d = Dispatcher(w.ctx, transport_of(app))
        stats = await d.run(stopping=lambda: len(emulator.sent_messages()) >= 3)
    left = Counter(r.status for r in (await rows(db)).values())
    assert stats.sent == 3 and left == Counter(sent=3, pending=17)


async def test_a_killed_batch_is_sent_again_once(db: Database, emulator: BotApiEmulator) -> None:
    """A process killed with a batch claimed, during the send of its third row: the two sent
    rows are not sent again, the one in flight may arrive twice, the unsent five once."""
    w = await staff_world(db)
    ids = await put(w, list(range(5000, 5000 + CLAIM_BATCH)))
    async with running_app(w, emulator) as app:
        dead = Dispatcher(w.ctx, transport_of(app))
        claimed = await dead.claim_batch(ids, w.clock.now())
        stats = DispatchStats()
        for i in claimed[:3]:  # the third's answer is "lost": Telegram has it, the row not
            await dead.deliver(i, stats)
        async with w.ctx.db.transaction() as s:
            in_flight = await s.get(Outbox, claimed[2])
            assert in_flight is not None
            in_flight.status, in_flight.sent_at = OutboxStatus.SENDING.value, None
            in_flight.telegram_message_id = None
        other = Dispatcher(w.ctx, transport_of(app))
        other.worker = "another-host"
        assert (await other.run()).claimed == 0  # the lease is respected
        again = await Dispatcher(w.ctx, transport_of(app)).run()  # the same worker, restarted
    assert again.sent == CLAIM_BATCH - 2
    got = sent_to(emulator)
    assert set(got) == set(range(5000, 5000 + CLAIM_BATCH))
    assert sum(n - 1 for n in got.values()) == 1 and got[5002] == 2  # only the one in flight
