"""The morning at the cap (issue 12): a chat that is not free yet never holds up the others,
and on a slow link several sends are in flight at once, as many as the cap needs."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Collection
from datetime import datetime

import pytest
from sqlalchemy import func, select

from bot.clock import FakeClock
from bot.domain import OutboxStatus
from bot.services.dispatch import CLAIM_BATCH, MAX_CLAIM_BATCH, Dispatcher
from bot.services.outbox import enqueue
from bot.services.transport import Address, Buttons, Outcome
from bot.store.db import Database
from bot.store.models import Outbox, SendSlot
from bot.telegram.sharedlimit import GLOBAL_KEY, SharedSlots
from bot.telegram.transport import transport_of
from tests.support.botapi import BotApiEmulator
from tests.support.fake_transport import FakeTransport
from tests.support.telegram import running_app
from tests.support.world import World, staff_world

pytestmark = pytest.mark.postgres

FIRST = list(range(5000, 5008))  # one claim batch
SECOND = [5000, *range(5008, 5015)]  # 5000 again, first of the next batch
THIRD = [5007, *range(5015, 5022)]  # and 5007, the first batch's last: free 0.3 s after 5000


async def put(w: World, chats: list[int], tag: str) -> None:
    async with w.ctx.db.transaction() as s:
        for n, chat in enumerate(chats):
            await enqueue(s, chat_id=chat, kind="reminder", dedupe_key=f"{tag}:{n}:{chat}",
                          text=f"เตือน {tag} {n}", now=w.clock.now(), org_id=w.org.id)  # fmt: skip


@pytest.mark.parametrize("limiter", ["memory", "database"])
async def test_a_chat_not_free_yet_waits_alone_and_the_batch_goes_on(
    db: Database, emulator: BotApiEmulator, limiter: str
) -> None:
    """The next batches start with a chat that had its message a moment ago: that row goes
    back until its chat is free (its attempt not counted), the rest of its batch goes at
    once, and the run still sends both rows put back, each when its chat is free, before
    it returns."""
    w = await staff_world(db)
    await put(w, FIRST, "a")
    await put(w, SECOND, "b")
    await put(w, THIRD, "c")
    async with running_app(w, emulator, rate_limiter=limiter) as app:
        stats = await Dispatcher(w.ctx, transport_of(app)).run()
    order = [c.chat_id for c in emulator.sent_messages()]
    assert Counter(order) == Counter(FIRST + SECOND + THIRD)  # all of them, once each
    assert stats.sent == len(FIRST) + len(SECOND) + len(THIRD)
    assert stats.waited == 2 and stats.lost_claims == 0  # 5000's and 5007's seconds
    for chat, batch in ((5000, SECOND), (5007, THIRD)):
        again = len(order) - 1 - order[::-1].index(chat)
        assert set(order[:again]) >= set(batch[1:])  # not held up behind the chat's second
    async with w.ctx.db.transaction() as s:
        attempts = set(await s.scalars(select(Outbox.attempts)))
        statuses = set(await s.scalars(select(Outbox.status)))
    assert attempts == {1} and statuses == {OutboxStatus.SENT.value}


async def test_the_shared_limit_leaves_a_busy_chat_out_and_writes_nothing_for_it(
    db: Database,
) -> None:
    """SharedSlots.prepare: a chat whose own slot is a second away is returned with its wait,
    not reserved; a batch of nothing but such chats leaves the ``*`` row as it was (so it
    still tells another process who reserved last)."""
    clock = FakeClock(w_start := (await staff_world(db)).clock.now())
    del w_start
    slots = SharedSlots(db, clock)
    assert await slots.prepare([5000, 5001]) == {}
    await slots.acquire(5000)  # the first send to 5000 goes
    await slots.acquire(5001)
    async with db.transaction() as s:
        before = await s.scalar(select(SendSlot.next_at).where(SendSlot.key == GLOBAL_KEY))
    deferred = await slots.prepare([5000])
    assert list(deferred) == [5000] and 1.0 < deferred[5000] <= 1.2
    async with db.transaction() as s:
        after = await s.scalar(select(SendSlot.next_at).where(SendSlot.key == GLOBAL_KEY))
    assert after == before
    assert await slots.prepare([5000, 5002]) == {5000: pytest.approx(deferred[5000])}


class SlowLink(FakeTransport):
    """Every send takes ``round_trip`` seconds to be answered (held until released)."""

    def __init__(self, clock: FakeClock, round_trip_seconds: float) -> None:
        super().__init__(clock)
        self.seconds = round_trip_seconds
        self.flying = 0
        self.peak = 0

    def round_trip(self) -> float:
        return self.seconds

    async def send_text(self, to: Address, text: str, buttons: Buttons = ()) -> Outcome:
        self.flying += 1
        self.peak = max(self.peak, self.flying)
        for _ in range(20):  # the answer comes later: let the others start meanwhile
            await asyncio.sleep(0)
        self.flying -= 1
        return await super().send_text(to, text, buttons)


@pytest.mark.parametrize(("round_trip", "in_flight"), [(0.002, 1), (0.05, 2), (0.3, CLAIM_BATCH)])
async def test_sends_in_flight_are_what_the_cap_needs(
    db: Database, round_trip: float, in_flight: int
) -> None:
    """At 25 a second: one in flight on a fast link (a kill -9 then resends at most one), two
    when Telegram answers in 50 ms, a whole batch when it takes 300 ms; every row sent once."""
    w = await staff_world(db)
    chats = list(range(6000, 6000 + 3 * CLAIM_BATCH))
    await put(w, chats, "w")
    link = SlowLink(w.clock, round_trip)
    dispatcher = Dispatcher(w.ctx, link)
    assert dispatcher.window() == in_flight
    stats = await dispatcher.run()
    assert link.peak == in_flight
    assert stats.sent == len(chats)
    assert sorted(d.to for d in link.deliveries) == chats


class WatchedLink(SlowLink):
    """A slow link that notes, for each send, whether its chat already had one in flight."""

    def __init__(
        self, clock: FakeClock, round_trip_seconds: float, hold: asyncio.Event | None = None
    ) -> None:
        super().__init__(clock, round_trip_seconds)
        self.chats_in_flight: Counter[Address] = Counter()
        self.overlapping_chat = 0
        self.hold = hold  # each answer waits for it (2 s at most)

    async def send_text(self, to: Address, text: str, buttons: Buttons = ()) -> Outcome:
        self.overlapping_chat += self.chats_in_flight[to] > 0
        self.chats_in_flight[to] += 1
        try:
            if self.hold is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.hold.wait(), 2.0)
            return await super().send_text(to, text, buttons)
        finally:
            self.chats_in_flight[to] -= 1


class ClaimsWatched(Dispatcher):
    """Notes, as each batch is claimed, how many rows this worker holds unsent."""

    in_flight_at_claims: list[int]
    second_claim: asyncio.Event

    async def claim_batch(
        self, ids: list[int], now: datetime, busy: Collection[int] = ()
    ) -> list[int]:
        async with self.ctx.db.transaction() as s:
            held = await s.scalar(
                select(func.count())
                .select_from(Outbox)
                .where(Outbox.status == OutboxStatus.SENDING.value)
            )
        self.in_flight_at_claims.append(int(held or 0))
        if len(self.in_flight_at_claims) == 2:
            self.second_claim.set()
        return await super().claim_batch(ids, now, busy)


async def test_the_next_batch_is_claimed_while_the_last_ones_sends_are_in_flight(
    db: Database,
) -> None:
    """The claim of a batch does not wait for the last batch's answers: it is made while
    they are still in flight (here Telegram answers none of them before it), on both
    databases.  A row whose chat has a send in flight goes back (its attempt not counted)
    and goes after it: one chat never has two sends in flight, every row goes once."""
    w = await staff_world(db)
    first = list(range(6100, 6100 + CLAIM_BATCH))
    second = [first[-1], *range(6200, 6200 + CLAIM_BATCH - 1)]  # the last chat again
    await put(w, first, "p")
    await put(w, second, "q")
    second_claim = asyncio.Event()
    link = WatchedLink(w.clock, 0.3, hold=second_claim)
    dispatcher = ClaimsWatched(w.ctx, link)
    dispatcher.in_flight_at_claims, dispatcher.second_claim = [], second_claim
    stats = await dispatcher.run()
    assert dispatcher.in_flight_at_claims[0] == 0
    assert dispatcher.in_flight_at_claims[1] > 0  # claimed while the first batch's are
    assert link.overlapping_chat == 0
    assert stats.sent == len(first) + len(second)
    assert Counter(d.to for d in link.deliveries) == Counter(first + second)
    async with w.ctx.db.transaction() as s:
        attempts = set(await s.scalars(select(Outbox.attempts)))
        statuses = set(await s.scalars(select(Outbox.status)))
    assert attempts == {1} and statuses == {OutboxStatus.SENT.value}


class ClaimSizes(Dispatcher):
    sizes: list[int]

    async def claim_batch(
        self, ids: list[int], now: datetime, busy: Collection[int] = ()
    ) -> list[int]:
        self.sizes.append(len(ids))
        return await super().claim_batch(ids, now, busy)


async def test_while_more_are_due_every_claim_is_a_full_batch(db: Database) -> None:
    """The due rows asked for (DISPATCH_BATCH of them) are claimed in full batches while
    more are due: the remainder is asked again with the next rows, not claimed alone, so a
    claim's transaction is not spent on a batch of two."""
    w = await staff_world(db)
    w.ctx.settings = w.ctx.settings.model_copy(update={"dispatch_batch": CLAIM_BATCH + 4})
    chats = list(range(6300, 6300 + 3 * CLAIM_BATCH - 2))
    await put(w, chats, "s")
    dispatcher = ClaimSizes(w.ctx, SlowLink(w.clock, 0.002))
    dispatcher.sizes = []
    stats = await dispatcher.run()
    assert dispatcher.sizes == [CLAIM_BATCH, CLAIM_BATCH, CLAIM_BATCH - 2]
    assert stats.sent == len(chats)


