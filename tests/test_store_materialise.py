"""Materialisation and the reminder tick, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.domain import OccStatus
from bot.services.materialise import materialise
from bot.services.reminders import remind
from bot.store.db import Database
from bot.store.models import Occurrence, Outbox, StageEvent
from tests.support.world import make_world, staff_world

pytestmark = pytest.mark.postgres  # the store is under test


async def count(db: Database, *where: object) -> int:
    async with db.transaction() as s:
        return int(await s.scalar(select(func.count()).select_from(Occurrence).where(*where)) or 0)  # type: ignore[arg-type]


async def test_materialise_is_idempotent_and_covers_two_fiscal_years(db: Database) -> None:
    w = await make_world(db)
    first = await materialise(w.ctx, w.clock.now())
    assert first.fiscal_years == [2570, 2571]
    assert (
        first.created == 2 * 128 and first.orgs == 1
    )  # 88 confirmations + 12 + 8 + 16 + 4 activities, twice
    total = await count(db)
    assert total == first.created
    again = await materialise(w.ctx, w.clock.now())
    assert again.created == 0 and again.rescheduled == 0 and again.withdrawn == 0
    assert await count(db) == total
    # every item and activity, once per period
    assert await count(db, Occurrence.fiscal_year == 2570, Occurrence.code == "O23") == 12
    assert await count(db, Occurrence.fiscal_year == 2570, Occurrence.code == "O1") == 4
    assert await count(db, Occurrence.fiscal_year == 2570, Occurrence.code == "M2.1") == 1


async def test_next_fiscal_year_appears_before_october(db: Database) -> None:
    w = await make_world(
        db, start=datetime(2027, 9, 1, 3, tzinfo=UTC)
    )  # FY 2570, a month before its end
    await materialise(w.ctx, w.clock.now())
    assert await count(db, Occurrence.fiscal_year == 2571) > 0
    w.clock.set(datetime(2027, 10, 2, 3, tzinfo=UTC))
    stats = await materialise(w.ctx, w.clock.now())
    assert stats.fiscal_years == [2571, 2572]
    assert await count(db, Occurrence.fiscal_year == 2572) > 0


async def test_an_office_that_starts_mid_year_is_not_flooded(db: Database) -> None:
    w = await staff_world(db)  # tracking starts 26 Nov 2026
    await materialise(w.ctx, w.clock.now())
    before = await count(db, Occurrence.status == OccStatus.BEFORE_TRACKING.value)
    # Oct 2026's O23 report was due 10 Nov; O1..O43's nothing else yet
    assert before >= 1
    async with db.transaction() as s:
        oct_report = await s.scalar(
            select(Occurrence).where(Occurrence.code == "O23", Occurrence.period_key == "2570M10")
        )
        assert oct_report is not None
        assert (
            oct_report.status == OccStatus.BEFORE_TRACKING.value
            and oct_report.next_remind_at is None
        )
        nov_report = await s.scalar(
            select(Occurrence).where(Occurrence.code == "O23", Occurrence.period_key == "2570M11")
        )
        assert nov_report is not None and nov_report.status == OccStatus.OPEN.value
    # nothing from before tracking is ever reminded
    w.clock.set(datetime(2026, 12, 1, 2, 5, tzinfo=UTC))
    await remind(w.ctx, w.clock.now())
    async with db.transaction() as s:
        items = [i for row in await s.scalars(select(Outbox.items)) for i in (row or [])]
    assert oct_report.id not in items


async def test_changed_policy_rederives_open_stages_and_keeps_history(db: Database) -> None:
    w = await staff_world(db)
    await materialise(w.ctx, w.clock.now())
    async with db.transaction() as s:
        o10 = await s.scalar(
            select(Occurrence).where(Occurrence.code == "O10", Occurrence.fiscal_year == 2570)
        )
        assert o10 is not None
        assert (o10.prepare_due, o10.collect_due, o10.publish_due) == (
            date(2026, 12, 23),
            date(2026, 12, 28),
            date(2026, 12, 30),
        )
        done = await s.scalar(
            select(Occurrence).where(Occurrence.code == "O11", Occurrence.period_key == "2570H1")
        )
        assert done is not None
        done.status, done.stage, done.completed_at = OccStatus.DONE.value, "done", w.clock.now()
    w.ctx.settings.schedule = w.ctx.settings.schedule.model_copy(update={"prepare_offset": 8})
    stats = await materialise(w.ctx, w.clock.now())
    assert stats.rescheduled > 0 and stats.created == 0
    async with db.transaction() as s:
        o10 = await s.scalar(
            select(Occurrence).where(Occurrence.code == "O10", Occurrence.fiscal_year == 2570)
        )
        assert (
            o10 is not None
            and o10.prepare_due == date(2026, 12, 18)
            and o10.current_due == date(2026, 12, 18)
        )
        ev = await s.scalar(select(StageEvent).where(StageEvent.occurrence_id == o10.id))
        assert ev is not None and ev.action == "rescheduled" and "prepare_due" in (ev.note or "")
        done = await s.scalar(
            select(Occurrence).where(Occurrence.code == "O11", Occurrence.period_key == "2570H1")
        )
        assert done is not None and done.prepare_due == date(
            2027, 4, 23
        )  # untouched: it is history


async def test_one_reminder_per_person_per_slot_listing_all_their_stages(db: Database) -> None:
    w = await staff_world(db)
    await materialise(w.ctx, w.clock.now())
    # 16 Dec 2026 09:00: seven days before O10/O12's prepare deadline (23 Dec) for the analyst
    w.clock.set(datetime(2026, 12, 16, 2, 0, tzinfo=UTC))
    stats = await remind(w.ctx, w.clock.now())
    assert stats.messages >= 1
    async with db.transaction() as s:
        rows = list(
            await s.scalars(select(Outbox).where(Outbox.person_id == w.people["analyst"].id))
        )
    assert len(rows) == 1
    text = rows[0].text
    assert "O10" in text and "O12" in text and "๒๓ ธ.ค. ๒๕๖๙" in text and "อีก ๗ วัน" in text
    assert text.index("O10") < text.index("O12")
    buttons = [b["text"] for row in rows[0].reply_markup["inline_keyboard"] for b in row]  # type: ignore[index]
    assert "✅ O10" in buttons and "💤 O12" in buttons
    # a second tick in the same slot sends nothing more
    again = await remind(w.ctx, w.clock.now() + timedelta(minutes=1))
    assert again.messages == 0


async def test_reminders_never_go_out_at_night_or_on_holidays(db: Database) -> None:
    w = await staff_world(db)
    await materialise(w.ctx, w.clock.now())
    for when in (
        datetime(2026, 12, 16, 14, 0, tzinfo=UTC),  # 21:00 Bangkok
        datetime(2026, 12, 19, 3, 0, tzinfo=UTC),  # Saturday
        datetime(2026, 12, 31, 3, 0, tzinfo=UTC),  # New Year's Eve
    ):
        w.clock.set(when)
        assert (await remind(w.ctx, w.clock.now())).messages == 0


async def test_downtime_is_caught_up_once(db: Database) -> None:
    w = await staff_world(db)
    await materialise(w.ctx, w.clock.now())
    # the bot was off from 15 Dec until Monday 4 Jan 2027, 10:30: many slots were missed
    w.clock.set(datetime(2027, 1, 4, 3, 30, tzinfo=UTC))
    await remind(w.ctx, w.clock.now())
    async with db.transaction() as s:
        rows = list(
            await s.scalars(select(Outbox).where(Outbox.person_id == w.people["analyst"].id))
        )
        o10 = await s.scalar(
            select(Occurrence).where(Occurrence.code == "O10", Occurrence.fiscal_year == 2570)
        )
    assert len(rows) == 1
    assert "เลยกำหนด" in rows[0].text
    assert o10 is not None and o10.next_remind_at == datetime(2027, 1, 5, 2, 0, tzinfo=UTC)


async def test_escalation_reaches_the_head_after_three_working_days(db: Database) -> None:
    w = await staff_world(db)
    await materialise(w.ctx, w.clock.now())
    # O10's prepare was due Wed 23 Dec; 3 working days overdue is Mon 28 Dec (24, 25, 28)
    seen: dict[int, list[str]] = {}
    for day in (24, 25, 28, 29):
        w.clock.set(datetime(2026, 12, day, 2, 0, tzinfo=UTC))
        await remind(w.ctx, w.clock.now())
        async with db.transaction() as s:
            esc = list(await s.scalars(select(Outbox).where(Outbox.kind == "escalation")))
        seen[day] = [e.text for e in esc if "O10 " in e.text]
    assert seen[24] == [] and seen[25] == []
    assert len(seen[28]) == 1 and len(seen[29]) == 1  # escalated once, on the third working day
    text = seen[28][0]
    assert "สมชาย วิเคราะห์" in text and "เลยกำหนด ๓ วัน" in text
    async with db.transaction() as s:
        heads = set(await s.scalars(select(Outbox.person_id).where(Outbox.kind == "escalation")))
    assert heads == {w.people["head"].id}


async def test_a_role_nobody_holds_is_reported_to_the_head(db: Database) -> None:
    w = await staff_world(db)  # nobody holds legal_officer (O6, O38…)
    await materialise(w.ctx, w.clock.now())
    w.clock.set(datetime(2026, 12, 16, 2, 0, tzinfo=UTC))
    await remind(w.ctx, w.clock.now())
    async with db.transaction() as s:
        rows = list(await s.scalars(select(Outbox).where(Outbox.kind == "unreachable")))
    assert len(rows) == 1 and rows[0].person_id == w.people["head"].id
    assert "นิติกร" in rows[0].text


async def test_a_tick_can_stop_early_and_the_next_one_carries_on(db: Database) -> None:
    w = await staff_world(db)
    async with db.transaction() as s:
        from bot.services.org import init_org

        await init_org(s, w.ctx, "อบต.ที่สอง", w.clock.now())
    await materialise(w.ctx, w.clock.now())
    w.clock.set(datetime(2026, 12, 16, 2, 0, tzinfo=UTC))
    assert (await remind(w.ctx, w.clock.now(), budget_seconds=0)).orgs == 0
    first = await remind(w.ctx, w.clock.now(), max_orgs=1)
    second = await remind(w.ctx, w.clock.now())
    assert first.orgs == 1 and second.orgs == 1  # each office once, across two ticks
    assert (await remind(w.ctx, w.clock.now())).orgs == 0


async def _plan_of(db: Database, org_id: int) -> dict[tuple[str, str], tuple[object, ...]]:
    async with db.transaction() as s:
        rows = await s.execute(
            select(
                Occurrence.code,
                Occurrence.period_key,
                Occurrence.status,
                Occurrence.prepare_due,
                Occurrence.collect_due,
                Occurrence.publish_due,
                Occurrence.current_due,
            ).where(Occurrence.org_id == org_id)
        )
        return {(r[0], r[1]): tuple(r[2:]) for r in rows}


async def test_offices_batched_in_one_transaction_are_each_planned_as_if_alone(
    db: Database,
) -> None:
    from bot.services.org import init_org

    w = await staff_world(db)  # tracking since 26 Nov 2026
    async with db.transaction() as s:
        planned = await init_org(s, w.ctx, "อบต.วางแผนแล้ว", w.clock.now())
    await materialise(w.ctx, w.clock.now())
    async with db.transaction() as s:
        late = await init_org(s, w.ctx, "อบต.กลางปี", w.clock.now())
        early = await init_org(  # tracking from the start of the fiscal year
            s, w.ctx, "อบต.ต้นปี", w.clock.now(), tracking_since=datetime(2026, 9, 30, 17, tzinfo=UTC)
        )
    w.ctx.settings.schedule = w.ctx.settings.schedule.model_copy(update={"prepare_offset": 8})
    # two offices re-planned in one transaction, the two new ones in the next
    stats = await materialise(w.ctx, w.clock.now(), batch=2)
    replanned, fresh = await _plan_of(db, planned.id), await _plan_of(db, late.id)
    assert stats.orgs == 4 and stats.created == 2 * len(fresh) and stats.rescheduled > 0
    before = OccStatus.BEFORE_TRACKING.value
    assert replanned.keys() == fresh.keys()
    for key, row in fresh.items():  # re-planned in bulk = planned afresh on the same policy
        assert replanned[key] == row or row[0] == replanned[key][0] == before  # (history stays)
    assert sum(v[0] == before for v in fresh.values()) == stats.before_tracking > 0
    assert all(v[0] != before for v in (await _plan_of(db, early.id)).values())
    async with db.transaction() as s:
        events = await s.scalar(
            select(func.count())
            .select_from(StageEvent)
            .where(
                StageEvent.action == "rescheduled", StageEvent.org_id.in_([w.org.id, planned.id])
            )
        )
    assert events == stats.rescheduled  # each re-plan in the history, once
    total = await count(db)
    again = await materialise(w.ctx, w.clock.now(), batch=3)
    assert (again.created, again.rescheduled, again.withdrawn, again.orgs) == (0, 0, 0, 4)
    assert await count(db) == total
