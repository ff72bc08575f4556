"""How soon a colleague hears about a press, and how fast the running bot sends a wave.

    python -m bench.delivery                  # SQLite, about 4 minutes
    python -m bench.delivery --db postgres    # a fresh schema, dropped afterwards

``notify_p50_s`` / ``notify_p95_s``: the time from the commit that queues a press's
notification (``kind="notify"``, what the review chain queues) to its arrival at the Bot API
emulator, for ``--presses`` presses made one a second while ``--backlog`` reminders are
queued ahead of them; the application is built by ``build_application`` and started as
``run`` starts it (its sender running), on the real clock.  The naive figure is the same
presses behind the same backlog in the design this replaced: one FIFO, drained only by the
30 s tick for 60 % of each tick; it runs the same dispatcher, limiter and emulator on an
injected clock (so that its minutes take seconds), the presses committed at the tick on
or after their time.

``run_dispatch_cap_share``: ``python -m bot run`` as a real process sends a wave of
``--wave`` messages to distinct private chats against the emulator enforcing Telegram's
limits; the share of the 25 msg/s cap it sustains (the lower of the whole run's rate and
the rate after the first second), and its 429s.  ``--senders N``: ``run`` and N - 1
``python -m bot dispatch`` processes send the wave together, sharing the limit in the
database (``RATE_LIMITER``, ``database`` by default): their combined share, which must not pass
the cap, and the busiest second.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench.common import TOKEN, Backend, BenchDatabase, create_database, emit, percentile, ratio
from bench.figures import busiest_second
from bot.app import build_application
from bot.clock import FakeClock
from bot.domain import OutboxStatus
from bot.services.dispatch import Dispatcher
from bot.services.outbox import enqueue
from bot.store.models import Outbox
from bot.telegram.context import app_context
from bot.telegram.transport import transport_of
from tests.support.botapi import BotApiEmulator

ROOT = Path(__file__).resolve().parents[1]
NOTIFY_MAX_P95_SECONDS = 1.0
RUN_MIN_CAP_SHARE = 0.95
PRESS_CHAT_BASE = 800_000_000
BACKLOG_CHAT_BASE = 700_000_000


async def queue(bench: BenchDatabase, n: int, base: int, kind: str, now: datetime) -> None:
    async with bench.db.transaction() as s:
        for i in range(n):
            await enqueue(s, chat_id=base + i, kind=kind, dedupe_key=f"{kind}:{base + i}",
                          text=f"{kind} {i}", now=now)  # fmt: skip


async def press(bench: BenchDatabase, i: int, now: datetime) -> float:
    """A press's commit: its notification queued; returns the monotonic time of the commit."""
    await queue_one(bench, PRESS_CHAT_BASE + i, now)
    return time.monotonic()


async def queue_one(bench: BenchDatabase, chat: int, now: datetime) -> None:
    async with bench.db.transaction() as s:
        await enqueue(s, chat_id=chat, kind="notify", dedupe_key=f"notify:{chat}",
                      text="ส่งตรวจแล้ว", now=now)  # fmt: skip


def arrivals(emu: BotApiEmulator, presses: int) -> dict[int, float]:
    return {
        c.chat_id - PRESS_CHAT_BASE: c.at
        for c in emu.sent_messages()
        if c.chat_id is not None and PRESS_CHAT_BASE <= c.chat_id < PRESS_CHAT_BASE + presses
    }


async def ours(bench: BenchDatabase, presses: int, backlog: int) -> list[float]:
    await queue(bench, backlog, BACKLOG_CHAT_BASE, "reminder", datetime.now(UTC))
    with BotApiEmulator(TOKEN, enforce_limits=True) as emu:
        app = build_application(bench.settings(telegram_api_base_url=emu.base_url), db=bench.db)
        await app.initialize()
        assert app.post_init is not None and app.post_shutdown is not None
        await app.post_init(app)  # migrations, materialisation, menus, the sender
        committed = {}
        await emu.await_calls(50, method="sendMessage", timeout=60)  # the backlog is moving
        for i in range(presses):
            committed[i] = await press(bench, i, datetime.now(UTC))
            await asyncio.sleep(1.0)
        for i in range(presses):
            await emu.await_calls(1, method="sendMessage", chat_id=PRESS_CHAT_BASE + i, timeout=60)
        got = arrivals(emu, presses)
        backlog_left = backlog - (len(emu.sent_messages()) - len(got))
        await app.post_shutdown(app)
        await app.shutdown()
    emit("notify_backlog_still_queued", backlog_left)
    return [got[i] - committed[i] for i in range(presses)]


class FifoDispatcher(Dispatcher):
    """The design this replaced: oldest first, whatever caused the message."""

    async def candidates(self, now: datetime, limit: int | None = None) -> list[int]:
        async with self.ctx.db.transaction() as s:
            rows = await s.scalars(
                select(Outbox.id)
                .where(Outbox.status == OutboxStatus.PENDING.value, Outbox.next_attempt_at <= now)
                .order_by(Outbox.next_attempt_at, Outbox.id)
                .limit(
                    min(limit or self.ctx.settings.dispatch_batch, self.ctx.settings.dispatch_batch)
                )
            )
            return list(rows)


