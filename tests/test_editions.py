"""Catalogue editions per office and per fiscal year (SQLite and PostgreSQL).

An office adopts an edition for a year; adopting for the next year never touches this
year's occurrences, events or evidence; an item is its edition and its number, so
history stays with it when the next edition reuses the number; an office's measures
are its own.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from bot.catalogue.loader import dump_catalogue, load_catalogue
from bot.catalogue.schema import Catalogue, Frequency
from bot.domain import FrequencyKind, OccStatus
from bot.reports.readiness import ReadyState, readiness
from bot.services.adoption import adopt_for_offices
from bot.services.chain import Chain
from bot.services.materialise import materialise
from bot.services.org import Catalogues, catalogue_for, init_org
from bot.services.views import item_history
from bot.store.db import Database
from bot.store.migrate import upgrade
from bot.store.models import CatalogueVersion, Occurrence, Organisation, StageEvent
from tests.support.world import World, staff_world
from tests.test_reports_history import live_check

pytestmark = pytest.mark.postgres  # catalogue versions and their migration

SHIPPED = load_catalogue()
URL = "https://bangsaipa.go.th/ita/o10-2570"


def next_edition() -> Catalogue:
    """A later ITA numbering: ten items, and O10 is another item than in ITA 2565."""
    items = list(SHIPPED.items[:9])
    items.append(
        SHIPPED.items[9].model_copy(
            update={
                "title": "การเปิดเผยข้อมูลการใช้จ่ายงบประมาณรายเดือน",
                "frequency": Frequency(kind=FrequencyKind.MONTHLY, phrase="เดือนละ ๑ ครั้ง"),
            }
        )
    )
    return SHIPPED.model_copy(
        update={
            "edition": "ITA 2568 (test numbering)",
            "fiscal_year": 2568,
            "items": tuple(items),
            "measures": (),
        }
    )


async def rows(db: Database, fy: int) -> list[dict[str, Any]]:
    async with db.transaction() as s:
        occs = await s.scalars(
            select(Occurrence).where(Occurrence.fiscal_year == fy).order_by(Occurrence.id)
        )
        return [{c.key: getattr(o, c.key) for c in Occurrence.__table__.c} for o in occs]


async def events(db: Database) -> list[tuple[Any, ...]]:
    async with db.transaction() as s:
        result = await s.execute(
            select(
                StageEvent.id, StageEvent.occurrence_id, StageEvent.action, StageEvent.note
            ).order_by(StageEvent.id)
        )
        return [tuple(r) for r in result]


async def occurrence(db: Database, fy: int, code: str, period: str | None = None) -> Occurrence:
    async with db.transaction() as s:
        occ = await s.scalar(
            select(Occurrence).where(
                Occurrence.fiscal_year == fy,
                Occurrence.code == code,
                Occurrence.period_key == (period or str(fy)),
                Occurrence.status != OccStatus.CANCELLED.value,
            )
        )
        assert occ is not None
        return occ


async def publish_o10(w: World, fy: int, url: str) -> int:
    """Prepare, approve and publish O10 of ``fy`` as the admin: its history and evidence."""
    occ = await occurrence(w.ctx.db, fy, "O10")
    for stage in ("prepare", "collect"):
        async with w.ctx.db.transaction() as s:
            assert (await Chain(s, w.ctx, w.people["admin"], w.clock.now()).done(occ.id, stage)).ok
    async with w.ctx.db.transaction() as s:
        assert (await Chain(s, w.ctx, w.people["admin"], w.clock.now()).publish(occ.id, url)).ok
        await live_check(s, w, url, w.clock.now())
    return occ.id


async def office(db: Database) -> World:
    w = await staff_world(db)
    await w.add("admin", "ผู้ดูแล ระบบ", 900, admin=True)
    await materialise(w.ctx, w.clock.now())
    return w


async def test_adopting_next_year_leaves_this_year_alone(db: Database, tmp_path: Path) -> None:
    w = await office(db)
    o10 = await publish_o10(w, 2570, URL)
    # someone already prepared FY 2571's O10 (of ITA 2565): that is history too
    early = await occurrence(db, 2571, "O10")
    async with db.transaction() as s:
        assert (
            await Chain(s, w.ctx, w.people["admin"], w.clock.now()).done(early.id, "prepare")
        ).ok
    this_year, history = await rows(db, 2570), await events(db)

    report = await adopt_for_offices(w.ctx, next_edition(), 2571, w.clock.now())
    assert report.offices[0].changed and report.offices[0].previous == SHIPPED.edition
    stats = report.stats
    assert stats is not None
    assert stats.kept == 1  # the O10 prepared early
    assert stats.removed == 128 - 1  # the old edition's plans nobody acted on
    # nine quarterly confirmations, the new monthly O10, the office's own four activities
    assert stats.created == 9 * 4 + 12 + 4

    assert await rows(db, 2570) == this_year  # not a column of this year changed
    later = await events(db)
    assert later[: len(history)] == history
    assert [e[2:] for e in later[len(history) :]] == [
        ("withdrawn", "the year now follows ITA 2568 (test numbering)")
    ]
    # the daily job, even with the setting pointed at the new edition, keeps each year's
    w.ctx.settings.catalogue_file = tmp_path / "ita-2568.yaml"
    w.ctx.settings.catalogue_file.write_text(dump_catalogue(next_edition()), encoding="utf-8")
    again = await materialise(w.ctx, w.clock.now())
    assert (again.created, again.rescheduled, again.withdrawn, again.removed) == (0, 0, 0, 0)
    assert await rows(db, 2570) == this_year
    async with db.transaction() as s:
        cat = await catalogue_for(s, w.ctx, w.org.id, 2570)
        assert cat is not None and cat.edition == SHIPPED.edition
        published = await s.get(Occurrence, o10)
        assert published is not None and published.evidence_url == URL


async def test_history_and_evidence_stay_with_their_item(db: Database) -> None:
    w = await office(db)
    await publish_o10(w, 2570, URL)
    early = await occurrence(db, 2571, "O10")
    async with db.transaction() as s:
        assert (
            await Chain(s, w.ctx, w.people["admin"], w.clock.now()).done(early.id, "prepare")
        ).ok
    await adopt_for_offices(w.ctx, next_edition(), 2571, w.clock.now())
    async with db.transaction() as s:
        kept = await s.get(Occurrence, early.id)
        assert kept is not None and kept.status == OccStatus.CANCELLED.value
        # the old row keeps its own edition's title; the new O10 has the new one
        assert await Catalogues(s, w.ctx).title(kept) == "แผนดำเนินงานประจำปี"
        new = await s.scalar(
            select(Occurrence).where(
                Occurrence.fiscal_year == 2571,
                Occurrence.code == "O10",
                Occurrence.period_key == "2571M10",
            )
        )
        assert (
            new is not None
            and await Catalogues(s, w.ctx).title(new) == next_edition().items[9].title
        )
        # /item O10 in FY 2571 is the new item's history, without the old one's
        hist = await item_history(s, w.org.id, "O10", 2571, edition=next_edition().edition)
        assert early.id not in {o.id for o in hist.occurrences}
        assert len(hist.occurrences) == 12
        # evidence: FY 2570's O10 URL is the old item's, not the new O10's
        cat2571 = await catalogue_for(s, w.ctx, w.org.id, 2571)
        cat2570 = await catalogue_for(s, w.ctx, w.org.id, 2570)
        assert cat2571 is not None and cat2570 is not None
        late = await readiness(s, w.ctx, w.org.id, cat2571, date(2027, 10, 5))
        o10_new = next(r for r in late.items if r.code == "O10")
        assert o10_new.url is None and o10_new.state is not ReadyState.PUBLISHED
        now = await readiness(s, w.ctx, w.org.id, cat2570, date(2027, 2, 1))
        o10_old = next(r for r in now.items if r.code == "O10")
        assert (o10_old.state, o10_old.url) == (ReadyState.PUBLISHED, URL)


async def test_a_new_version_of_the_same_edition_keeps_every_occurrence(db: Database) -> None:
    """A corrected file of the same edition: the same items, so the same rows, re-derived."""
    w = await office(db)
    o10 = await publish_o10(w, 2570, URL)
    fixed = SHIPPED.model_copy(
        update={
            "items": tuple(
                i.model_copy(update={"title": "แผนการดำเนินงานประจำปี"}) if i.code == "O10" else i
                for i in SHIPPED.items
            )
        }
    )
    before = {(r["code"], r["period_key"]): r["id"] for r in await rows(db, 2570)}
    report = await adopt_for_offices(w.ctx, fixed, 2570, w.clock.now())
    assert report.stats is not None
    assert (report.stats.created, report.stats.removed, report.stats.kept) == (0, 0, 0)
    after = await rows(db, 2570)
    assert {(r["code"], r["period_key"]): r["id"] for r in after} == before
    assert len({r["catalogue_id"] for r in after}) == 1  # every row now of the new version
    async with db.transaction() as s:
        done = await s.get(Occurrence, o10)
        assert done is not None and done.status == OccStatus.DONE.value
        assert await Catalogues(s, w.ctx).title(done) == "แผนการดำเนินงานประจำปี"


async def test_an_offices_measures_are_its_own(db: Database) -> None:
    w = await office(db)  # "อบต.ทดสอบ", given the seed office's measures
    async with db.transaction() as s:
        other = await init_org(s, w.ctx, "อบต.อื่น", w.clock.now())
        seed_office = await init_org(s, w.ctx, "อบต.บางไทรป่า", w.clock.now())
        other_id, seed_id = other.id, seed_office.id
    await materialise(w.ctx, w.clock.now())
    async with db.transaction() as s:
        codes = {
            org_id: set(
                await s.scalars(
                    select(Occurrence.code).where(
                        Occurrence.org_id == org_id, Occurrence.kind == "activity"
                    )
                )
            )
            for org_id in (other_id, seed_id)
        }
    assert codes[other_id] == set()  # the shipped catalogue's measures are not its own
    assert codes[seed_id] == {"M1.1", "M1.2", "M1.3", "M2.1"}  # the catalogue's office
    # adopting the shared list for the next year keeps each office's own measures
    report = await adopt_for_offices(w.ctx, next_edition(), 2571, w.clock.now(), every_office=True)
    assert [o.activities for o in report.offices] == [4, 0, 4]
    # a file naming another office brings none of its measures; the office's own file does
    seeds = next_edition().model_copy(update={"measures": SHIPPED.measures})
    own = next_edition().model_copy(
        update={"measures": SHIPPED.measures[1:], "organisation": "องค์การบริหารส่วนตำบลอื่น"}
    )
    report = await adopt_for_offices(w.ctx, seeds, 2571, w.clock.now(), org_id=other_id)
    assert report.offices[0].activities == 0
    await adopt_for_offices(w.ctx, own, 2571, w.clock.now(), org_id=other_id)
    async with db.transaction() as s:
        theirs = await catalogue_for(s, w.ctx, other_id, 2571)
        ours = await catalogue_for(s, w.ctx, seed_id, 2571)
    assert theirs is not None and [a.code for a in theirs.activities] == ["M2.1"]
    assert ours is not None and len(ours.activities) == 4


async def test_a_new_fiscal_year_takes_the_default_and_the_offices_measures(
    db: Database,
) -> None:
    """At the turn of the year the daily job adopts the configured catalogue for the new
    next year, with the office's own measures carried over, and pins it."""
    w = await office(db)
    async with db.transaction() as s:
        bare = (await init_org(s, w.ctx, "อบต.อื่น", w.clock.now())).id
    await materialise(w.ctx, w.clock.now())
    w.clock.set(datetime(2027, 10, 2, 3, tzinfo=UTC))
    stats = await materialise(w.ctx, w.clock.now())
    assert stats.fiscal_years == [2571, 2572]
    async with db.transaction() as s:
        ours = await catalogue_for(s, w.ctx, w.org.id, 2572)
        theirs = await catalogue_for(s, w.ctx, bare, 2572)
        activities = set(
            await s.scalars(
                select(Occurrence.code).where(
                    Occurrence.fiscal_year == 2572, Occurrence.kind == "activity"
                )
            )
        )
    assert ours is not None and ours.edition == SHIPPED.edition and len(ours.activities) == 4
    assert theirs is not None and theirs.activities == ()
    assert activities == {"M1.1", "M1.2", "M1.3", "M2.1"}  # the first office's, only


