"""Every figure of "Store, scheduler and reminders that are never lost", in one run.

    python -m bench.run --orgs 7850 --db sqlite      # national scale (about 15 minutes)
    python -m bench.run --orgs 7850 --db postgres    # a fresh schema, dropped afterwards
    python -m bench.run --quick                      # 1,000 offices (a few minutes)

Prints one ``name: value`` line per figure: ours, the naive design's (one APScheduler
job per reminder, see :mod:`bench.naive`) measured in the same run, their ratio, and
whether each target is met.  The machines are noisy: compare the ratios, not the
absolute numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import platform
import sqlite3
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import text

from bench import materialise, naive
from bench.common import (
    BACKENDS,
    FISCAL_YEAR,
    FY_START,
    MIB,
    NATIONAL_ORGS,
    TOKEN,
    Backend,
    BenchDatabase,
    create_database,
    emit,
    ratio,
    verdict,
)
from bench.dataset import analyse, emit_stats, generate
from bench.figures import clear_outbox, dispatch, memory, tick
from bench.scene import busiest_day, set_scene
from bot.clock import FakeClock
from bot.services.context import AppContext
from tests.support.botapi import BotApiEmulator

# the targets of the issue
MEMORY_MAX_SHARE = 0.1
CLAIM_P95_MAX_SECONDS = 0.010
DISPATCH_MIN_CAP_SHARE = 0.9
#: Offices in the quick form.
QUICK_ORGS = 1000


@dataclass(frozen=True)
class Options:
    db: Backend
    orgs: int
    wave: int  # messages in the dispatch wave
    memory_offices: int  # offices in the tick measured for memory
    naive_offices: int  # offices whose jobs the naive tick fires, for its per-office figure
    keep: bool


async def _server_version(bench: BenchDatabase) -> str:
    if bench.backend == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    async with bench.db.engine.connect() as conn:
        return str(await conn.scalar(text("SHOW server_version"))).split()[0]


async def run(opts: Options) -> None:
    emit("date", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    emit(
        "machine", f"{os.cpu_count()} cores, {platform.machine()}, Python {sys.version.split()[0]}"
    )
    emit("db", opts.db)
    emit("fiscal_year", FISCAL_YEAR)

    bench = await create_database(opts.db, in_results=opts.keep)
    try:
        emit("db_version", await _server_version(bench))
        dataset = await generate(bench, opts.orgs)
        emit_stats(dataset)
        ctx = AppContext(settings=bench.settings(), clock=FakeClock(FY_START), db=bench.db)

        # 1. materialising the fiscal year, next to the raw driver's floor (bench.materialise)
        mat = await materialise.measure(ctx, bench)

        # the busiest morning of the year
        busy = busiest_day(ctx, FISCAL_YEAR)
        emit("busiest_day", f"{busy.day.isoformat()} 09:00 Asia/Bangkok")
        emit(
            "busiest_day_runners_up", ", ".join(f"{d.isoformat()}={n}" for d, n in busy.ranking[1:])
        )
        emit("busiest_day_due_stages_per_office", busy.stages_per_org)
        due = await set_scene(bench, ctx, FISCAL_YEAR, busy.day)
        await analyse(bench)
        emit("busiest_day_due_stages", due)

        # 2. memory: the running scheduler with our periodic jobs, plus a tick
        mem = await memory(bench, busy.at, min(opts.memory_offices, opts.orgs))
        emit("memory_ours_jobs", mem.jobs)
        emit("memory_ours_tick_offices", mem.tick.orgs)
        emit("memory_ours_traced_peak_mib", mem.traced_peak / MIB)
        emit("memory_ours_rss_growth_mib", mem.rss_growth / MIB)
        emit("memory_ours_mib", mem.bytes / MIB)

        # 3. one tick on the busiest morning, from the start
        await clear_outbox(bench)
        await set_scene(bench, ctx, FISCAL_YEAR, busy.day)
        await analyse(bench)
        assert isinstance(ctx.clock, FakeClock)
        ctx.clock.set(busy.at)
        tk = await tick(ctx, busy.at)
        emit("tick_offices", tk.stats.orgs)
        emit("tick_stages", tk.stats.stages)
        emit("tick_messages", tk.stats.messages)
        emit("tick_seconds", tk.seconds)
        emit("tick_claims", len(tk.stats.claim_seconds))
        emit("tick_claim_p50_ms", 1000 * tk.claim_p50)
        emit("tick_claim_p95_ms", 1000 * tk.claim_p95)
        emit("tick_claim_max_ms", 1000 * tk.claim_max)

        # 4. dispatch on the real clock against the emulator's flood limits
        dsp, wave = await dispatch(bench, opts.wave)
        emit("dispatch_messages", dsp.messages)
        emit("dispatch_sent", dsp.stats.sent)
        emit("dispatch_seconds", dsp.seconds)
        emit("dispatch_msgs_per_s", dsp.rate)
        emit("dispatch_steady_msgs_per_s", dsp.steady_rate)
        emit("dispatch_cap_msgs_per_s", dsp.cap)
        emit("dispatch_cap_share", dsp.cap_share)
        emit("dispatch_busiest_second_at_emulator", dsp.busiest_second)
        emit("dispatch_429", dsp.too_many_requests)
    finally:
        await bench.drop(keep=opts.keep)
        if opts.keep and bench.schema:
            emit("kept_schema", bench.schema)
        elif opts.keep:
            emit("kept_database", bench.url)

    # the naive design, in the same process
    nv = naive.build(ctx, FISCAL_YEAR, range(1, opts.orgs + 1))
    naive_build, naive_memory = nv.build_seconds, nv.memory_bytes
    emit("naive_jobs", nv.jobs)
    emit("naive_build_seconds", naive_build)
    emit("naive_memory_mib", naive_memory / MIB)
    nt = naive.tick(nv, busy.at, offices=min(opts.naive_offices, opts.orgs))
    emit("naive_tick_due_jobs", nt.due_jobs)
    emit("naive_tick_fetch_ms", 1000 * nt.fetch_seconds)
    emit("naive_tick_office_p50_ms", 1000 * nt.office_p50)
    emit("naive_tick_office_p95_ms", 1000 * nt.office_p95)
    nv.shutdown()
    del nv
    gc.collect()
    with BotApiEmulator(TOKEN, enforce_limits=True) as emu:
        nd = await naive.dispatch(emu.base_url, TOKEN, wave)
        naive_429 = emu.too_many_requests
    emit("naive_dispatch_messages", nd.messages)
    emit("naive_dispatch_delivered", nd.delivered)
    emit("naive_dispatch_lost", nd.lost)
    emit("naive_dispatch_seconds", nd.seconds)
    emit("naive_dispatch_429", naive_429)

    # ours / naive, measured in this run
    emit("ratio_materialise_vs_naive_build", ratio(mat.seconds, naive_build))
    emit("ratio_memory_vs_naive", ratio(mem.bytes, naive_memory))
    emit("ratio_claim_p95_vs_naive_office_p95", ratio(tk.claim_p95, nt.office_p95))
    emit("ratio_delivered_vs_naive", ratio(dsp.delivered, nd.delivered))
    emit("ratio_429_ours_naive", f"{dsp.too_many_requests}/{naive_429}")

    # the targets
    materialise.emit_targets(opts.db, mat, opts.orgs)
    emit(
        "target_memory_le_tenth_of_naive",
        verdict(mem.bytes <= MEMORY_MAX_SHARE * naive_memory, opts.orgs),
    )
    emit("target_claim_p95_le_10ms", verdict(tk.claim_p95 <= CLAIM_P95_MAX_SECONDS, opts.orgs))
    emit(
        "target_dispatch_ge_90pct_of_cap_no_429",
        verdict(
            dsp.cap_share >= DISPATCH_MIN_CAP_SHARE
            and dsp.too_many_requests == 0
            and dsp.stats.sent == dsp.messages,
            opts.orgs,
        ),
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=BACKENDS, default="sqlite")
    parser.add_argument("--orgs", type=int, default=None, help=f"offices (default {NATIONAL_ORGS})")
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--wave", type=int, default=None, help="dispatch wave (default 500)")
    parser.add_argument("--memory-offices", type=int, default=None)
    parser.add_argument("--naive-offices", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    opts = Options(
        db=cast(Backend, args.db),
        orgs=args.orgs or (QUICK_ORGS if quick else NATIONAL_ORGS),
        wave=args.wave or (200 if quick else 500),
        memory_offices=args.memory_offices or (10 if quick else 100),
        naive_offices=args.naive_offices or (10 if quick else 50),
        keep=args.keep,
    )
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    asyncio.run(run(opts))


if __name__ == "__main__":
    main()
