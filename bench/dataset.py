"""A synthetic national dataset: every Thai local administration in one deployment.

7,850 offices (BRIEF.md, "Scale") on the shipped 43-item catalogue (7,850 x 43 = about
340,000 items), each with its units, its roles and about 15 people holding the
catalogue's roles: the head role is shared (the mayor and the permanent secretary), as
are some positions and the unit roles.  The real schema is created by
``bot.store.migrate.upgrade``; the rows are written with bulk Core inserts, so the
national dataset takes seconds, not the hours that ``init_org`` + ``add_person`` would.

Occurrences are *not* written here: materialising them is what the first figure times.

    python -m bench.dataset --orgs 7850 --db sqlite --keep    # prints where it is
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

import yaml
from sqlalchemy import Table, insert, text

from bench.common import (
    BACKENDS,
    FISCAL_YEAR,
    FY_START,
    NATIONAL_ORGS,
    Backend,
    BenchDatabase,
    create_database,
    emit,
)
from bot.clock import FakeClock
from bot.services.context import AppContext
from bot.services.org import UNITS_FILE, store_catalogue
from bot.store.models import (
    Organisation,
    OrgCatalogue,
    OrgRole,
    Person,
    RoleAssignment,
    Unit,
)

#: An office's staff: (title, roles).  Shared roles: ``head`` (mayor and permanent
#: secretary), ``admin_officer``, ``unit_concerned`` and ``all_divisions``.
STAFF: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("นายก", ("head",)),
    ("ปลัด", ("head",)),
    ("หัวหน้าสำนักปลัด", ("head_of_office", "chief_office")),
    ("นักทรัพยากรบุคคล", ("hr_officer",)),
    ("เจ้าพนักงานธุรการ", ("admin_officer",)),
    ("นักวิเคราะห์นโยบายและแผน", ("policy_analyst",)),
    ("นิติกร", ("legal_officer",)),
    ("นักวิชาการเงินและบัญชี", ("finance_officer",)),
    ("ผู้อำนวยการกองคลัง", ("finance_director", "all_divisions")),
    ("นักวิชาการคลัง", ("treasury_officer",)),
    ("นักวิชาการพัสดุ", ("procurement_officer",)),
    ("นักวิชาการตรวจสอบภายใน", ("internal_auditor",)),
    ("เจ้าพนักงานธุรการ (2)", ("admin_officer", "unit_concerned")),
    ("ผู้อำนวยการกองช่าง", ("all_divisions",)),
    ("ผู้อำนวยการกองการศึกษา", ("all_divisions", "unit_concerned")),
)
#: Some offices are smaller (no education division), some have a second analyst.
OPTIONAL_LAST = 0.3
EXTRA: tuple[str, tuple[str, ...]] = ("ผู้ช่วยนักวิเคราะห์", ("policy_analyst",))
EXTRA_SHARE = 0.3
#: (prefix, share) of the kinds of office, roughly as in Thailand.
KINDS = (("อบต.", 0.68), ("เทศบาลตำบล", 0.28), ("เทศบาลเมือง", 0.03), ("อบจ.", 0.01))
#: Telegram ids (= private chat ids) of the synthetic people start here.
TELEGRAM_BASE = 100_000_000
CHUNK = 5_000


@dataclass
class DatasetStats:
    orgs: int
    units: int
    org_roles: int
    people: int
    assignments: int
    items: int
    seconds: float


def _chunks(rows: Iterable[dict[str, Any]], size: int = CHUNK) -> Iterator[list[dict[str, Any]]]:
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


def _org_name(i: int, rng: random.Random) -> str:
    r, acc = rng.random(), 0.0
    for prefix, share in KINDS:
        acc += share
        if r < acc:
            return f"{prefix}ตัวอย่าง {i:04d}"
    return f"{KINDS[0][0]}ตัวอย่าง {i:04d}"


def _staff_of(rng: random.Random) -> Sequence[tuple[str, tuple[str, ...]]]:
    staff = list(STAFF)
    if rng.random() < OPTIONAL_LAST:
        staff.pop()
    if rng.random() < EXTRA_SHARE:
        staff.append(EXTRA)
    return staff


async def _bulk(bench: BenchDatabase, table: Table, rows: list[dict[str, Any]]) -> None:
    async with bench.db.transaction() as s:
        for chunk in _chunks(rows):
            await s.execute(insert(table), chunk)


async def _fix_sequences(bench: BenchDatabase, tables: Sequence[str]) -> None:
    """Explicit ids leave PostgreSQL's sequences behind; move them past the rows."""
    if bench.backend != "postgres":
        return
    async with bench.db.transaction() as s:
        for name in tables:
            await s.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {name}), false)"
                )
            )


