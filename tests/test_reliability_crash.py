"""Crash: ``kill -9`` at random moments during a wave, 10 times, on SQLite and PostgreSQL.

The real ``python -m bot run`` and two ``python -m bot dispatch`` deliver the wave together; the
one that has run the longest is killed after a random number of further sends (and a random
instant more), and a new one takes its place.  The test keeps the outbox topped up while
they run, so every kill lands in the middle of delivery.  Every reminder arrives, and at
most one twice per kill."""

from __future__ import annotations

import asyncio
import random
from collections import Counter, deque
from pathlib import Path

import pytest

from bot.services.materialise import materialise
from bot.store.db import Database
from tests.support.botapi import BotApiEmulator
from tests.support.processes import BotProcess, Target, arrivals, sends
from tests.support.waves import Wave, real_now
from tests.support.world import staff_world

KILLS = 10


@pytest.mark.slow
@pytest.mark.postgres  # processes sharing one database: on both
async def test_kill_9_at_random_moments_loses_nothing(db: Database, tmp_path: Path) -> None:
    w = await staff_world(db, start=real_now())  # the processes run on the real clock
    await materialise(w.ctx, w.clock.now())  # so that each `run` starts quickly
    wave = Wave(w)
    rng = random.Random(f"crash-{db.dialect}")
    target = Target.of(db)
    with BotApiEmulator() as emu:

        def start(slot: str) -> BotProcess:
            command, args = ("run", ()) if slot == "a" else ("dispatch", ("--idle", "0.2"))
            return BotProcess.start(command, target, emu, *args, log_dir=tmp_path,
                                    WORKER_ID=f"crash-{slot}")  # fmt: skip

        live: deque[tuple[str, BotProcess]] = deque((s, start(s)) for s in "ab")
        killed: list[BotProcess] = []
        try:
            for _ in range(KILLS):
                goal = sends(emu, wave.chats) + rng.randint(1, 12)
                await wave.keep_topped_up(lambda n=goal: sends(emu, wave.chats) >= n)  # type: ignore[misc]
                await asyncio.sleep(rng.uniform(0, 0.05))  # a random instant: a send, a commit
                slot, victim = live.popleft()
                victim.kill()
                killed.append(victim)
                live.append((slot, start(slot)))
            await wave.wait_delivered(emu, within=120)
        finally:
            for _, proc in live:
                proc.kill()
        got = arrivals(emu, wave.chats)
    assert set(got) == wave.chats  # nothing lost
    duplicates = sum(n - 1 for n in got.values())
    assert duplicates <= KILLS, f"{duplicates} duplicates for {KILLS} kills"
    for proc in killed:
        assert "Traceback" not in proc.log(), proc.log()[-3000:]


@pytest.mark.slow
async def test_two_processes_with_default_ids_never_take_each_others_claims(
    sqlite_db: Database, tmp_path: Path
) -> None:
    """Issue 15: two senders with default settings on one host.  The second starts while the
    first holds a send in flight; its recovery of "rows left in flight" must not take that
    row (the first is alive), so nothing arrives twice."""
    w = await staff_world(sqlite_db, start=real_now())
    wave = Wave(w)
    await wave.add(30)
    target = Target.of(sqlite_db)
    with BotApiEmulator() as emu:
        emu.fail_next("slow", method="sendMessage", delay=4.0)  # the first send stays in flight
        first = BotProcess.start("dispatch", target, emu, "--idle", "0.2", log_dir=tmp_path,
                                 REQUEST_TIMEOUT_SECONDS="10", RATE_GLOBAL_PER_SECOND="5")  # fmt: skip
        with first:
            await asyncio.to_thread(emu.wait_held, 1, 60)
            second = BotProcess.start("dispatch", target, emu, "--idle", "0.2", log_dir=tmp_path,
                                      REQUEST_TIMEOUT_SECONDS="10")  # fmt: skip
            with second:
                await wave.wait_delivered(emu, within=90, log=lambda: first.log() + second.log())
                assert first.stop() == 0 and second.stop() == 0
        got = arrivals(emu, wave.chats)
    assert "recovered" not in second.log(), second.log()[-3000:]
    assert got == Counter(dict.fromkeys(wave.chats, 1))
