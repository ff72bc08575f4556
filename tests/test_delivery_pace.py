"""The sender's own pace above Telegram's cap (issue 12, the morning's lateness): the shared
limit spaces a batch's slots at what the process can keep up with, a slot a little late is
still used, the window counts the time an outcome takes to record, and the answers of a
window are marked sent in one transaction."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, cast

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from bot.clock import FakeClock
from bot.domain import OutboxStatus
from bot.services.dispatch import CLAIM_BATCH, Dispatcher
from bot.store.db import Database
from bot.store.models import Outbox
from bot.telegram.sharedlimit import PACE_NARROWER, PACE_WIDER, SharedSlots
from tests.support.world import staff_world
from tests.test_dispatch_window import SlowLink, put

pytestmark = pytest.mark.postgres

CAP = 500
GAP = 1 / CAP


async def _acquire_all(slots: SharedSlots, clock: FakeClock, chats: list[int]) -> list[float]:
    """Each send as soon as its slot comes (the fake clock jumps to it): when each went."""
    went = []
    for chat in chats:
        await slots.acquire(chat)
        went.append(clock.monotonic())
    return went


async def test_a_process_slower_than_its_slots_spreads_them_and_draws_them_back(
    db: Database,
) -> None:
    """A send that comes after its slot was given up widens the spacing of the slots
    reserved again for it and the rest of its batch; every batch that then keeps up with its
    slots draws the spacing back towards the cap's gap, and never below it."""
    clock = FakeClock((await staff_world(db)).clock.now())
    slots = SharedSlots(db, clock, global_per_second=CAP)
    chats = list(range(9000, 9100))
    await slots.prepare(chats[:8])
    assert slots.spacing == pytest.approx(GAP)
    await slots.acquire(chats[0])
    before = slots.reservations
    clock.advance(0.5)  # the process stalls: its next send is long past its slot
    went = await _acquire_all(slots, clock, chats[1:8])
    assert slots.reservations == before + 1  # one transaction for the rest of the batch
    assert slots.spacing == pytest.approx(GAP * PACE_WIDER)
    gaps = [b - a for a, b in itertools.pairwise(went)]
    assert min(gaps) == pytest.approx(GAP * PACE_WIDER)  # the rest, spaced the new way
    widest = slots.spacing
    for n in range(1, 40):  # batches that keep up (the first: after the one that did not)
        batch = chats[8 * n : 8 * n + 8] if 8 * n + 8 <= len(chats) else chats[:8]
        clock.advance(1.2)  # each chat's own second has passed
        await slots.prepare(batch)
        await _acquire_all(slots, clock, batch)
        assert slots.spacing == pytest.approx(max(widest * PACE_NARROWER ** (n - 1), GAP))
    assert slots.spacing == pytest.approx(GAP)


async def test_a_slot_a_little_late_is_still_taken(db: Database) -> None:
    """At a cap far above Telegram's, the event loop's own jitter makes sends miss their
    slot by milliseconds: up to 0.1 s late, the slot is used as it is, not reserved again
    (in any second that lets at most 1.1 × the cap through: 27.5 at the 25 a second
    default, under Telegram's 30)."""
    clock = FakeClock((await staff_world(db)).clock.now())
    slots = SharedSlots(db, clock, global_per_second=CAP)
    await slots.prepare([9200, 9201])
    before = slots.reservations
    clock.advance(0.09)
    await slots.acquire(9200)
    await slots.acquire(9201)
    assert slots.reservations == before
    assert slots.max_late == pytest.approx(0.1)
    assert SharedSlots(db, clock).max_late == pytest.approx(0.1)  # 25 a second: 40 ms gap


class SlowCommits:
    """A database whose first unit of work after ``arm()``, once committed, lets the second
    one commit before its caller goes on (as an answer from PostgreSQL may come back late,
    while another send's reservation runs)."""

    def __init__(self, db: Database) -> None:
        self.db, self.units = db, -1
        self.second_done = asyncio.Event()

    def arm(self) -> None:
        self.units = 0

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Any]:
        if self.units < 0:
            async with self.db.transaction() as s:
                yield s
            return
        self.units += 1
        n = self.units
        async with self.db.transaction() as s:
            yield s
        if n == 1:
            await asyncio.wait_for(self.second_done.wait(), 10)
        else:
            self.second_done.set()


async def test_a_late_send_keeps_its_slot_while_another_send_reserves(db: Database) -> None:
    """A batch's send that missed its slot reserves again for itself and the rest of its
    batch; a handler's answer reserving at the same moment (its commit in between) neither
    takes that slot nor drops the batch's: each send goes, and the rest of the batch needs
    no further reservation."""
    clock = FakeClock((await staff_world(db)).clock.now())
    slow = SlowCommits(db)
    slots = SharedSlots(cast(Database, slow), clock, global_per_second=CAP)
    batch = list(range(9500, 9500 + CLAIM_BATCH))
    await slots.prepare(batch)
    clock.advance(0.5)  # the batch's slots are all past
    slow.arm()
    before = slots.reservations
    await asyncio.gather(slots.acquire(batch[0]), slots.acquire(9599))  # 9599: an answer
    assert slow.second_done.is_set()  # the two reservations did overlap
    await _acquire_all(slots, clock, batch[1:])
    assert slots.reservations == before + 2