async def analyse(bench: BenchDatabase) -> None:
    """Fresh planner statistics, as autovacuum keeps them on a live PostgreSQL.

    SQLite is left as the bot leaves it (no ``ANALYZE``): the query planner's defaults.
    """
    if bench.backend != "postgres":
        return
    async with bench.db.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE"))


async def generate(
    bench: BenchDatabase, orgs: int, *, now: datetime = FY_START, seed: int = 2570
) -> DatasetStats:
    """Write ``orgs`` offices, their units, roles and people.  Tracking starts at ``now``."""
    t0 = time.perf_counter()
    rng = random.Random(seed)
    ctx = AppContext(settings=bench.settings(), clock=FakeClock(now), db=bench.db)
    async with bench.db.transaction() as s:
        version, catalogue = await store_catalogue(s, ctx, now)
    units_spec = yaml.safe_load(UNITS_FILE.read_text(encoding="utf-8"))["units"]
    role_keys = [r.key for r in catalogue.roles]

    org_rows: list[dict[str, Any]] = []
    unit_rows: list[dict[str, Any]] = []
    org_role_rows: list[dict[str, Any]] = []
    person_rows: list[dict[str, Any]] = []
    assignment_rows: list[dict[str, Any]] = []
    adopt_rows: list[dict[str, Any]] = []
    unit_id = person_id = assignment_id = 0
    for org_id in range(1, orgs + 1):
        org_rows.append(
            {
                "id": org_id,
                "name": _org_name(org_id, rng),
                "is_default": org_id == 1,
                "tracking_since": now,
                "include_before_tracking": False,
                "created_at": now,
            }
        )
        role_unit: dict[str, int] = {}
        for spec in units_spec:
            unit_id += 1
            unit_rows.append(
                {"id": unit_id, "org_id": org_id, "key": spec["key"], "name": spec["name"]}
            )
            for key in spec.get("roles") or []:
                role_unit[key] = unit_id
        org_role_rows.extend(
            {
                "org_id": org_id,
                "role_key": key,
                "unit_id": role_unit.get(key),
                "group_chat_id": None,
            }
            for key in role_keys
        )
        for title, roles in _staff_of(rng):
            person_id += 1
            person_rows.append(
                {
                    "id": person_id,
                    "org_id": org_id,
                    "telegram_user_id": TELEGRAM_BASE + person_id,
                    "chat_id": TELEGRAM_BASE + person_id,
                    "name": f"{title} {org_id:04d}",
                    "language": "th",
                    "active": True,
                    "inactive_reason": None,
                    "is_admin": title == "ปลัด",
                    "created_at": now,
                    "updated_at": now,
                }
            )
            for key in roles:
                assignment_id += 1
                assignment_rows.append(
                    {
                        "id": assignment_id,
                        "org_id": org_id,
                        "role_key": key,
                        "person_id": person_id,
                        "valid_from": now,
                        "valid_to": None,
                    }
                )
        adopt_rows.extend(
            {"org_id": org_id, "fiscal_year": fy, "catalogue_id": version.id, "adopted_at": now}
            for fy in (FISCAL_YEAR, FISCAL_YEAR + 1)
        )

    for model, rows in (
        (Organisation, org_rows),
        (Unit, unit_rows),
        (OrgRole, org_role_rows),
        (Person, person_rows),
        (RoleAssignment, assignment_rows),
        (OrgCatalogue, adopt_rows),
    ):
        await _bulk(bench, model.__table__, rows)  # type: ignore[arg-type]
    await _fix_sequences(bench, ["organisation", "unit", "person", "role_assignment"])
    await analyse(bench)
    return DatasetStats(
        orgs=orgs,
        units=len(unit_rows),
        org_roles=len(org_role_rows),
        people=len(person_rows),
        assignments=len(assignment_rows),
        items=orgs * len(catalogue.items),
        seconds=time.perf_counter() - t0,
    )


def emit_stats(stats: DatasetStats) -> None:
    emit("dataset_orgs", stats.orgs)
    emit("dataset_items", stats.items)
    emit("dataset_people", stats.people)
    emit("dataset_people_per_org", stats.people / max(stats.orgs, 1))
    emit("dataset_role_assignments", stats.assignments)
    emit("dataset_seconds", stats.seconds)


async def _main(args: argparse.Namespace) -> None:
    backend: Backend = args.db
    bench = await create_database(backend, in_results=args.keep)
    try:
        emit_stats(await generate(bench, args.orgs))
        if args.keep:
            emit("dataset_url", bench.url)
            if bench.schema:
                emit("dataset_schema", bench.schema)
    finally:
        await bench.drop(keep=args.keep)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=NATIONAL_ORGS)
    parser.add_argument("--db", choices=BACKENDS, default="sqlite")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the database (SQLite under bench/results/, or the PostgreSQL schema)",
    )
    asyncio.run(_main(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
