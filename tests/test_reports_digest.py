"""The weekly digest's message, from the fixture history: exact counts, lists and readiness."""

from __future__ import annotations

from sqlalchemy import select

from bot.fmt import Fmt
from bot.reports import run_due_reports
from bot.reports.digest import render_digest
from bot.reports.digest_data import digest_data
from bot.store.db import Database
from bot.store.models import DigestLog, Outbox, OutboxFile
from bot.textfit import TEXT_LIMIT
from tests.test_reports_history import History, bkk


async def digests(db: Database) -> list[Outbox]:
    async with db.transaction() as s:
        return list(
            await s.scalars(select(Outbox).where(Outbox.kind == "digest").order_by(Outbox.id))
        )


async def test_the_first_digest_counts_the_fiscal_year_and_the_last_seven_days(
    db: Database,
) -> None:
    h = await History.create(db)
    monday = bkk(2026, 11, 30, 8, 30)
    await h.play_until(monday)
    assert await run_due_reports(h.world.ctx, monday) == 1
    [msg] = await digests(db)
    assert msg.chat_id == 1005 and msg.person_id == h.world.people["head"].id
    text = msg.text
    lines = text.splitlines()
    assert lines[0] == "📊 สรุปประจำสัปดาห์ อบต.ทดสอบ"
    assert lines[1] == "ปีงบประมาณ ๒๕๗๐ · ข้อมูล ณ ๓๐ พ.ย. ๒๕๖๙"
    expected = [
        "ความคืบหน้าทั้งปี (ทั้งหมด ๑๒๘ รอบ):",
        "✅ เสร็จแล้ว ๑ (๑%)",
        "🔄 ระหว่างดำเนินการ ๐ (๐%)",
        "⏳ ยังไม่เริ่ม ๑๒๖ (๙๘%)",
        "⚠️ เลยกำหนด ๐ (๐%) — นับรวมอยู่ในงานที่ค้างข้างต้น",
        "➖ ไม่มีในรอบนี้ ๐ (๐%)",
        "⏸ ก่อนเริ่มติดตาม ๑ (๑%)",
        "",
        "🎯 ความพร้อม ITA: เผยแพร่ครบ ๑/๔๓ รายการ (๒%)",
        "อีก ๙๑ วันถึงช่วงเก็บข้อมูล OIT (๑ มี.ค. ๒๕๗๐)",
        "ยังไม่พร้อม (๔๒):",
    ]
    start = lines.index(expected[0])
    assert lines[start : start + len(expected)] == expected
    assert "• ก่อนเริ่มติดตาม (ไม่มีหลักฐานในระบบ): O23" in lines
    assert "✅ ไม่มีงานเลยกำหนด" in lines
    assert "📅 ครบกำหนดใน ๑๔ วัน (๑):" in lines
    assert "• ๑ ธ.ค. ๒๕๖๙ O23 [พ.ย. ๒๕๖๙] จัดทำ — นักวิชาการพัสดุ" in lines
    # no earlier digest: the changes of the last 7 days, newest first
    i = lines.index("🔁 ความเคลื่อนไหวใน ๗ วันที่ผ่านมา (๕):")
    assert lines[i + 1] == "จัดทำเสร็จ ๒ · ตรวจทานผ่าน ๑ · เผยแพร่ ๑ · ส่งกลับแก้ไข ๑"
    assert lines[i + 2] == "• ๒๘ พ.ย. ๒๕๖๙ ๑๐:๐๐ O10 [ปีงบ ๒๕๗๐] เผยแพร่ — สมศรี ธุรการ"
    assert lines[i + 5] == "• ๒๗ พ.ย. ๒๕๖๙ ๑๑:๐๐ O10 [ปีงบ ๒๕๗๐] ส่งกลับแก้ไข — สมหญิง หัวหน้า"
    # the chart goes with it
    async with db.transaction() as s:
        [chart] = list(await s.scalars(select(OutboxFile).where(OutboxFile.outbox_id == msg.id)))
    assert chart.kind == "photo" and chart.content.startswith(b"\x89PNG")
    assert chart.caption == "สถานะงานตามบทบาท ปีงบประมาณ ๒๕๗๐"