async def test_a_send_whose_slot_a_late_send_is_reserving_again_waits_for_that_one(
    db: Database,
) -> None:
    """The window's next send starts while a late send reserves again for the rest of its
    batch, this send's chat among them: it takes its slot from that reservation, not from
    one of its own, which would find its chat's row still holding the slot given up and
    come a chat's gap (1.15 s) later."""
    clock = FakeClock((await staff_world(db)).clock.now())
    slots = SharedSlots(db, clock, global_per_second=CAP)
    batch = list(range(9700, 9700 + CLAIM_BATCH))
    await slots.prepare(batch)
    clock.advance(0.5)  # the batch's slots are all past
    before, start = slots.reservations, clock.monotonic()
    await asyncio.gather(slots.acquire(batch[0]), slots.acquire(batch[1]))
    assert slots.reservations == before + 1  # the late send's, for both
    assert clock.monotonic() - start < 0.5  # not a chat's gap
    await _acquire_all(slots, clock, batch[2:])
    assert slots.reservations == before + 1


async def test_the_window_counts_the_time_an_outcome_takes_to_record(db: Database) -> None:
    """A send holds its place in the window until its outcome is recorded, so the window
    is the cap times Telegram's answer *and* the write (1.5 × 25 × (2 ms + 50 ms) → 2)."""
    w = await staff_world(db)
    dispatcher = Dispatcher(w.ctx, SlowLink(w.clock, 0.002))
    assert dispatcher.window() == 1
    dispatcher.recording = 0.05
    assert dispatcher.window() == 2


@contextmanager
def sent_marks(db: Database) -> Iterator[list[int]]:
    """How many rows each statement that marks outbox rows sent marked."""
    counts: list[int] = []

    def seen(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        text = " ".join(statement.split()).lower()
        if text.startswith("update outbox set status") and "sent_at" in text:
            counts.append(len(params) if many else 1)

    engine = db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield counts
    finally:
        event.remove(engine, "before_cursor_execute", seen)


async def test_the_answers_of_a_window_are_marked_sent_together(db: Database) -> None:
    """A batch sent all at once (a slow link: the whole batch in flight) is marked sent in
    fewer statements than rows, each row with its own message id, every row once."""
    w = await staff_world(db)
    chats = list(range(9300, 9300 + CLAIM_BATCH))
    await put(w, chats, "m")
    link = SlowLink(w.clock, 0.3)
    with sent_marks(db) as counts:
        stats = await Dispatcher(w.ctx, link).run()
    assert stats.sent == len(chats) and link.peak == CLAIM_BATCH
    assert sum(counts) == len(chats) and len(counts) < len(chats)
    async with db.transaction() as s:
        rows = list(
            await s.execute(select(Outbox.chat_id, Outbox.status, Outbox.telegram_message_id))
        )
    ids = {d.to: d.message_id for d in link.deliveries}
    assert {(c, st, m) for c, st, m in rows} == {
        (c, OutboxStatus.SENT.value, ids[c]) for c in chats
    }


class FlakyMarks(Dispatcher):
    """The first write marking rows sent finds the database away."""

    failed = 0

    async def _write_sent(self, marks: list[tuple[int, int | None]]) -> None:
        if not self.failed:
            self.failed = len(marks)
            raise OperationalError("UPDATE outbox", {}, ConnectionError("the server went away"))
        await super()._write_sent(marks)


async def test_a_failed_mark_fails_each_send_and_each_tries_again(db: Database) -> None:
    """A write of several marks that fails fails each of their sends' writes; each tries
    again (the database away, :meth:`_settle`) and every row ends sent, none sent twice."""
    w = await staff_world(db)
    chats = list(range(9400, 9400 + CLAIM_BATCH))
    await put(w, chats, "f")
    link = SlowLink(w.clock, 0.3)
    dispatcher = FlakyMarks(w.ctx, link)
    stats = await dispatcher.run()
    assert dispatcher.failed >= 1 and stats.sent == len(chats)
    assert sorted(d.to for d in link.deliveries) == chats  # none sent again
    async with db.transaction() as s:
        statuses = set(await s.scalars(select(Outbox.status)))
    assert statuses == {OutboxStatus.SENT.value}


async def test_the_slots_of_sends_in_flight_are_kept_when_the_next_batch_is_prepared(
    db: Database,
) -> None:
    """The next batch prepared while the last one's sends are in flight: those sends keep
    their slots (no reservation of their own), the new batch's slots come after theirs,
    and a slot of the last batch whose send never started is given up."""
    clock = FakeClock((await staff_world(db)).clock.now())
    slots = SharedSlots(db, clock, global_per_second=CAP)
    first, second = [9600, 9601, 9602, 9603], [9700, 9701, 9702]
    await slots.prepare(first)
    await slots.acquire(first[0])
    before = slots.reservations
    await slots.prepare(second, keep=first[1:3])  # 9603's row was given back
    assert slots.reservations == before + 1
    went = await _acquire_all(slots, clock, [*first[1:3], *second])
    assert slots.reservations == before + 1  # nobody reserved again
    assert went == sorted(went) and len(set(went)) == len(went)
    assert min(b - a for a, b in itertools.pairwise(went)) >= GAP - 1e-9
    await slots.acquire(first[3])  # its slot was given up: it reserves one of its own
    assert slots.reservations == before + 2
