"""Two offices in one deployment, for tests of what one office may do to the other.

Each office has a preparer, a reviewer and a publisher of O10/O12, an HR officer (O1),
a head, an office admin, a roster person who has not joined yet and a spare colleague.
Office A also holds the deployment admin (named in ADMIN_TELEGRAM_IDS, not an office
admin).  Telegram ids are ``base + n`` (A: 1000s, B: 2000s).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from bot.services.materialise import materialise
from bot.services.org import init_org
from bot.services.people import add_person
from bot.store.db import Database
from bot.store.models import Base, Organisation, Outbox, OutboxFile, PendingPrompt
from tests.support.world import World, make_world

DEPLOYMENT_ADMIN_TG = 900
STAFF = {
    # key: (telegram id offset, roles, office admin)
    "staff": (1, ("policy_analyst",), False),
    "reviewer": (2, ("head_of_office",), False),
    "publisher": (3, ("admin_officer",), False),
    "hr": (4, ("hr_officer",), False),
    "head": (5, ("head",), False),
    "spare": (6, (), False),
    "office_admin": (901, (), True),
}


@dataclass
class Office:
    world: World
    base: int

    @property
    def org_id(self) -> int:
        return self.world.org.id

    def tg(self, key: str) -> int:
        return self.world.people[key].telegram_user_id or 0

    def pid(self, key: str) -> int:
        return self.world.people[key].id


async def _staff(w: World, base: int) -> None:
    for key, (offset, roles, admin) in STAFF.items():
        await w.add(key, f"{key} {base}", base + offset, *roles, admin=admin)
    async with w.ctx.db.transaction() as s:
        org = await s.get(Organisation, w.org.id)
        assert org is not None
        w.people["roster"] = await add_person(s, org, name=f"roster {base}", now=w.clock.now())


async def two_offices(db: Database, **settings: Any) -> tuple[Office, Office]:
    """Offices A (the default) and B, this fiscal year materialised for both."""
    a = await make_world(db, admin_telegram_ids=[DEPLOYMENT_ADMIN_TG], **settings)
    await _staff(a, 1000)
    await a.add("deployment_admin", "deployment admin", DEPLOYMENT_ADMIN_TG)
    async with db.transaction() as s:
        org_b = await init_org(s, a.ctx, "อบต.อีกแห่ง", a.clock.now())
    b = World(ctx=a.ctx, clock=a.clock, org=org_b)
    await _staff(b, 2000)
    await materialise(a.ctx, a.clock.now(), fiscal_years=[2570])
    return Office(a, 1000), Office(b, 2000)


async def snapshot(db: Database) -> dict[str, set[tuple[Any, ...]]]:
    """Every row of every table, keyed by the office it belongs to ("*": no office)."""
    out: dict[str, set[tuple[Any, ...]]] = {}
    async with db.transaction() as s:
        occ_org = dict((await s.execute(select(Base.metadata.tables["occurrence"].c.id,
                                               Base.metadata.tables["occurrence"].c.org_id))).all())  # fmt: skip
        outbox_org = dict((await s.execute(select(Outbox.id, Outbox.org_id))).all())
        for table in Base.metadata.sorted_tables:
            for row in (await s.execute(select(table))).all():
                values = row._mapping
                if "org_id" in values:
                    org = values["org_id"]
                elif table.name == PendingPrompt.__tablename__:
                    org = occ_org.get(values["occurrence_id"])
                elif table.name == OutboxFile.__tablename__:
                    org = outbox_org.get(values["outbox_id"])
                else:
                    org = "*"
                out.setdefault(str(org), set()).add((table.name, *map(_hashable, row)))
    return out


def _hashable(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value


def changed_offices(
    before: dict[str, set[tuple[Any, ...]]], after: dict[str, set[tuple[Any, ...]]]
) -> set[str]:
    return {k for k in before.keys() | after.keys() if before.get(k, set()) != after.get(k, set())}
