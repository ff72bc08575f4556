"""Materialising a fiscal year in bulk, next to its floor, on SQLite and PostgreSQL.

    python -m bench.materialise --orgs 1000 --db both      # the quick form (a minute or two)
    python -m bench.materialise --orgs 7850 --db both      # national scale
    python -m bench.materialise --orgs 7850 --db sqlite    # one database only

For each database: a fresh national dataset (bench.dataset), then

* ``materialise_seconds``: ``materialise(ctx, now, fiscal_years=[2570])`` over every
  office, the bot's own code (batches of offices, one transaction each);
* ``materialise_floor_seconds``: the same rows written again by the raw driver's
  ``executemany`` of the same statement, batched the same way (bench.floor), measured
  in the same run; ``ratio_materialise_vs_floor`` is ours over it;
* ``rematerialise_seconds``: the daily job's re-run of the same year, which finds
  everything as planned and writes nothing.

The targets: ≤ 20 s on SQLite at 7,850 offices, PostgreSQL within 2× of SQLite (with
``--db both``, both are measured in the same run).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from bench.common import (
    BACKENDS,
    FISCAL_YEAR,
    FY_START,
    NATIONAL_ORGS,
    Backend,
    BenchDatabase,
    create_database,
    emit,
    ratio,
    verdict,
)
from bench.dataset import emit_stats, generate
from bench.floor import materialise_floor
from bot.clock import FakeClock
from bot.services.context import AppContext
from bot.services.materialise import BATCH, MaterialiseStats, materialise

#: The targets of issue 12.
SQLITE_MAX_SECONDS = 20.0
POSTGRES_MAX_RATIO = 2.0


@dataclass
class MaterialiseFigure:
    stats: MaterialiseStats
    seconds: float
    floor_seconds: float
    floor_rows: int
    again_seconds: float

    @property
    def vs_floor(self) -> float:
        return ratio(self.seconds, self.floor_seconds)


async def measure(ctx: AppContext, bench: BenchDatabase) -> MaterialiseFigure:
    """Materialise FY 2570 afresh, its floor, then the daily re-run; emit each figure."""
    t0 = time.perf_counter()
    stats = await materialise(ctx, FY_START, fiscal_years=[FISCAL_YEAR])
    seconds = time.perf_counter() - t0
    emit("materialise_seconds", seconds)
    emit("materialise_occurrences", stats.created)
    emit("materialise_ms_per_office", 1000 * seconds / max(stats.orgs, 1))
    emit("materialise_offices_per_transaction", BATCH)
    floor_seconds, floor_rows = await materialise_floor(bench, FISCAL_YEAR, BATCH)
    assert floor_rows == stats.created, (floor_rows, stats.created)
    emit("materialise_floor_seconds", floor_seconds)
    emit("ratio_materialise_vs_floor", ratio(seconds, floor_seconds))
    t0 = time.perf_counter()
    again = await materialise(ctx, FY_START, fiscal_years=[FISCAL_YEAR])
    again_seconds = time.perf_counter() - t0
    assert again.created == again.rescheduled == 0
    emit("rematerialise_seconds", again_seconds)
    return MaterialiseFigure(stats, seconds, floor_seconds, floor_rows, again_seconds)


def emit_targets(backend: Backend, fig: MaterialiseFigure, orgs: int) -> None:
    if backend == "sqlite":
        emit(
            "target_materialise_le_20s_on_sqlite", verdict(fig.seconds <= SQLITE_MAX_SECONDS, orgs)
        )
    else:  # a PostgreSQL run alone: against twice SQLite's target
        emit(
            "target_materialise_le_40s_on_postgres",
            verdict(fig.seconds <= POSTGRES_MAX_RATIO * SQLITE_MAX_SECONDS, orgs)
            + " (2x SQLite's target; --db both in bench.materialise compares the two)",
        )


async def run_one(backend: Backend, orgs: int) -> MaterialiseFigure:
    emit("db", backend)
    bench = await create_database(backend)
    try:
        emit_stats(await generate(bench, orgs))
        ctx = AppContext(settings=bench.settings(), clock=FakeClock(FY_START), db=bench.db)
        return await measure(ctx, bench)
    finally:
        await bench.drop()


async def run(backends: Sequence[Backend], orgs: int) -> None:
    figures = {b: await run_one(b, orgs) for b in backends}
    for b, fig in figures.items():
        emit(f"{b}_materialise_seconds", fig.seconds)
        emit(f"{b}_ratio_materialise_vs_floor", fig.vs_floor)
    if "sqlite" in figures:
        emit_targets("sqlite", figures["sqlite"], orgs)
    if "sqlite" in figures and "postgres" in figures:
        pg_vs = ratio(figures["postgres"].seconds, figures["sqlite"].seconds)
        emit("ratio_materialise_postgres_vs_sqlite", pg_vs)
        floors = ratio(figures["postgres"].floor_seconds, figures["sqlite"].floor_seconds)
        emit("ratio_floor_postgres_vs_sqlite", floors)  # what the driver alone does
        emit("target_materialise_postgres_le_2x_sqlite", verdict(pg_vs <= POSTGRES_MAX_RATIO, orgs))
    elif "postgres" in figures:
        emit_targets("postgres", figures["postgres"], orgs)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=(*BACKENDS, "both"), default="both")
    parser.add_argument("--orgs", type=int, default=NATIONAL_ORGS)
    args = parser.parse_args(argv)
    backends: list[Backend] = list(BACKENDS) if args.db == "both" else [args.db]
    asyncio.run(run(backends, args.orgs))


if __name__ == "__main__":
    main()
