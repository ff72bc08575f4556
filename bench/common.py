"""What every benchmark shares: the database under test, settings, timers, memory, output.

Each figure is printed as one ``name: value`` line, so a run's output can be diffed,
grepped or pasted into the README as it is.
"""

from __future__ import annotations

import gc
import math
import os
import resource
import shutil
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import text

from bot.config import Settings
from bot.store.db import Database
from bot.store.migrate import upgrade

Backend = Literal["sqlite", "postgres"]
BACKENDS: tuple[Backend, ...] = ("sqlite", "postgres")

POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL",
    os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"),
)
RESULTS = Path(__file__).resolve().parent / "results"
TOKEN = "123456:BENCH"
BANGKOK = ZoneInfo("Asia/Bangkok")
#: The fiscal year benchmarked (1 Oct 2026 - 30 Sep 2027) and the instant it is materialised.
FISCAL_YEAR = 2570
FY_START = datetime(2026, 10, 1, 0, 0, tzinfo=BANGKOK).astimezone(UTC)
#: The national scale of BRIEF.md ("Scale").
NATIONAL_ORGS = 7850


def bench_settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = {"bot_token": TOKEN, "database_url": "sqlite+aiosqlite:///:memory:"}
    base.update(overrides)
    return Settings(_env_file=None, **base)


@dataclass
class BenchDatabase:
    """A migrated, empty database: an SQLite file or a fresh PostgreSQL schema."""

    backend: Backend
    db: Database
    url: str
    schema: str | None
    workdir: Path | None

    def settings(self, **overrides: Any) -> Settings:
        return bench_settings(database_url=self.url, database_schema=self.schema, **overrides)

    async def drop(self, *, keep: bool = False) -> None:
        await self.db.dispose()
        if self.backend == "postgres" and self.schema and not keep:
            admin = Database(POSTGRES_URL)
            try:
                async with admin.engine.begin() as conn:
                    await conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
            finally:
                await admin.dispose()
        if self.workdir is not None and not keep:
            shutil.rmtree(self.workdir, ignore_errors=True)


async def create_database(backend: Backend, *, in_results: bool = False) -> BenchDatabase:
    """An empty database with the real schema (``bot.store.migrate.upgrade``)."""
    if backend == "sqlite":
        if in_results:
            RESULTS.mkdir(parents=True, exist_ok=True)
            workdir = RESULTS / f"sqlite-{uuid.uuid4().hex[:8]}"
            workdir.mkdir()
        else:
            workdir = Path(tempfile.mkdtemp(prefix="ita-bench-"))
        url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
        db = Database(url)
        await upgrade(db)
        return BenchDatabase(backend, db, url, None, workdir)
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = Database(POSTGRES_URL)
    try:
        async with admin.engine.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    finally:
        await admin.dispose()
    db = Database(POSTGRES_URL, schema=schema)
    try:
        await upgrade(db)
    except BaseException:
        await BenchDatabase(backend, db, POSTGRES_URL, schema, None).drop()
        raise
    return BenchDatabase(backend, db, POSTGRES_URL, schema, None)


# -- numbers -------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0-100) by linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    data = sorted(values)
    k = (len(data) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


def rss_bytes() -> int:
    """The resident set size now (Linux ``/proc``; elsewhere the peak, as a fallback)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def settle_memory() -> int:
    """Collect garbage and return the RSS afterwards."""
    gc.collect()
    return rss_bytes()


MIB = 1024 * 1024


# -- output --------------------------------------------------------------------------------


def fmt(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:.1f}"
        if abs(value) >= 1:
            return f"{value:.3f}"
        return f"{value:.4g}"
    return str(value)


def emit(name: str, value: object) -> None:
    """One figure: ``name: value``."""
    print(f"{name}: {fmt(value)}", flush=True)


def ratio(ours: float, baseline: float) -> float:
    return ours / baseline if baseline else math.inf


def verdict(ok: bool, orgs: int) -> str:
    """A target's verdict; below national scale it says at how many offices."""
    word = "met" if ok else "MISSED"
    return word if orgs >= NATIONAL_ORGS else f"{word} (at {orgs} offices, not national scale)"
