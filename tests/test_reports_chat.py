"""``/digest`` and ``/report`` end to end: the real Application, HTTP to the Bot API emulator."""

from __future__ import annotations

import io

import openpyxl
from sqlalchemy import func, select

from bot.store.db import Database
from bot.store.models import DigestLog, Outbox
from tests.support.botapi import BotApiEmulator, Call
from tests.support.chat import Harness, User, chat_harness, text_of
from tests.test_reports_history import History, bkk

HEAD = User(1005, "นายก")
ANALYST = User(1001, "สมชาย")
STRANGER = User(4242, "ใครก็ไม่รู้")


def upload(call: Call) -> bytes:
    [content] = call.files.values()
    return content


async def ask(h: Harness, user: User, text: str) -> list[Call]:
    return await h.say(user, text)


async def test_the_head_gets_the_digest_and_the_report_with_their_files(db: Database) -> None:
    hist = await History.create(db)
    await hist.play_until(bkk(2027, 1, 5, 10))
    w = hist.world
    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        async with chat_harness(w, emu) as h:
            digest = await ask(h, HEAD, "/digest")
            assert [c.method for c in digest] == ["sendMessage", "sendPhoto"]
            text = digest[0].params["text"]
            assert text.startswith("📊 สรุปประจำสัปดาห์ อบต.ทดสอบ")
            assert "🎯 ความพร้อม ITA: เผยแพร่ครบ ๔/๔๓ รายการ (๙%)" in text
            assert upload(digest[1]).startswith(b"\x89PNG")
            assert digest[1].params["caption"] == "สถานะงานตามบทบาท ปีงบประมาณ ๒๕๗๐"

            report = await ask(h, HEAD, "/report 2570Q1")
            assert [c.method for c in report] == ["sendMessage", "sendPhoto", "sendDocument"]
            assert report[0].params["text"].startswith("📑 รายงานผลการดำเนินงาน ไตรมาส ๑/๒๕๗๐")
            assert "⚠️ เลยกำหนด ๓๕ (๘๕%)" in report[0].params["text"]
            assert upload(report[1]).startswith(b"\x89PNG")
            doc = report[2]
            assert doc.filenames and next(iter(doc.filenames.values())) == "ita-report-2570Q1.xlsx"
            wb = openpyxl.load_workbook(io.BytesIO(upload(doc)))
            assert wb.sheetnames == ["สรุป", "ประเภทข้อมูล", "มาตรการ"]

            # no period: the last completed quarter (Q1 of FY 2570 on 5 Jan 2027)
            latest = await ask(h, HEAD, "/report")
            assert "ไตรมาส ๑/๒๕๗๐" in latest[0].params["text"]
            assert latest[2].method == "sendDocument"
            # Thai digits work too; a bad period is explained
            thai = await ask(h, HEAD, "/report ๒๕๗๐H1")
            assert "รอบ ๖ เดือน" in thai[0].params["text"]
            bad = text_of(await ask(h, HEAD, "/report 2570Q9"))
            assert "ไม่ใช่ช่วงรายงาน" in bad and "/report 2570Q1" in bad
            ce = text_of(await ask(h, HEAD, "/report 2026Q1"))  # a CE year: the BE one meant
            assert "ดูเหมือนปี ค.ศ." in ce and "หมายถึง 2569Q1 หรือไม่" in ce

    # asked for, not scheduled: nothing logged, nothing queued
    async with db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(DigestLog)) == 0
        assert (
            await s.scalar(
                select(func.count())
                .select_from(Outbox)
                .where(Outbox.kind.in_(("digest", "report")))
            )
            == 0
        )


async def test_staff_and_strangers_are_politely_refused(db: Database) -> None:
    hist = await History.create(db)
    w = hist.world
    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        async with chat_harness(w, emu) as h:
            for command in ("/digest", "/report", "/report 2570Q1"):
                replies = await ask(h, ANALYST, command)
                assert [c.method for c in replies] == ["sendMessage"]
                assert replies[0].params["text"] == "คำสั่งนี้สำหรับผู้บริหารและผู้ดูแลระบบเท่านั้น"
            stranger = await ask(h, STRANGER, "/digest")
            assert [c.method for c in stranger] == ["sendMessage"]
            assert "ยังไม่ได้ลงทะเบียน" in stranger[0].params["text"]


async def test_an_admin_may_ask_too(db: Database) -> None:
    hist = await History.create(db, admin_telegram_ids=[ANALYST.id])
    w = hist.world
    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        async with chat_harness(w, emu) as h:
            replies = await ask(h, ANALYST, "/digest")
            assert [c.method for c in replies] == ["sendMessage", "sendPhoto"]
