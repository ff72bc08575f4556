"""A small office in a test database: an AppContext on a fake clock, people holding roles."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
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
    """Staff of every chain role, an admin without roles, the year materialised."""
    from bot.services.materialise import materialise

    w = await staff_world(db, **kwargs)
    await w.add("admin", "ผู้ดูแล ระบบ", ADMIN_TG, admin=True)
    await materialise(w.ctx, w.clock.now())
    return w
