"""Our side of each figure: the bot's own code, on the national dataset.

The materialise and tick figures run on :class:`~bot.clock.FakeClock` (to stand on the
first day of the fiscal year, then on the busiest morning); dispatch runs on the real
clock against the Bot API emulator with Telegram's flood limits switched on.
"""

from __future__ import annotations

import time
import tracemalloc
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update

from bench.common import TOKEN, BenchDatabase, percentile, rss_bytes, settle_memory
from bot.app import build_application
from bot.clock import FakeClock
from bot.domain import OutboxStatus
from bot.services.context import AppContext
from bot.services.dispatch import Dispatcher, DispatchStats
from bot.services.outbox import enqueue
from bot.services.reminders import TickStats, remind
from bot.store.models import Outbox
from bot.telegram.context import app_context
from bot.telegram.transport import transport_of
from tests.support.botapi import BotApiEmulator

#: Where the rows that are not part of the dispatch wave wait meanwhile.
PARKED = datetime(2100, 1, 1, tzinfo=UTC)
#: Synthetic chats for topping up a small run's wave (beyond the dataset's people).
WAVE_CHAT_BASE = 900_000_000


@dataclass
class MemoryFigure:
    traced_peak: int  # tracemalloc's peak while the scheduler ran a tick
    traced_now: int  # what is still allocated afterwards
    rss_growth: int
    jobs: int
    tick: TickStats

    @property
    def bytes(self) -> int:
        """The larger of the two measures: the figure is meant to be conservative."""
        return max(self.traced_peak, self.rss_growth)


async def memory(bench: BenchDatabase, at: datetime, offices: int) -> MemoryFigure:
    """The running scheduler as ``python -m bot run`` builds it (PTB's JobQueue on
    APScheduler with our periodic jobs), plus a reminder tick over ``offices`` offices.

    The scheduler is started paused, so its jobs never fire here; the tick is run
    directly, on the application's own context.
    """
    before = settle_memory()
    tracemalloc.start()
    try:
        app = build_application(
            bench.settings(), clock=FakeClock(at), db=bench.db, with_jobs=True, startup=False
        )
        jq = app.job_queue
        assert jq is not None
        jq.scheduler.start(paused=True)
        try:
            ctx = app_context(app)
            stats = await remind(ctx, at, max_orgs=offices)
            traced_now, traced_peak = tracemalloc.get_traced_memory()
            jobs = len(jq.scheduler.get_jobs())
            rss_growth = rss_bytes() - before
        finally:
            jq.scheduler.shutdown(wait=False)
    finally:
        tracemalloc.stop()
    return MemoryFigure(traced_peak, traced_now, rss_growth, jobs, stats)


async def clear_outbox(bench: BenchDatabase) -> None:
    async with bench.db.transaction() as s:
        await s.execute(delete(Outbox))


@dataclass
class TickFigure:
    stats: TickStats
    seconds: float

    @property
    def claim_p50(self) -> float:
        return percentile(self.stats.claim_seconds, 50)

    @property
    def claim_p95(self) -> float:
        return percentile(self.stats.claim_seconds, 95)

    @property
    def claim_max(self) -> float:
        return max(self.stats.claim_seconds, default=float("nan"))


async def tick(ctx: AppContext, at: datetime) -> TickFigure:
    """One reminder tick at ``at``: every office's due stages, one claim per office."""
    t0 = time.perf_counter()
    stats = await remind(ctx, at)
    return TickFigure(stats, time.perf_counter() - t0)


# -- dispatch --------------------------------------------------------------------------------


async def prepare_wave(bench: BenchDatabase, size: int) -> list[tuple[int, str]]:
    """``size`` pending messages to distinct private chats, due now on the real clock.

    They are the tick's own reminders (the busiest morning's first messages), topped up
    with synthetic ones when a small run made fewer; every other pending row is parked.
    """
    now = datetime.now(UTC) - timedelta(seconds=1)
    wave: list[tuple[int, str]] = []
    async with bench.db.transaction() as s:
        rows = await s.execute(
            select(Outbox.id, Outbox.chat_id, Outbox.text)
            .where(Outbox.status == OutboxStatus.PENDING.value, Outbox.chat_id > 0)
            .order_by(Outbox.id)
            .limit(size * 2)
        )
        chosen: list[int] = []
        chats: set[int] = set()
        for row_id, chat_id, text in rows:
            if len(chosen) < size and chat_id not in chats:
                chosen.append(row_id)
                chats.add(chat_id)
                wave.append((chat_id, text))
        await s.execute(
            update(Outbox)
            .where(Outbox.status == OutboxStatus.PENDING.value)
            .values(next_attempt_at=PARKED)
        )
        if chosen:
            await s.execute(update(Outbox).where(Outbox.id.in_(chosen)).values(next_attempt_at=now))
        i = 0
        while len(wave) < size:
            chat = WAVE_CHAT_BASE + i
            text = f"การแจ้งเตือนทดสอบ {i}"
            await enqueue(
                s, chat_id=chat, kind="bench", dedupe_key=f"bench:{chat}", text=text, now=now
            )
            wave.append((chat, text))
            i += 1
    return wave


@dataclass
class DispatchFigure:
    messages: int
    stats: DispatchStats
    seconds: float
    too_many_requests: int
    delivered: int
    send_span: float  # first to last successful send, on the emulator's clock
    busiest_second: int  # the most sends the emulator saw in any one-second window
    cap: int

    @property
    def rate(self) -> float:
        """Messages sent per second of the whole run (its database work included)."""
        return self.stats.sent / self.seconds if self.seconds else 0.0

    @property
    def steady_rate(self) -> float:
        """The rate after the first second's burst: a wave of finite length ends with a
        partly filled second, so :attr:`rate` of a saturated limiter reads a little
        above the cap; this one reads a little below it."""
        if self.send_span <= 0:
            return 0.0
        return max(self.delivered - self.cap, 0) / self.send_span

    @property
    def cap_share(self) -> float:
        """The conservative share of the cap: the lower of the two rates."""
        return min(self.rate, self.steady_rate) / self.cap


def busiest_second(times: list[float]) -> int:
    times = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= 1.0:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


async def dispatch(bench: BenchDatabase, size: int) -> tuple[DispatchFigure, list[tuple[int, str]]]:
    """``Dispatcher(ctx, transport_of(app)).run()`` on the real clock, against the emulator."""
    wave = await prepare_wave(bench, size)
    with BotApiEmulator(TOKEN, enforce_limits=True) as emu:
        settings = bench.settings(telegram_api_base_url=emu.base_url)
        app = build_application(settings, db=bench.db, with_jobs=False, startup=False)
        async with app:
            ctx = app_context(app)
            t0 = time.perf_counter()
            stats = await Dispatcher(ctx, transport_of(app)).run()
            seconds = time.perf_counter() - t0
        sent = emu.sent_messages()
        at = [c.at for c in sent]
        figure = DispatchFigure(
            messages=len(wave),
            stats=stats,
            seconds=seconds,
            too_many_requests=emu.too_many_requests,
            delivered=len(sent),
            send_span=(max(at) - min(at)) if at else 0.0,
            busiest_second=busiest_second(at),
            cap=settings.rate_global_per_second,
        )
    return figure, wave
