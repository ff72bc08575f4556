"""A small office in a test database: an AppContext on a fake clock, people holding roles."""

from __future__ import annotations

import atexit
import shutil
import sqlite3
import tempfile
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
    }
    base.update(overrides)
    return Settings(_env_file=None, **base)  # type: ignore[call-arg]


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
    w = await make_world(db, **kwargs)
    for key, (name, tg, roles) in STAFF.items():
        await w.add(key, name, tg, *roles)
    return w


ADMIN_TG = 900
STRANGER_TG = 4242


async def chat_world(db: Database, **kwargs: Any) -> World:
    """Staff of every chain role, an admin without roles, the year materialised.

    Built once per set of arguments (a few seconds: the year's occurrences), then copied:
    on SQLite the database is restored from the first build's file."""
    from bot.services.materialise import materialise

    if (copied := await templates.restore("chat_world", db, kwargs)) is not None:
        return copied
    w = await staff_world(db, **kwargs)
    await w.add("admin", "ผู้ดูแล ระบบ", ADMIN_TG, admin=True)
    await materialise(w.ctx, w.clock.now())
    await templates.save("chat_world", db, kwargs, w)
    return w


class _Templates:
    """Worlds built once per test session and copied into each test's SQLite database
    (SQLite's backup API: the copy is the database as the builder left it)."""

    def __init__(self) -> None:
        self._saved: dict[str, tuple[Path, int, dict[str, int]]] = {}
        self._dir: Path | None = None

    @staticmethod
    def _key(name: str, kwargs: dict[str, Any]) -> str:
        return f"{name}:{sorted(kwargs.items())!r}"

    async def save(self, name: str, db: Database, kwargs: dict[str, Any], w: World) -> None:
        path = sqlite_file(db)
        if path is None:
            return
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="worlds-"))
            atexit.register(shutil.rmtree, self._dir, True)
        copy = self._dir / f"{len(self._saved)}.db"
        _backup(path, copy)
        people = {k: p.id for k, p in w.people.items()}
        self._saved[self._key(name, kwargs)] = (copy, w.org.id, people)

    async def restore(self, name: str, db: Database, kwargs: dict[str, Any]) -> World | None:
        path, saved = sqlite_file(db), self._saved.get(self._key(name, kwargs))
        if path is None or saved is None:
            return None
        copy, org_id, people = saved
        await db.engine.dispose()  # no connection open while the file is replaced
        _backup(copy, path)
        world_args = {k: kwargs.pop(k) for k in ("start", "tracking_since") if k in kwargs}
        clock = FakeClock(world_args.get("start", DEFAULT_START))
        ctx = AppContext(settings=test_settings(**{k: v for k, v in kwargs.items() if k != "measures"}),
                         clock=clock, db=db)  # fmt: skip
        async with db.transaction() as s:
            org = await s.get(Organisation, org_id)
            persons = {k: await s.get(Person, pid) for k, pid in people.items()}
        assert org is not None and all(persons.values())
        return World(ctx=ctx, clock=clock, org=org, people=persons)  # type: ignore[arg-type]


def sqlite_file(db: Database) -> Path | None:
    prefix = "sqlite+aiosqlite:///"
    rest = db.url[len(prefix) :] if db.url.startswith(prefix) else ""
    return Path(rest) if rest and rest != ":memory:" else None


def _backup(source: Path, target: Path) -> None:
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


templates = _Templates()
