"""What became pointless while Telegram was away is dropped by meaning, never by count (issue 15).

The bot is the application ``python -m bot run`` builds, with its jobs, on a fake clock; the
Bot API emulator refuses every send (500s and dropped connections) until the test says it is
back.  The people act through the chain, as their presses do.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select, update
from telegram.ext import Application

from bot.domain import OutboxStatus
from bot.services.chain import Chain
from bot.services.dispatch import Dispatcher
from bot.store.db import Database
from bot.store.models import Occurrence, Outbox
from bot.telegram.transport import transport_of
from tests.support.botapi import BotApiEmulator, FaultKind
from tests.support.telegram import running_app
from tests.support.world import World, chat_world

pytestmark = pytest.mark.postgres  # the drops are conditional UPDATEs beside the claims

App = Application[Any, Any, Any, Any, Any, Any]
AWAY: tuple[FaultKind, ...] = ("500", "drop")  # Telegram away: every send refused
ANALYST, CHIEF, CLERK = 1001, 1002, 1003  # prepare, collect (review), publish of O10
# Friday 27 November 2026, 09:00 Bangkok: the reminder slot after the world's Thursday
FRIDAY_SLOT = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


async def only_o10(w: World, stage: str, *, due: date | None = None, remind: bool = False) -> int:
    """O10 of FY 2570 open at ``stage``; no other stage has a reminder slot."""
    async with w.ctx.db.transaction() as s:
        await s.execute(update(Occurrence).values(next_remind_at=None))
        occ = await s.scalar(
            select(Occurrence).where(Occurrence.code == "O10", Occurrence.period_key == "2570")
        )
        assert occ is not None
        occ.stage, occ.status, occ.current_role = stage, "open", occ.role_for(stage)
        occ.current_due = due or occ.due_for(stage)
        occ.next_remind_at = w.clock.now() if remind else None
        occ.escalated_at = w.clock.now()  # the head's escalation is not under test here
        return occ.id


async def tick(app: App) -> None:
    """The JobQueue's tick, as it fires: reminders, the drops, then delivery."""
    assert app.job_queue is not None
    [job] = app.job_queue.get_jobs_by_name("tick")
    await job.run(app)


async def ride(w: World, app: App, until: datetime) -> None:
    """Send and retry until ``until``, the fake clock jumping to each retry."""
    dispatcher = Dispatcher(w.ctx, transport_of(app))
    while True:
        await dispatcher.run()
        due = await dispatcher.next_due()
        if due is not None and due.tzinfo is None:
            due = due.replace(tzinfo=UTC)
        if due is None or due > until:
            w.clock.set(max(until, w.clock.now()))
            return
        w.clock.set(max(due, w.clock.now()))


async def rows(db: Database, chat_id: int) -> list[Outbox]:
    async with db.transaction() as s:
        return list(
            await s.scalars(select(Outbox).where(Outbox.chat_id == chat_id).order_by(Outbox.id))
        )


async def press(w: World, who: str, act: str, occ_id: int, *args: Any) -> None:
    async with w.ctx.db.transaction() as s:
        out = await getattr(Chain(s, w.ctx, w.people[who], w.clock.now()), act)(occ_id, *args)
        assert out.ok, out


