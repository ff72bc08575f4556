"""Graceful stop: on SIGTERM or SIGINT, ``python -m bot run`` and ``python -m bot dispatch``
finish the message in flight, give back the rows they claimed and did not send, and exit
within 10 s with exit code 0 and no traceback.

The emulator holds one send (a slow Telegram); the signal arrives while it is held.  That
message arrives once and its row is ``sent``; no row is left ``sending``; another worker (a
new id: it could not take over rows still claimed by the stopped one) sends the rest, so
nothing is lost and nothing arrives twice."""

from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.services.materialise import materialise
from bot.store.db import Database
from bot.store.models import Outbox
from tests.support.botapi import BotApiEmulator
from tests.support.processes import BotProcess, Target, arrivals, sends, wait_until
from tests.support.waves import Wave, real_now
from tests.support.world import staff_world

WAVE = 30


async def statuses(db: Database) -> Counter[str]:
    async with db.transaction() as s:
        rows = await s.execute(
            select(Outbox.status, func.count())
            .where(Outbox.kind == "reminder")
            .group_by(Outbox.status)
        )
        return Counter({status: n for status, n in rows.all()})


@pytest.mark.slow
@pytest.mark.parametrize(
    ("command", "sig"),
    [("dispatch", signal.SIGTERM), ("dispatch", signal.SIGINT), ("run", signal.SIGTERM), ("run", signal.SIGINT)],
)  # fmt: skip
async def test_a_signal_finishes_the_send_in_flight_and_gives_back_the_rest(
    sqlite_db: Database, tmp_path: Path, command: str, sig: signal.Signals
) -> None:
    w = await staff_world(sqlite_db, start=real_now())
    await materialise(w.ctx, w.clock.now())
    wave = Wave(w)
    await wave.add(WAVE)
    target = Target.of(sqlite_db)
    args = ("--idle", "0.2") if command == "dispatch" else ()
    with BotApiEmulator() as emu:
        proc = BotProcess.start(command, target, emu, *args, log_dir=tmp_path,
                                WORKER_ID="stopping", RATE_GLOBAL_PER_SECOND="5",
                                REQUEST_TIMEOUT_SECONDS="10")  # fmt: skip
        with proc:
            wait_until(lambda: sends(emu, wave.chats) >= 3, 90, "the first sends")
            emu.fail_next("slow", method="sendMessage", delay=3.0)  # the next one stays in flight
            emu.wait_held(1, timeout=30)
            asked = time.monotonic()
            code = proc.stop(sig, timeout=30)
            took = time.monotonic() - asked
        in_flight = emu.calls("sendMessage")[-1]  # held, so answered last
        sent_before = sends(emu, wave.chats)
        left = await statuses(sqlite_db)
        # another worker, which cannot recover the stopped one's claims, sends the rest
        rest = BotProcess.start("dispatch", target, emu, "--once", log_dir=tmp_path,
                                WORKER_ID="after")  # fmt: skip
        assert rest.wait(timeout=120) == 0, rest.log()[-3000:]
        got = arrivals(emu, wave.chats)
    logged = proc.log()
    assert code == 0, logged[-3000:]
    assert took < 10, f"took {took:.1f} s to stop"
    assert "Traceback" not in logged, logged[-3000:]
    assert in_flight.ok and in_flight.chat_id in wave.chats  # the held send was finished
    assert left["sending"] == 0, left  # nothing left claimed
    assert left["sent"] == sent_before and left["pending"] == WAVE - sent_before, left
    assert got == Counter(dict.fromkeys(wave.chats, 1))  # nothing lost, nothing twice
