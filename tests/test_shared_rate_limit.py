"""Several senders share one rate limit (issue 13 §2): ``run`` plus N × ``dispatch`` on one
database together stay under Telegram's limits, because the send slots live in the database
(``RATE_LIMITER=database``, the default; :mod:`bot.telegram.sharedlimit`)."""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.clock import SystemClock
from bot.services.outbox import enqueue
from bot.store.db import Database
from bot.store.models import Outbox
from bot.telegram.sharedlimit import MIN_LATE_SECONDS, SharedSlots
from tests.support.botapi import BotApiEmulator
from tests.support.processes import BotProcess, Target, wait_until
from tests.support.waves import real_now
from tests.support.world import World, staff_world

pytestmark = pytest.mark.postgres

CAP = 25
#: Chats that get several messages, so that two senders may hold rows of one chat at once.
REPEATED = range(7000, 7010)
REPEATS = 3
SINGLE = range(8000, 8150)


def busiest_second(times: list[float]) -> int:
    times, best, lo = sorted(times), 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= 1.0:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def gaps_per_chat(sends: list[tuple[int, float]]) -> dict[int, list[float]]:
    by_chat: dict[int, list[float]] = defaultdict(list)
    for chat, at in sorted(sends, key=lambda s: s[1]):
        by_chat[chat].append(at)
    return {c: [b - a for a, b in itertools.pairwise(t)] for c, t in by_chat.items()}


async def test_two_limiters_on_one_database_share_the_global_and_the_chat_slots(
    db: Database,
) -> None:
    """In one process, two SharedSlots on two connection pools, as two processes would be:
    together at most 25 a second, whoever took the slot, and a chat's sends over 1 s apart."""
    other = Database(db.url, schema=getattr(db, "test_handle", None))
    clock = SystemClock()
    a, b = SharedSlots(db, clock), SharedSlots(other, clock)
    got: list[tuple[int, float]] = []

    async def sender(slots: SharedSlots, chats: list[int], batched: bool) -> None:
        for start in range(0, len(chats), 4):
            batch = chats[start : start + 4]
            if batched:
                await slots.prepare(batch)
            for chat in batch:
                await slots.acquire(chat)
                got.append((chat, time.monotonic()))

    try:
        mine = [*range(100, 120), 1, 2]
        theirs = [*range(200, 220), 1, 2]
        await asyncio.gather(sender(a, mine, True), sender(b, theirs, False))
    finally:
        await other.dispose()
    times = sorted(t for _, t in got)
    # the slots are 1/25 s apart; a send may go up to 0.1 s after its own, so at most 28
    # of them in any second (1.1 s of slots)
    assert (len(times) - 1) / (times[-1] - times[0]) <= CAP
    assert busiest_second(times) <= math.floor(CAP * (1 + MIN_LATE_SECONDS)) + 1
    for chat in (1, 2):
        [gap] = gaps_per_chat(got)[chat]
        assert gap >= 1.0, (chat, gap)
    assert a.reservations < len(mine)  # batched: a transaction for several sends


async def queue(w: World) -> None:
    async with w.ctx.db.transaction() as s:
        for n in range(REPEATS):
            for chat in REPEATED:
                await enqueue(s, chat_id=chat, kind="reminder", dedupe_key=f"r:{chat}:{n}",
                              text=f"เตือน {chat} {n}", now=w.clock.now(), org_id=w.org.id)  # fmt: skip
        for chat in SINGLE:
            await enqueue(s, chat_id=chat, kind="reminder", dedupe_key=f"s:{chat}",
                          text=f"เตือน {chat}", now=w.clock.now(), org_id=w.org.id)  # fmt: skip


def start(target: Target, emu: BotApiEmulator, log_dir: Path, n: int) -> BotProcess:
    return BotProcess.start("dispatch", target, emu, "--idle", "0.2", log_dir=log_dir,
                            WORKER_ID=f"shared-{n}", RATE_GLOBAL_PER_SECOND=str(CAP))  # fmt: skip


@pytest.mark.slow
async def test_two_dispatch_processes_together_keep_telegrams_limits(
    db: Database, tmp_path: Path
) -> None:
    if db.dialect != "postgresql":
        pytest.skip("several hosts' senders share PostgreSQL (SQLite: the machine's processes)")
    w = await staff_world(db, start=real_now() - timedelta(minutes=1))
    await queue(w)
    total = len(SINGLE) + len(REPEATED) * REPEATS
    target = Target.of(db)
    with BotApiEmulator(enforce_limits=True) as emu:
        procs = [start(target, emu, tmp_path, n) for n in range(2)]
        try:
            wait_until(lambda: len(emu.sent_messages()) >= total, 120, "the wave")
        finally:
            codes = [p.stop() for p in procs]
        sends = [(c.chat_id, c.at) for c in emu.sent_messages() if c.chat_id is not None]
        too_many = emu.too_many_requests
    assert codes == [0, 0], [p.log()[-2000:] for p in procs]
    async with db.transaction() as s:
        by = Counter(await s.scalars(select(Outbox.claimed_by).where(Outbox.status == "sent")))
    assert set(by) == {"shared-0", "shared-1"} and sum(by.values()) == total, by  # both sent
    assert too_many == 0
    times = sorted(at for _, at in sends)
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert rate <= CAP, rate
    # at most 28 sends in a second (a send goes at most 0.1 s late), and the arrival
    # times carry the HTTP round trip's jitter: still under Telegram's 30
    assert busiest_second(times) < 30, busiest_second(times)
    gaps = gaps_per_chat(sends)
    assert all(len(gaps[c]) == REPEATS - 1 for c in REPEATED)
    assert min(g for c in REPEATED for g in gaps[c]) >= 1.0, gaps


async def test_slots_of_rows_given_back_are_taken_back(db: Database) -> None:
    """A batch's rows given back unsent (a wake-up for a press): their slots, and their chats'
    next slots, are this process's to reuse, so sending them next costs no chat's second."""
    clock = SystemClock()
    slots = SharedSlots(db, clock)
    chats = list(range(300, 308))
    await slots.prepare(chats)
    for chat in chats[:2]:
        await slots.acquire(chat)
    await slots.prepare(chats[2:])  # the next batch: the six given back
    started = time.monotonic()
    for chat in chats[2:]:
        await slots.acquire(chat)
    took = time.monotonic() - started
    assert took < 6 / CAP + 0.5, took  # not a chat's 1.15 s
