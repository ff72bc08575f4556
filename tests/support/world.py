"""A small office in a test database: an AppContext on a fake clock, people holding roles."""

from __future__ import annotations

import atexit
import shutil
import sqlite3
import tempfile
from collections.abc import Awaitable, Callable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.catalogue.loader import load_catalogue
from bot.catalogue.schema import Measure
from bot.clock import FakeClock
from bot.config import Settings
from bot.services.context import AppContext
from bot.services.org import init_org
from bot.services.people import add_person
from bot.store.db import Database
from bot.store.models import Organisation, Person

# Thursday 26 Nov 2026, 10:00 Bangkok
DEFAULT_START = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)


def test_settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "bot_token": "123456:TEST",
        "database_url": "sqlite+aiosqlite:///:memory:",
        # no internet in tests: the link tests turn the publish-time check on, against
        # their local web site (tests/support/websites.py)
        "link_check_on_publish": False,
        # one process on a fake clock; the processes' tests share the limit in the database
        "rate_limiter": "memory",
    }
    base.update(overrides)
    return Settings(_env_file=None, **base)


@dataclass
class World:
    ctx: AppContext
    clock: FakeClock
    org: Organisation
    people: dict[str, Person] = field(default_factory=dict)

    async def add(
        self, key: str, name: str, telegram_id: int, *roles: str, admin: bool = False
    ) -> Person:
        async with self.ctx.db.transaction() as s:
            org = await s.get(Organisation, self.org.id)
            assert org is not None
            p = await add_person(
                s, org, name=name, now=self.clock.now(), telegram_id=telegram_id, is_admin=admin
            )
            from bot.services.people import assign_role

            for r in roles:
                await assign_role(s, org, p, r, self.clock.now())
        self.people[key] = p
        return p


async def make_world(
    db: Database,
    *,
    start: datetime = DEFAULT_START,
    tracking_since: datetime | None = None,
    measures: tuple[Measure, ...] | None = None,
    **settings: Any,
) -> World:
    """An office that has the seed office's measures as its own (unless ``measures``)."""
    args = {"start": start, "tracking_since": tracking_since, "measures": measures, **settings}
    return await templates.build("make_world", db, args, lambda: _make_world(db, **args))


async def _make_world(
    db: Database,
    *,
    start: datetime,
    tracking_since: datetime | None,
    measures: tuple[Measure, ...] | None,
    **settings: Any,
) -> World:
    clock = FakeClock(start)
    ctx = AppContext(settings=test_settings(**settings), clock=clock, db=db)
    if measures is None:
        measures = load_catalogue(ctx.settings.catalogue_file).measures
    async with db.transaction() as s:
        org = await init_org(
            s, ctx, "อบต.ทดสอบ", clock.now(), tracking_since=tracking_since, measures=measures
        )
    return World(ctx=ctx, clock=clock, org=org)


STAFF = {
    # key: (name, telegram id, roles)
    "analyst": ("สมชาย วิเคราะห์", 1001, ("policy_analyst",)),
    "chief": ("สมหญิง หัวหน้า", 1002, ("head_of_office",)),
    "clerk": ("สมศรี ธุรการ", 1003, ("admin_officer",)),
    "hr": ("สมปอง บุคคล", 1004, ("hr_officer",)),
    "head": ("นายก ทดสอบ", 1005, ("head",)),
}


async def staff_world(db: Database, **kwargs: Any) -> World:
    async def build() -> World:
        w = await make_world(db, **kwargs)
        for key, (name, tg, roles) in STAFF.items():
            await w.add(key, name, tg, *roles)
        return w

    return await templates.build("staff_world", db, kwargs, build)


ADMIN_TG = 900
STRANGER_TG = 4242


async def chat_world(db: Database, **kwargs: Any) -> World:
    """Staff of every chain role, an admin without roles, the year materialised."""
    from bot.services.materialise import materialise

    async def build() -> World:
        w = await staff_world(db, **kwargs)
        await w.add("admin", "ผู้ดูแล ระบบ", ADMIN_TG, admin=True)
        await materialise(w.ctx, w.clock.now())
        return w

    return await templates.build("chat_world", db, kwargs, build)


# settings that change nothing a builder stores: left out of the key of a built world
INERT = frozenset({"bot_token", "telegram_api_base_url", "database_url", "database_schema",
                   "request_timeout_seconds", "webhook_url", "webhook_secret", "listen_port",
                   "log_level", "bot_username"})  # fmt: skip


class _Templates:
    """Worlds built once per test session and copied into each later test's empty SQLite
    database with SQLite's backup API — the copy is the database as the builder left it —
    instead of being built again (seconds each: the catalogue, the year's occurrences)."""

    def __init__(self) -> None:
        self._saved: dict[str, tuple[Path, int, dict[str, int]]] = {}
        self._dir: Path | None = None

    async def build(
        self, name: str, db: Database, args: dict[str, Any], build: Callable[[], Awaitable[World]]
    ) -> World:
        path = sqlite_file(db)
        if path is None or not await _empty(db):
            return await build()
        key = f"{name}:{sorted((k, v) for k, v in args.items() if k not in INERT)!r}"
        if key in self._saved:
            return await self._restore(self._saved[key], db, path, args)
        w = await build()
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="worlds-"))
            atexit.register(shutil.rmtree, self._dir, True)
        copy = self._dir / f"{len(self._saved)}.db"
        _backup(path, copy)
        self._saved[key] = (copy, w.org.id, {k: p.id for k, p in w.people.items()})
        return w

    @staticmethod
    async def _restore(
        saved: tuple[Path, int, dict[str, int]], db: Database, path: Path, args: dict[str, Any]
    ) -> World:
        copy, org_id, people = saved
        await db.engine.dispose()  # no connection open while the file is replaced
        _backup(copy, path)
        clock = FakeClock(args.get("start") or DEFAULT_START)
        settings = {
            k: v for k, v in args.items() if k not in ("start", "tracking_since", "measures")
        }
        ctx = AppContext(settings=test_settings(**settings), clock=clock, db=db)
        async with db.transaction() as s:
            org = await s.get(Organisation, org_id)
            persons = {k: await s.get(Person, pid) for k, pid in people.items()}
        assert org is not None
        return World(ctx=ctx, clock=clock, org=org, people={k: p for k, p in persons.items() if p})


async def _empty(db: Database) -> bool:
    """Nothing in the database but its schema (a builder's copy would replace what is)."""
    from sqlalchemy import func, select

    from bot.store.models import Base

    async with db.transaction() as s:
        for table in Base.metadata.sorted_tables:
            if await s.scalar(select(func.count()).select_from(table)):
                return False
    return True


def sqlite_file(db: Database) -> Path | None:
    prefix = "sqlite+aiosqlite:///"
    rest = db.url[len(prefix) :] if db.url.startswith(prefix) else ""
    return Path(rest) if rest and rest != ":memory:" else None


def _backup(source: Path, target: Path) -> None:
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


templates = _Templates()
