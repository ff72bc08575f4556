"""Telegram faults: during a wave of 2,000 reminders, 20 % of sends fail at random — 429 with
``retry_after``, 500, a timeout past the client's read timeout, a dropped connection, and an
answer lost after Telegram accepted the send.  Every reminder is delivered; none twice, except
where the answer of an accepted send was lost (the emulator counts those).

The bot is the application ``python -m bot run`` builds, talking real HTTP to the emulator, on
a fake clock: the test moves the clock on to the next retry when nothing is due, so backoffs
and ``retry_after`` pauses cost no real time; held requests do (the client's read timeout)."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import datetime, timedelta

import pytest

from bot.clock import FakeClock
from bot.services.dispatch import Dispatcher
from bot.store.db import Database
from bot.telegram.transport import transport_of
from tests.support.botapi import BotApiEmulator
from tests.support.processes import arrivals
from tests.support.telegram import running_app
from tests.support.waves import Wave, next_due, outcome
from tests.support.world import staff_world

WAVE = 2000
SHARE = 0.2
#: Of the faults: timeouts are few because each one costs the read timeout in real time.
MIX = {"500": 0.35, "drop": 0.3, "429": 0.15, "lost": 0.15, "timeout": 0.05}


@pytest.mark.slow
async def test_a_wave_through_random_faults_arrives_exactly_once(
    sqlite_db: Database, emulator: BotApiEmulator
) -> None:
    # one database: what is under test is the sender's answer to Telegram's faults (the crash
    # and outage tests run on both)
    db = sqlite_db
    w = await staff_world(db)
    wave = Wave(w)
    await wave.add(WAVE)
    emulator.random_faults(SHARE, kinds=MIX, seed=13, retry_after=2)  # type: ignore[arg-type]
    passes = 0
    async with running_app(w, emulator, request_timeout_seconds=1.0) as app:
        dispatcher = Dispatcher(w.ctx, transport_of(app))
        while (due := await next_due(db)) is not None:
            passes += 1
            assert passes < 200, f"still pending after {passes} passes: {await outcome(db)}"
            w.clock.set(max(due, w.clock.now()))
            await dispatcher.run()
    faults = emulator.fault_counts
    assert faults.total() >= 0.15 * WAVE and set(faults) == set(MIX)  # the faults did happen
    assert await outcome(db) == Counter({"sent": WAVE})  # nothing failed for good
    got = arrivals(emulator, wave.chats)
    assert set(got) == wave.chats  # every reminder delivered
    lost = Counter(c.chat_id for c in emulator.lost_answers())
    twice = {chat: n - 1 for chat, n in got.items() if n > 1}
    assert all(extra <= lost[chat] for chat, extra in twice.items()), (twice, lost)
    assert sum(twice.values()) <= faults["lost"]


async def test_a_long_telegram_outage_never_gives_a_message_up(
    sqlite_db: Database, emulator: BotApiEmulator
) -> None:
    """60 minutes of 500s and dropped connections (issue 15): the message is retried, at most
    5 minutes apart, and arrives when Telegram is back; nothing is failed for good."""
    w = await staff_world(sqlite_db)
    wave = Wave(w)
    await wave.add(3)
    emulator.random_faults(1.0, kinds=("500", "drop"), seed=15)
    async with running_app(w, emulator) as app:
        dispatcher = Dispatcher(w.ctx, transport_of(app))
        started = w.clock.now()
        tries: list[datetime] = []
        while w.clock.now() - started < timedelta(minutes=60):
            await dispatcher.run()
            tries.append(w.clock.now())
            due = await next_due(sqlite_db)
            assert due is not None  # still pending, never failed
            w.clock.set(max(due, w.clock.now()))
        assert await outcome(sqlite_db) == Counter({"pending": 3})
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(tries)]
        assert max(gaps) <= 300 and len(tries) > 12  # backed off, up to the 5-minute cap
        emulator.random_faults(0)  # Telegram is back
        w.clock.set(max(await next_due(sqlite_db) or w.clock.now(), w.clock.now()))
        await dispatcher.run()
    assert await outcome(sqlite_db) == Counter({"sent": 3})
    assert arrivals(emulator, wave.chats) == Counter(dict.fromkeys(wave.chats, 1))


class WatchingClock(FakeClock):
    """A fake clock that notes, at every wait of a second or more, how many rows are claimed."""

    def __init__(self, start: datetime, db: Database) -> None:
        super().__init__(start)
        self.db = db
        self.waits: list[tuple[float, int]] = []

    async def sleep(self, seconds: float) -> None:
        if seconds >= 1:
            self.waits.append((seconds, (await outcome(self.db))["sending"]))
        await super().sleep(seconds)


async def test_a_retry_after_longer_than_the_lease_is_waited_with_no_claim_held(
    sqlite_db: Database, emulator: BotApiEmulator
) -> None:
    """Issue 15: a 429 asks for 400 s, longer than the 300 s lease.  The sender waits it out
    before it claims the next row, so no other worker could take a claimed row meanwhile."""
    w = await staff_world(sqlite_db)
    clock = WatchingClock(w.clock.now(), sqlite_db)
    w.clock = w.ctx.clock = clock
    wave = Wave(w)
    await wave.add(3)
    emulator.fail_next("429", method="sendMessage", retry_after=400)
    async with running_app(w, emulator) as app:
        dispatcher = Dispatcher(w.ctx, transport_of(app))
        while (due := await next_due(sqlite_db)) is not None:
            clock.set(max(due, clock.now()))
            await dispatcher.run()
    assert sum(s for s, _ in clock.waits) >= 399  # the pause was honoured
    assert all(claimed == 0 for _, claimed in clock.waits), clock.waits
    assert arrivals(emulator, wave.chats) == Counter(dict.fromkeys(wave.chats, 1))
