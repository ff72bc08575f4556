"""Crash: ``kill -9`` at random moments during a wave, 10 times, on SQLite and PostgreSQL.

The real ``python -m bot run`` and two ``python -m bot dispatch`` deliver the wave together; the
one that has run the longest is killed after a random number of further sends (and a random
instant more), and a new one takes its place.  The test keeps the outbox topped up while
they run, so every kill lands in the middle of delivery.  Every reminder arrives, and at
most one twice per kill."""

from __future__ import annotations

import asyncio
import random
from collections import deque
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
