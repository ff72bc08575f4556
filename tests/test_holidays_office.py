"""Each office's own days off: /holidays in chat, an immediate re-plan, the next reminder
says what moved, and the tick keeps each office's calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from bot.services.holidays import remove_day_off
from bot.services.materialise import materialise
from bot.services.org import init_org
from bot.services.people import add_person, assign_role
from bot.services.reminders import remind
from bot.store.db import Database
from bot.store.models import Occurrence, Organisation, Outbox
from tests.support.botapi import BotApiEmulator
from tests.support.chat import User, chat_harness, text_of
from tests.support.world import ADMIN_TG, chat_world

ANALYST, ADMIN = User(1001, "สมชาย"), User(ADMIN_TG, "ผู้ดูแล")


async def _stage(db: Database, org_id: int, code: str, period: str) -> Occurrence:
    async with db.transaction() as s:
        occ = await s.scalar(
            select(Occurrence).where(
                Occurrence.org_id == org_id,
                Occurrence.code == code,
                Occurrence.period_key == period,
            )
        )
    assert occ is not None
    return occ


async def test_an_admin_adds_a_day_off_and_the_next_reminder_says_what_moved(
    db: Database,
) -> None:
    w = await chat_world(db)  # Thursday 26 Nov 2026, 10:00
    async with db.transaction() as s:
        other = await init_org(s, w.ctx, "อบต.สอง", w.clock.now())
        other_id = other.id
    await materialise(w.ctx, w.clock.now())
    assert (await _stage(db, w.org.id, "O10", "2570")).prepare_due == date(2026, 12, 23)
    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        async with chat_harness(w, emu) as h:
            assert "ผู้ดูแลระบบเท่านั้น" in text_of(await h.say(ANALYST, "/holidays"))
            listing = text_of(await h.say(ADMIN, "/holidays"))
            assert "วันหยุดของอบต.ทดสอบ ปีงบประมาณ ๒๕๗๐" in listing
            assert "ยังไม่มีวันพืชมงคลของปี ๒๕๗๐" in listing and "/holidays add" in listing
            assert "เป็น พ.ศ. หมายถึง 2569 หรือไม่" in text_of(await h.say(ADMIN, "/holidays 2026"))
            assert "วันเสาร์หรือวันอาทิตย์" in text_of(await h.say(ADMIN, "/holidays add 28/11/2569"))
            assert "ไม่ใช่วันที่" in text_of(await h.say(ADMIN, "/holidays add 31/2/2570 x"))
            long_name = "/holidays add 27/11/2569 " + "ก" * 150
            assert "ยาวเกินไป (ไม่เกิน ๑๐๐ ตัวอักษร)" in text_of(await h.say(ADMIN, long_name))

            added = text_of(await h.say(ADMIN, "/holidays add ๒๓/๑๒/๒๕๖๙ วันหยุดพิเศษ"))
            assert "เพิ่มวันหยุด ๒๓ ธ.ค. ๒๕๖๙ วันหยุดพิเศษ แล้ว" in added
            assert "ผู้รับผิดชอบจะได้รับแจ้งในการเตือนครั้งถัดไป" in added
            o10 = await _stage(db, w.org.id, "O10", "2570")
            assert (o10.prepare_due, o10.collect_due, o10.publish_due) == (
                date(2026, 12, 22),
                date(2026, 12, 28),
                date(2026, 12, 30),
            )
            assert o10.due_moved_from == date(2026, 12, 23)
            assert (await _stage(db, other_id, "O10", "2570")).prepare_due == date(2026, 12, 23)

            w.clock.set(datetime(2026, 11, 27, 2, 0, tzinfo=UTC))  # Friday 09:00
            [told] = [c for c in await h.tick() if c.chat_id == ANALYST.id]
            text = told.params["text"]
            assert "O10" in text and "O12" in text and "กำหนด ๒๒ ธ.ค. ๒๕๖๙" in text
            assert text.count("เลื่อนกำหนดจากเดิม ๒๓ ธ.ค. ๒๕๖๙") == 2
            assert (await _stage(db, w.org.id, "O10", "2570")).due_moved_from is None

            w.clock.set(datetime(2026, 12, 15, 2, 0, tzinfo=UTC))  # 7 days before the 22nd
            [later] = [c for c in await h.tick() if c.chat_id == ANALYST.id]
            assert "O10" in later.params["text"] and "เลื่อนกำหนด" not in later.params["text"]

    # the daily materialisation keeps the office's calendar
    stats = await materialise(w.ctx, w.clock.now())
    assert stats.rescheduled == 0
    assert (await _stage(db, w.org.id, "O10", "2570")).prepare_due == date(2026, 12, 22)


async def test_the_tick_follows_each_office_calendar(db: Database) -> None:
    """Office A works on Constitution Day (10 Dec 2026); office B keeps it off."""
    w = await chat_world(db)
    await w.add("buyer", "สมพร พัสดุ", 1006, "procurement_officer")
    now = w.clock.now()
    async with db.transaction() as s:
        b = await init_org(s, w.ctx, "อบต.สอง", now)
        buyer_b = await add_person(s, b, name="สมใจ พัสดุ", now=now, telegram_id=2006)
        await assign_role(s, b, buyer_b, "procurement_officer", now)
        b_id, buyer_b_id = b.id, buyer_b.id
    await materialise(w.ctx, now)
    buyer_a = w.people["buyer"]
    async with db.transaction() as s:
        a = await s.get(Organisation, w.org.id)
        assert a is not None
        change = await remove_day_off(s, w.ctx, a, date(2026, 12, 10), now)
    assert change.action == "worked" and change.name == "วันรัฐธรรมนูญ" and change.moved > 0
    nov_a = await _stage(db, w.org.id, "O23", "2570M11")
    nov_b = await _stage(db, b_id, "O23", "2570M11")
    assert (nov_a.due_date, nov_a.prepare_due) == (date(2026, 12, 10), date(2026, 12, 2))
    assert (nov_b.due_date, nov_b.prepare_due) == (date(2026, 12, 9), date(2026, 12, 1))

    async def reminded(person_id: int, day: date) -> bool:
        async with db.transaction() as s:
            row = await s.scalar(
                select(Outbox).where(Outbox.dedupe_key == f"remind:{person_id}:{day.isoformat()}")
            )
        return row is not None

    w.clock.set(datetime(2026, 12, 10, 2, 0, tzinfo=UTC))  # 09:00, nobody reminded since 26 Nov
    await remind(w.ctx, w.clock.now())
    assert await reminded(buyer_a.id, date(2026, 12, 10))  # office A works today
    assert not await reminded(buyer_b_id, date(2026, 12, 10))  # office B is closed
    nov_b = await _stage(db, b_id, "O23", "2570M11")
    assert nov_b.next_remind_at == datetime(2026, 12, 11, 2, 0, tzinfo=UTC)
    w.clock.set(datetime(2026, 12, 11, 2, 0, tzinfo=UTC))
    await remind(w.ctx, w.clock.now())
    assert await reminded(buyer_b_id, date(2026, 12, 11))