async def test_a_year_already_over_cannot_be_adopted(db: Database) -> None:
    w = await office(db)
    from bot.services.org import OrgError

    try:
        await adopt_for_offices(w.ctx, next_edition(), 2569, w.clock.now())
    except OrgError as exc:
        assert "2569 is over" in str(exc)
    else:  # pragma: no cover - the assertion
        raise AssertionError("adopted a closed year")
    later = await adopt_for_offices(w.ctx, next_edition(), 2573, w.clock.now())
    assert later.stats is None and await rows(db, 2573) == []


async def test_the_migration_gives_existing_occurrences_their_catalogue(db: Database) -> None:
    """Rows written before migration 0003 belong to the catalogue their office adopted for
    their year."""
    async with db.engine.begin() as conn:  # the fixture migrated to head: back to 0001
        await conn.run_sync(_downgrade_to_0001)
    now = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    async with db.transaction() as s:
        org = Organisation(
            name="x",
            is_default=True,
            tracking_since=now,
            include_before_tracking=False,
            created_at=now,
        )
        s.add(org)
        await s.flush()
        version = CatalogueVersion(edition="e", sha256="a" * 64, content="{}", created_at=now)
        s.add(version)
        await s.flush()
        await s.execute(
            text(
                "INSERT INTO org_catalogue (org_id, fiscal_year, catalogue_id, adopted_at)"
                " VALUES (:o, 2570, :c, :t)"
            ),
            {"o": org.id, "c": version.id, "t": now},
        )
        await s.execute(
            text(
                "INSERT INTO occurrence (org_id, fiscal_year, code, kind, period_key,"
                " period_start, period_end, nominal_due, due_date, stage, status, version,"
                " created_at, updated_at) VALUES (:o, 2570, 'O10', 'periodic', '2570',"
                " :d, :d, :d, :d, 'prepare', 'open', 1, :t, :t)"
            ),
            {"o": org.id, "d": date(2026, 12, 31), "t": now},
        )
        org_id, version_id = org.id, version.id
    await upgrade(db)
    async with db.transaction() as s:
        got = await s.scalar(select(Occurrence.catalogue_id).where(Occurrence.org_id == org_id))
    assert got == version_id


def _downgrade_to_0001(conn: Any) -> None:
    from alembic import command

    from bot.store.migrate import alembic_config

    cfg = alembic_config()
    cfg.attributes["connection"] = conn
    command.downgrade(cfg, "0001")