async def naive(bench: BenchDatabase, presses: int, backlog: int) -> list[float]:
    """FIFO behind the backlog, drained by the 30 s tick (18 s of each), on an injected clock."""
    clock = FakeClock(datetime.now(UTC))
    await queue(bench, backlog, BACKLOG_CHAT_BASE, "reminder", clock.now())
    start = clock.monotonic() + 1.0
    times = [start + i for i in range(presses)]  # one press a second
    tick = 30.0
    next_tick = start + tick / 2  # the presses fall at a random phase of the tick
    committed: dict[int, float] = {}
    with BotApiEmulator(TOKEN, enforce_limits=True, clock=clock.monotonic) as emu:
        settings = bench.settings(telegram_api_base_url=emu.base_url)
        app = build_application(settings, clock=clock, db=bench.db, with_jobs=False, startup=False)
        async with app:
            ctx = app_context(app)
            while len(arrivals(emu, presses)) < presses:
                clock.advance(max(next_tick - clock.monotonic(), 0))
                for i, t in enumerate(times):
                    if i not in committed and t <= clock.monotonic():
                        await queue_one(bench, PRESS_CHAT_BASE + i, clock.now())
                        committed[i] = t
                await FifoDispatcher(ctx, transport_of(app)).run(budget_seconds=tick * 0.6)
                next_tick += tick
        got = arrivals(emu, presses)
    return [got[i] - committed[i] for i in range(presses)]


def sender(command: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "bot", command], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


def run_wave(bench: BenchDatabase, wave: int, senders: int = 1) -> None:
    """``python -m bot run`` (and ``senders - 1`` × ``python -m bot dispatch``, sharing the
    limit in the database) sends ``wave`` queued messages; their sustained share of the cap."""

    async def fill() -> None:
        await queue(bench, wave, BACKLOG_CHAT_BASE, "reminder", datetime.now(UTC))
        await bench.db.dispose()  # the process is the one that sends

    asyncio.run(fill())
    with BotApiEmulator(TOKEN, enforce_limits=True) as emu:
        env = dict(os.environ, BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=emu.base_url,
                   DATABASE_URL=bench.url, LOG_LEVEL="WARNING", WORKER_ID="bench-run")  # fmt: skip
        if bench.schema:
            env["DATABASE_SCHEMA"] = bench.schema
        commands = ["run"] + ["dispatch"] * (senders - 1)
        procs = [sender(command, dict(env, WORKER_ID=f"bench-{n}")) for n, command in enumerate(commands)]  # fmt: skip
        try:
            emu.wait_for_calls(wave, method="sendMessage", timeout=wave / 10 + 120)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=60)
        at = sorted(c.at for c in emu.sent_messages())
        cap = 25
        span = at[-1] - at[0]
        whole = len(at) / (span + 1 / cap)
        steady = (len(at) - cap) / span
        emit("run_dispatch_messages", len(at))
        emit("run_dispatch_seconds", span)
        emit("run_dispatch_busiest_second", busiest_second(at))
        emit("run_dispatch_cap_share", min(whole, steady) / cap)
        emit("run_dispatch_429", emu.too_many_requests)
        emit("run_dispatch_target_met", min(whole, steady) / cap >= RUN_MIN_CAP_SHARE
             and emu.too_many_requests == 0)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.delivery")
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--presses", type=int, default=50)
    p.add_argument("--backlog", type=int, default=5000)
    p.add_argument("--wave", type=int, default=2000)
    p.add_argument("--senders", type=int, default=1, help="run plus N-1 dispatch processes")
    p.add_argument("--only", choices=("notify", "wave"), help="one of the two figures")
    args = p.parse_args(argv)
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    emit("db", args.db)
    if args.only != "wave":
        asyncio.run(notify_figures(args.db, args))
    if args.only != "notify":
        wave_figure(args.db, args)
    return 0


async def notify_figures(backend: Backend, args: Any) -> None:
    emit("notify_presses", args.presses)
    emit("notify_backlog", args.backlog)
    bench = await create_database(backend)
    try:
        mine = await ours(bench, args.presses, args.backlog)
    finally:
        await bench.drop()
    bench = await create_database(backend)
    try:
        base = await naive(bench, args.presses, args.backlog)
    finally:
        await bench.drop()
    p50, p95 = percentile(mine, 50), percentile(mine, 95)
    n50, n95 = percentile(base, 50), percentile(base, 95)
    emit("notify_p50_s", p50)
    emit("notify_p95_s", p95)
    emit("naive_notify_p50_s", n50)
    emit("naive_notify_p95_s", n95)
    emit("notify_p95_vs_naive", ratio(p95, n95))
    emit("notify_target_met", p95 <= NOTIFY_MAX_P95_SECONDS)


async def created(backend: Backend) -> BenchDatabase:
    """A database whose pool is left empty: each ``asyncio.run`` that uses it opens its own
    connections (asyncpg's belong to the loop that opened them)."""
    bench = await create_database(backend)
    await bench.db.dispose()
    return bench


def wave_figure(backend: Backend, args: Any) -> None:
    emit("run_dispatch_wave", args.wave)
    emit("run_dispatch_senders", args.senders)
    bench = asyncio.run(created(backend))
    try:
        run_wave(bench, args.wave, args.senders)
    finally:
        asyncio.run(bench.drop())


if __name__ == "__main__":
    raise SystemExit(main())
