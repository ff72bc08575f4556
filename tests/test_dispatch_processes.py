"""Real processes: a dispatcher killed with SIGKILL mid-wave loses nothing, and two
dispatchers on one database never send the same row."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.services.dispatch import CLAIM_BATCH
from bot.services.outbox import enqueue
from bot.store.db import Database
from tests.support.botapi import BotApiEmulator
from tests.support.world import World, staff_world

pytestmark = pytest.mark.postgres  # processes sharing one database

ROOT = Path(__file__).resolve().parents[1]
WAVE = 60


def real_now() -> datetime:
    return datetime.now(UTC) - timedelta(minutes=1)


def dispatcher(
    db: Database, emu: BotApiEmulator, worker: str, *args: str
) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        BOT_TOKEN=emu.token,
        TELEGRAM_API_BASE_URL=emu.base_url,
        DATABASE_URL=db.url,
        WORKER_ID=worker,
        OUTBOX_LEASE_SECONDS="600",
    )
    if db.dialect == "postgresql":
        env["DATABASE_SCHEMA"] = db.test_handle  # type: ignore[attr-defined]
    else:
        env.pop("DATABASE_SCHEMA", None)
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "dispatch", *args], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


async def wave(w: World, n: int = WAVE) -> None:
    async with w.ctx.db.transaction() as s:
        for i in range(n):
            await enqueue(s, chat_id=6000 + i, kind="reminder", dedupe_key=f"wave:{i}", text=f"เตือน {i}",
                          now=w.clock.now(), org_id=w.org.id)  # fmt: skip


def delivered(emu: BotApiEmulator) -> Counter[int]:
    return Counter(c.chat_id for c in emu.sent_messages() if c.chat_id is not None)


@pytest.mark.slow
async def test_sigkill_mid_wave_loses_nothing(db: Database) -> None:
    w = await staff_world(db, start=real_now())  # the subprocesses run on the real clock
    await wave(w)
    kills = 0
    with BotApiEmulator() as emu:
        for stop_after in (15, 35):
            proc = dispatcher(db, emu, "crash-test", "--idle", "0.2")
            emu.wait_for_calls(stop_after, method="sendMessage", timeout=60)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            kills += 1
        # the restarted dispatcher (same worker id) resends what was in flight and finishes the wave
        final = dispatcher(db, emu, "crash-test", "--once")
        assert final.wait(timeout=120) == 0, final.stderr.read().decode() if final.stderr else ""
        got = delivered(emu)
    assert set(got) == {6000 + i for i in range(WAVE)}  # every reminder arrived
    duplicates = sum(n - 1 for n in got.values())
    # at most the sends in flight per kill: a send holds its place in the window until its
    # "sent" has committed, and Dispatcher.window (1.5 x the 25/s cap x the round trip and its
    # write) is one on an idle machine, but grows with a loaded machine's round trips, up to
    # CLAIM_BATCH, its ceiling
    assert duplicates <= CLAIM_BATCH * kills, got


@pytest.mark.slow
async def test_two_dispatcher_processes_share_one_database(db: Database) -> None:
    w = await staff_world(db, start=real_now())
    await wave(w)
    with BotApiEmulator() as emu:
        a = dispatcher(db, emu, "worker-a", "--once")
        b = dispatcher(db, emu, "worker-b", "--once")
        assert a.wait(timeout=120) == 0 and b.wait(timeout=120) == 0
        got = delivered(emu)
    assert got == Counter({6000 + i: 1 for i in range(WAVE)})  # no row sent twice
