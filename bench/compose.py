"""Composing the busiest morning's reminders, and the tick's claims, next to their floors.

    python -m bench.compose --orgs 1000 --db both     # the quick form (a few minutes)
    python -m bench.compose --orgs 7850 --db both     # national scale

For each database: a fresh national dataset (bench.dataset), FY 2570 materialised, and
every office moved to the busiest morning (bench.scene); then

* ``tick_claim_floor_p95_ms``: the raw driver's claim of the same stages in batches of
  the same offices (bench.claimfloor), measured first (it writes the rows back as they
  are);
* ``compose_ms_per_message``: one ``remind(ctx, 09:00)`` over every office, the bot's own
  code (read, compose, claim, enqueue; batches of ``BATCH_OFFICES`` offices), per
  message queued; ``tick_claim_p95_ms`` its claims (from ``BEGIN`` to the row count,
  per batch, and per office of the batch: ``tick_claim_per_office_p95_ms``);
* ``compose_floor_ms_per_message``: the raw driver's claims plus its ``executemany`` of
  the same outbox rows into an empty twin of ``outbox``, per message.

The targets (issue 12): ≤ 1 ms per message composed, a claim p95 ≤ 1 ms, on SQLite and
PostgreSQL, PostgreSQL within 2× of SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from bench.claimfloor import claim_floor, outbox_floor
from bench.common import (
    BACKENDS,
    FISCAL_YEAR,
    FY_START,
    NATIONAL_ORGS,
    Backend,
    create_database,
    emit,
    percentile,
    ratio,
    verdict,
)
from bench.dataset import analyse, emit_stats, generate
from bench.scene import busiest_day, set_scene
from bot.clock import FakeClock
from bot.services.context import AppContext
from bot.services.materialise import materialise
from bot.services.reminders import BATCH_OFFICES, TickStats, remind

#: The targets of issue 12.
MAX_MS_PER_MESSAGE = 1.0
MAX_CLAIM_P95_MS = 1.0
POSTGRES_MAX_RATIO = 2.0


@dataclass
class ComposeFigure:
    stats: TickStats
    seconds: float
    claim_floor: list[float]
    outbox_floor_seconds: float

    @property
    def ms_per_message(self) -> float:
        return 1000 * self.seconds / max(self.stats.messages, 1)

    @property
    def floor_ms_per_message(self) -> float:
        return (
            1000 * (sum(self.claim_floor) + self.outbox_floor_seconds) / max(self.stats.messages, 1)
        )

    @property
    def offices_per_batch(self) -> float:
        return self.stats.orgs / max(self.stats.batches, 1)

    def claim_p95_ms(self, per_office: bool = False) -> float:
        k = self.offices_per_batch if per_office else 1.0
        return 1000 * percentile(self.stats.claim_seconds, 95) / k

    def floor_p95_ms(self, per_office: bool = False) -> float:
        k = self.offices_per_batch if per_office else 1.0
        return 1000 * percentile(self.claim_floor, 95) / k


async def run_one(backend: Backend, orgs: int) -> ComposeFigure:
    emit("db", backend)
    bench = await create_database(backend)
    try:
        emit_stats(await generate(bench, orgs))
        clock = FakeClock(FY_START)
        ctx = AppContext(settings=bench.settings(), clock=clock, db=bench.db)
        await materialise(ctx, FY_START, fiscal_years=[FISCAL_YEAR])
        busy = busiest_day(ctx, FISCAL_YEAR)
        due = await set_scene(bench, ctx, FISCAL_YEAR, busy.day)
        await analyse(bench)
        emit("busiest_day", f"{busy.day.isoformat()} 09:00 Asia/Bangkok")
        emit("due_stages", due)
        floor = await claim_floor(bench, busy.at, BATCH_OFFICES)
        clock.set(busy.at)
        t0 = time.perf_counter()
        stats = await remind(ctx, busy.at)
        seconds = time.perf_counter() - t0
        assert stats.stages == due and stats.conflicts == 0, (stats.stages, due, stats.conflicts)
        outbox_seconds, rows = await outbox_floor(bench, BATCH_OFFICES)
        assert rows == stats.messages, (rows, stats.messages)
        fig = ComposeFigure(stats, seconds, floor, outbox_seconds)
        emit_figure(fig)
        return fig
    finally:
        await bench.drop()


def emit_figure(fig: ComposeFigure) -> None:
    s = fig.stats
    emit("tick_offices", s.orgs)
    emit("tick_messages", s.messages)
    emit("tick_batches", s.batches)
    emit("tick_offices_per_batch", fig.offices_per_batch)
    emit("tick_seconds", fig.seconds)
    emit("compose_ms_per_message", fig.ms_per_message)
    emit("compose_floor_ms_per_message", fig.floor_ms_per_message)
    emit("ratio_compose_vs_floor", ratio(fig.ms_per_message, fig.floor_ms_per_message))
    emit("tick_claim_p95_ms", fig.claim_p95_ms())
    emit("tick_claim_floor_p95_ms", fig.floor_p95_ms())
    emit("ratio_claim_p95_vs_floor", ratio(fig.claim_p95_ms(), fig.floor_p95_ms()))
    emit("tick_claim_per_office_p95_ms", fig.claim_p95_ms(per_office=True))
    emit("tick_claim_floor_per_office_p95_ms", fig.floor_p95_ms(per_office=True))


async def run(backends: Sequence[Backend], orgs: int) -> None:
    figures = {b: await run_one(b, orgs) for b in backends}
    for b, fig in figures.items():
        emit(f"{b}_compose_ms_per_message", fig.ms_per_message)
        emit(f"{b}_tick_claim_p95_ms", fig.claim_p95_ms())
        emit(
            f"target_{b}_compose_le_1ms_per_message",
            verdict(fig.ms_per_message <= MAX_MS_PER_MESSAGE, orgs),
        )
        emit(f"target_{b}_claim_p95_le_1ms", verdict(fig.claim_p95_ms() <= MAX_CLAIM_P95_MS, orgs))
    if "sqlite" in figures and "postgres" in figures:
        pg, lite = figures["postgres"], figures["sqlite"]
        vs = ratio(pg.ms_per_message, lite.ms_per_message)
        emit("ratio_compose_postgres_vs_sqlite", vs)
        emit("target_compose_postgres_le_2x_sqlite", verdict(vs <= POSTGRES_MAX_RATIO, orgs))
        vs = ratio(pg.claim_p95_ms(), lite.claim_p95_ms())
        emit("ratio_claim_p95_postgres_vs_sqlite", vs)
        emit("target_claim_postgres_le_2x_sqlite", verdict(vs <= POSTGRES_MAX_RATIO, orgs))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=(*BACKENDS, "both"), default="both")
    parser.add_argument("--orgs", type=int, default=NATIONAL_ORGS)
    args = parser.parse_args(argv)
    backends: list[Backend] = list(BACKENDS) if args.db == "both" else [args.db]
    asyncio.run(run(backends, args.orgs))


if __name__ == "__main__":
    main()