async def test_a_reminder_pending_through_an_outage_is_superseded_by_the_next_days(
    db: Database, emulator: BotApiEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    w = await chat_world(db)
    occ_id = await only_o10(w, "prepare", due=date(2026, 11, 25), remind=True)  # overdue: daily
    emulator.random_faults(1.0, kinds=AWAY, seed=15)
    # retried hourly through the night (the 5-minute cap is test_reliability_faults'): fewer
    # tries of the same thing
    async with running_app(w, emulator, jobs=True, outbox_retry_max_seconds=3600) as app:
        await tick(app)  # Thursday's reminder, refused
        [thursday] = await rows(db, ANALYST)
        assert thursday.kind == "reminder" and thursday.items == [occ_id]
        await ride(w, app, FRIDAY_SLOT)  # retried all night, never given up
        with caplog.at_level(logging.INFO, logger="bot.services.supersede"):
            await tick(app)  # Friday's reminder of the same stage
        old, new = await rows(db, ANALYST)
        assert (old.id, new.items) == (thursday.id, [occ_id])
        assert (old.status, old.last_error) == ("cancelled", f"superseded by outbox {new.id}")
        assert new.status == OutboxStatus.PENDING.value
        assert "superseded by newer ones" in caplog.text
        emulator.random_faults(0)  # Telegram is back
        await ride(w, app, FRIDAY_SLOT.replace(hour=3))
    [got] = emulator.sent_messages(ANALYST)  # only the newer one arrives, once
    [old, new] = await rows(db, ANALYST)
    assert (new.status, new.telegram_message_id) == ("sent", got.result["message_id"])
    assert old.status == "cancelled" and old.sent_at is None


async def test_a_reminder_listing_a_stage_the_newer_one_does_not_is_kept(
    db: Database, emulator: BotApiEmulator
) -> None:
    """Superseded means every stage it lists is in a later reminder: one listing more stays."""
    w = await chat_world(db)
    occ_id = await only_o10(w, "prepare", due=date(2026, 11, 25), remind=True)
    async with w.ctx.db.transaction() as s:  # an older reminder about O10 and another stage
        from bot.services.outbox import enqueue

        await enqueue(s, chat_id=ANALYST, kind="reminder", dedupe_key="remind:old", text="เก่า",
                      now=w.clock.now(), org_id=w.org.id, items=[occ_id, occ_id + 1])  # fmt: skip
    w.clock.advance(60)
    emulator.random_faults(1.0, kinds=AWAY, seed=15)
    async with running_app(w, emulator, jobs=True) as app:
        await tick(app)
        emulator.random_faults(0)
        await ride(w, app, w.clock.now().replace(hour=4))
    assert [r.status for r in await rows(db, ANALYST)] == ["sent", "sent"]
    assert len(emulator.sent_messages(ANALYST)) == 2


@pytest.mark.parametrize(
    ("act", "args", "now_at", "told"),
    [
        ("send_back", ("ขาดเอกสารแนบ",), "prepare", ANALYST),
        ("done", ("collect",), "publish", CLERK),
    ],
)
async def test_a_review_request_whose_stage_moved_on_is_dropped_with_its_reason(
    db: Database, emulator: BotApiEmulator, act: str, args: tuple[str], now_at: str, told: int
) -> None:
    """The analyst asks for a review while Telegram is away; the chief, before it arrives,
    sends the item back (or approves it) from a reminder.  The request is pointless now: it is
    dropped, saying why, and only the notice of the chief's action arrives."""
    w = await chat_world(db)
    occ_id = await only_o10(w, "prepare")
    emulator.random_faults(1.0, kinds=AWAY, seed=15)
    async with running_app(w, emulator, jobs=True) as app:
        await press(w, "analyst", "done", occ_id, "prepare")
        [request] = await rows(db, CHIEF)
        assert (request.kind, request.items) == ("notify", [occ_id])
        await ride(w, app, w.clock.now().replace(minute=20))  # refused, retried
        await press(w, "chief", act, occ_id, *args)
        [request] = await rows(db, CHIEF)
        assert request.status == "cancelled"
        assert request.last_error is not None
        assert request.last_error.startswith(f"stage moved on: O10 is at {now_at} since ")
        emulator.random_faults(0)
        await tick(app)
        await ride(w, app, w.clock.now().replace(minute=40))
    assert emulator.sent_messages(CHIEF) == []
    [notice] = emulator.sent_messages(told)
    [row] = await rows(db, told)
    assert (row.kind, row.status, row.telegram_message_id) == (
        "notify",
        "sent",
        notice.result["message_id"],
    )


async def test_a_notice_still_current_is_kept_and_delivered(
    db: Database, emulator: BotApiEmulator
) -> None:
    """The review request waits through the outage; meanwhile the chief snoozes the stage (the
    occurrence's version moves, its stage does not) and other work moves on.  It arrives."""
    w = await chat_world(db)
    occ_id = await only_o10(w, "prepare")
    emulator.random_faults(1.0, kinds=AWAY, seed=15)
    async with running_app(w, emulator, jobs=True) as app:
        await press(w, "analyst", "done", occ_id, "prepare")
        await ride(w, app, w.clock.now().replace(minute=30))
        await press(w, "chief", "snooze", occ_id, "collect")
        async with w.ctx.db.transaction() as s:  # another item of the analyst's moves on
            other = await s.scalar(
                select(Occurrence.id).where(
                    Occurrence.code == "O12",
                    Occurrence.period_key == "2570",
                    Occurrence.stage == "prepare",
                )
            )
        assert other is not None
        await press(w, "analyst", "not_applicable", other, "prepare", "ไม่มีในปีนี้")
        await tick(app)  # the tick's sweep keeps it too
        emulator.random_faults(0)
        await ride(w, app, w.clock.now().replace(minute=59))
    [request] = await rows(db, CHIEF)
    assert (request.status, request.last_error) == ("sent", None)
    [got] = emulator.sent_messages(CHIEF)
    assert got.result["message_id"] == request.telegram_message_id


async def test_the_tick_drops_a_notice_whose_stage_moved_some_other_way(
    db: Database, emulator: BotApiEmulator
) -> None:
    """Not every move is a press: the tick's sweep drops what the chain did not see."""
    w = await chat_world(db)
    occ_id = await only_o10(w, "prepare")
    emulator.random_faults(1.0, kinds=AWAY, seed=15)
    async with running_app(w, emulator, jobs=True) as app:
        await press(w, "analyst", "done", occ_id, "prepare")
        await ride(w, app, w.clock.now().replace(minute=30))
        async with w.ctx.db.transaction() as s:  # closed by an admin's correction, say
            await s.execute(
                update(Occurrence)
                .where(Occurrence.id == occ_id)
                .values(status="done", stage="finished", stage_started_at=w.clock.now())
            )
        emulator.random_faults(0)
        await tick(app)
    [request] = await rows(db, CHIEF)
    assert (request.status, request.last_error) == ("cancelled", "stage moved on: O10 is done")
    assert emulator.sent_messages(CHIEF) == []


async def _remind_at_slot(w: World, codes: list[str]) -> list[int]:
    """Those items of FY 2570 open at ``prepare``, overdue (reminded daily), due at Friday's
    09:00 slot, and nothing else; the clock at 08:56, when the running bot composes it."""
    ids = [await only_o10(w, "prepare", due=date(2026, 11, 25))]
    async with w.ctx.db.transaction() as s:
        for code in codes[1:]:
            occ = await s.scalar(
                select(Occurrence).where(Occurrence.code == code, Occurrence.period_key == "2570")
            )
            assert occ is not None
            occ.stage, occ.status, occ.current_role = "prepare", "open", occ.role_for("prepare")
            occ.current_due, occ.escalated_at = date(2026, 11, 25), w.clock.now()
            ids.append(occ.id)
        await s.execute(update(Occurrence).where(Occurrence.id.in_(ids))
                        .values(next_remind_at=FRIDAY_SLOT))  # fmt: skip
    w.clock.set(FRIDAY_SLOT.replace(minute=56, hour=1))
    return ids


async def test_a_reminder_held_for_9_00_is_dropped_when_its_stage_is_done_before(
    db: Database, emulator: BotApiEmulator
) -> None:
    """Composed at 08:56 and held until 09:00; the analyst does the stage at 08:58 from an
    earlier message.  At 09:00 nothing asks for it: the reminder is cancelled, saying why."""
    w = await chat_world(db)
    [occ_id] = await _remind_at_slot(w, ["O10"])
    async with running_app(w, emulator, jobs=True) as app:
        await tick(app)  # composes ahead, held until the slot
        [held] = await rows(db, ANALYST)
        assert (held.kind, held.items, held.status) == ("reminder", [occ_id], "pending")
        assert held.next_attempt_at == FRIDAY_SLOT
        w.clock.advance(120)
        await press(w, "analyst", "done", occ_id, "prepare")
        [held] = await rows(db, ANALYST)
        assert held.status == "cancelled" and held.last_error is not None
        assert held.last_error.startswith("stage moved on: O10 is at collect since ")
        await ride(w, app, FRIDAY_SLOT.replace(minute=10))
    assert emulator.sent_messages(ANALYST) == []
    [request] = emulator.sent_messages(CHIEF)  # the review request goes as before
    assert "O10" in str(request.params.get("text"))


async def test_a_held_reminder_listing_a_stage_still_open_goes_at_9_00(
    db: Database, emulator: BotApiEmulator
) -> None:
    w = await chat_world(db)
    o10, o12 = await _remind_at_slot(w, ["O10", "O12"])
    async with running_app(w, emulator, jobs=True) as app:
        await tick(app)
        [held] = await rows(db, ANALYST)
        assert sorted(held.items or []) == sorted([o10, o12])
        w.clock.advance(120)
        await press(w, "analyst", "done", o10, "prepare")
        [held] = await rows(db, ANALYST)
        assert (held.status, held.last_error) == ("pending", None)
        await ride(w, app, FRIDAY_SLOT.replace(minute=10))
    [got] = emulator.sent_messages(ANALYST)
    [row] = await rows(db, ANALYST)
    assert (row.status, row.telegram_message_id) == ("sent", got.result["message_id"])
    assert "O12" in str(got.params.get("text"))