async def test_the_next_digest_lists_overdue_upcoming_changes_and_who_cannot_be_reached(
    db: Database,
) -> None:
    h = await History.create(db)
    await h.play_until(bkk(2026, 11, 30, 8, 30))
    await run_due_reports(h.world.ctx, h.world.clock.now())
    # Monday 7 Dec is a holiday (the King's birthday, in lieu): the digest waits a day
    await h.play_until(bkk(2026, 12, 7, 10))
    assert await run_due_reports(h.world.ctx, h.world.clock.now()) == 0
    tuesday = bkk(2026, 12, 8, 8, 30)
    await h.play_until(tuesday)
    assert await run_due_reports(h.world.ctx, tuesday) == 1
    text = (await digests(db))[-1].text
    lines = text.splitlines()
    assert lines[1] == "ปีงบประมาณ ๒๕๗๐ · ข้อมูล ณ ๘ ธ.ค. ๒๕๖๙"
    for line in (
        "ความคืบหน้าทั้งปี (ทั้งหมด ๑๒๙ รอบ):",  # 128 + the change reported for O5
        "✅ เสร็จแล้ว ๒ (๒%)",  # O10 published, O1 confirmed
        "🔄 ระหว่างดำเนินการ ๒ (๒%)",  # O23 Nov (awaiting publication), O5's change
        "⏳ ยังไม่เริ่ม ๑๒๓ (๙๕%)",
        "⚠️ เลยกำหนด ๑ (๑%) — นับรวมอยู่ในงานที่ค้างข้างต้น",
        "➖ ไม่มีในรอบนี้ ๑ (๑%)",  # O15
        "⏸ ก่อนเริ่มติดตาม ๑ (๑%)",  # O23 Oct, due before the office started
        "🎯 ความพร้อม ITA: เผยแพร่ครบ ๒/๔๓ รายการ (๕%)",  # O10 published, O15 n/a
        "อีก ๘๓ วันถึงช่วงเก็บข้อมูล OIT (๑ มี.ค. ๒๕๗๐)",
        "ยังไม่พร้อม (๔๑):",
        "⚠️ เลยกำหนด (๑):",
        "• O5 [แจ้งเปลี่ยนแปลง ๑ ธ.ค. ๒๕๖๙] จัดทำ — นักวิเคราะห์นโยบายและแผน"
        " (สมชาย วิเคราะห์) เลยกำหนด ๖ วัน",
        "📅 ครบกำหนดใน ๑๔ วัน (๑):",
        "• ๙ ธ.ค. ๒๕๖๙ O23 [พ.ย. ๒๕๖๙] เผยแพร่ — นักวิชาการคลัง",
        # since the previous weekly digest, not since a week ago
        "🔁 ความเคลื่อนไหวตั้งแต่ ๓๐ พ.ย. ๒๕๖๙ ๐๘:๓๐ (๕):",
        "• ๓ ธ.ค. ๒๕๖๙ ๑๐:๐๐ O1 [ไตรมาส ๑/๒๕๗๐] ยืนยันว่ายังเป็นปัจจุบัน — สมปอง บุคคล",
        "• ๒ ธ.ค. ๒๕๖๙ ๑๐:๐๐ O15 [ปีงบ ๒๕๗๐] ไม่มีในรอบนี้ — สมศรี ธุรการ",
        "🚫 ติดต่อไม่ได้:",
        "• สมหมาย ตรวจสอบ (นักวิชาการตรวจสอบภายใน): บล็อกบอทหรือถูกปิดการใช้งาน",
        "• นักวิชาการตรวจสอบภายใน: ผู้ได้รับมอบหมายติดต่อไม่ได้ — งานค้าง ๑๔ รายการ",
        "• นิติกร: ยังไม่มีผู้ได้รับมอบหมาย — งานค้าง ๑๘ รายการ",
    ):
        assert line in lines, line
    assert "O10" not in text.split("🔁")[1]  # last week's changes are not repeated
    async with db.transaction() as s:
        logs = [
            (row.kind, row.period_key, row.summary["overdue"] if row.summary else None)
            for row in await s.scalars(select(DigestLog).order_by(DigestLog.id))
        ]
    assert logs == [("weekly", "2026-W49", 0), ("weekly", "2026-W50", 1)]


async def test_long_lists_are_cut_to_fit_a_phone(db: Database) -> None:
    h = await History.create(db)
    await h.play_until(bkk(2027, 1, 5, 10))  # 36 stages overdue by now
    async with db.transaction() as s:
        data = await digest_data(s, h.world.ctx, h.world.org.id, h.world.clock.now())
    text = render_digest(Fmt.of(h.world.ctx.settings, "th"), data)
    assert len(text) <= TEXT_LIMIT
    assert "⚠️ เลยกำหนด (๓๖):" in text and "…และอีก ๒๖ รายการ" in text
    # with Arabic digits and in English
    en = render_digest(Fmt.of(h.world.ctx.settings, "en"), data)
    assert "⚠️ Overdue (36):" in en and "…and 26 more" in en
    assert "ITA readiness: 4/43 items published (9%)" in en


async def test_an_english_speaking_head_and_a_head_group_get_their_own_copies(
    db: Database,
) -> None:
    from bot.services.org import link_group
    from bot.store.models import Person

    h = await History.create(db)
    async with db.transaction() as s:
        head = await s.get(Person, h.world.people["head"].id)
        assert head is not None
        head.language = "en"
        await link_group(s, h.world.org.id, "head", -100500)
    monday = bkk(2026, 11, 30, 8, 30)
    await h.play_until(monday)
    assert await run_due_reports(h.world.ctx, monday) == 2
    by_chat = {m.chat_id: m.text for m in await digests(db)}
    assert by_chat[1005].startswith("📊 Weekly digest, อบต.ทดสอบ")
    assert by_chat[-100500].startswith("📊 สรุปประจำสัปดาห์")