@pytest.mark.parametrize(
    ("cap", "lease", "size"),
    [(25, 300, CLAIM_BATCH), (1, 300, CLAIM_BATCH), (30, 300, 10), (100, 300, 32),
     (500, 300, MAX_CLAIM_BATCH), (100, 60, 1)],
)  # fmt: skip
async def test_a_batch_is_a_third_of_a_second_at_the_cap(
    db: Database, cap: int, lease: int, size: int
) -> None:
    """A claim batch holds 0.32 s of sends at the configured cap: 8 at Telegram's 25/s (and
    never fewer), more with the cap raised, so a claim's cost per second stays the same; at
    most MAX_CLAIM_BATCH; one row at a time when the lease is too short for a batch."""
    w = await staff_world(db)
    update = {"rate_global_per_second": cap, "outbox_lease_seconds": lease}
    w.ctx.settings = w.ctx.settings.model_copy(update=update)
    assert Dispatcher(w.ctx, SlowLink(w.clock, 0.002)).claim_batch_size() == size


async def test_with_the_cap_raised_the_morning_is_claimed_in_larger_batches(
    db: Database,
) -> None:
    """At 100 a second (the bench's raised cap) a run claims 32 rows at a time, not 8: a
    claim per 0.32 s of sends, as at Telegram's cap; every row is sent once."""
    w = await staff_world(db)
    update = {"rate_global_per_second": 100, "dispatch_batch": 100}
    w.ctx.settings = w.ctx.settings.model_copy(update=update)
    chats = list(range(6500, 6580))
    await put(w, chats, "r")
    link = SlowLink(w.clock, 0.002)
    dispatcher = ClaimSizes(w.ctx, link)
    dispatcher.sizes = []
    stats = await dispatcher.run()
    assert dispatcher.sizes == [32, 32, 16]
    assert stats.sent == len(chats) and sorted(d.to for d in link.deliveries) == chats


class LongAnswer(SlowLink):
    """The first send's answer takes many turns of the event loop (a slow Telegram)."""

    async def send_text(self, to: Address, text: str, buttons: Buttons = ()) -> Outcome:
        if not self.deliveries:
            for _ in range(3000):
                await asyncio.sleep(0)
        return await super().send_text(to, text, buttons)


async def test_rows_of_a_chat_in_flight_are_not_claimed_again_and_again(db: Database) -> None:
    """When every due row is of a chat whose send is in flight, the dispatcher waits for a
    send to land before it asks again, instead of claiming and giving back the same rows
    while Telegram takes its time to answer."""
    w = await staff_world(db)
    await put(w, [6400, 6400], "h")  # two rows of one chat
    dispatcher = ClaimSizes(w.ctx, LongAnswer(w.clock, 0.3))
    dispatcher.sizes = []
    stats = await dispatcher.run()
    assert stats.sent == 2
    assert len(dispatcher.sizes) <= 4, dispatcher.sizes
