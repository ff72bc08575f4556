"""The main scenario, end to end: real Application, real HTTP to the Bot API emulator, fake clock.

admin invites → preparer joins → 09:00 reminder → done → sent back with a reason → fixed →
approved → a bad URL, then a good one → the head's /status shows it done with the URL.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.services.materialise import materialise
from bot.store.db import Database
from bot.store.models import Occurrence, StageEvent
from tests.support.botapi import BotApiEmulator
from tests.support.chat import Harness, User, buttons, chat_harness, text_of
from tests.support.world import make_world

ADMIN = User(900, "ผู้ดูแล ระบบ")
ANALYST = User(1001, "สมชาย")
CHIEF = User(1002, "สมหญิง")
CLERK = User(1003, "สมศรี")
MAYOR = User(1005, "นายก")


async def invite(h: Harness, role_label: str) -> str:
    """The admin makes an invite link for a role, choosing it from Thai-labelled buttons."""
    [menu] = await h.say(ADMIN, "/invite")
    role_buttons = buttons(menu)
    assert role_label in role_buttons, role_buttons
    msgs, _ = await h.press(ADMIN, menu, role_buttons[role_label])
    link = re.search(r"https://t\.me/ita_duty_test_bot\?start=([A-Za-z0-9_-]+)", text_of(msgs))
    assert link, text_of(msgs)
    return link.group(1)


async def join(h: Harness, user: User, code: str) -> str:
    replies = await h.say(user, f"/start {code}")
    return text_of(replies)


@pytest.mark.postgres
async def test_the_whole_chain(db: Database) -> None:
    w = await make_world(
        db, start=datetime(2026, 11, 26, 3, 0, tzinfo=UTC), admin_telegram_ids=[ADMIN.id]
    )
    await materialise(w.ctx, w.clock.now())
    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        async with chat_harness(w, emu) as h:
            # 1. the first admin (named in ADMIN_TELEGRAM_IDS) and their invite
            welcome = text_of(await h.say(ADMIN, "/start"))
            assert "ผู้ดูแลระบบ" in welcome
            code = await invite(h, "นักวิเคราะห์นโยบายและแผน")
            # 2. the preparer joins with the link; the greeting names the role and what is due
            greeting = await join(h, ANALYST, code)
            assert "นักวิเคราะห์นโยบายและแผน" in greeting and "ลงทะเบียนเรียบร้อย" in greeting
            # the same link does not work twice
            replay = await join(h, User(1099, "คนอื่น"), code)
            assert "ใช้ไม่ได้" in replay and "1099" in replay
            for user, label in ((CHIEF, "หัวหน้าสำนักปลัด"), (CLERK, "เจ้าพนักงานธุรการ"),
                                (MAYOR, "ผู้บริหาร (นายก/ปลัด อบต.)")):  # fmt: skip
                assert "ลงทะเบียนเรียบร้อย" in await join(h, user, await invite(h, label))

            # 3. at 09:00 on a working day, seven days before O10's prepare deadline, a reminder
            w.clock.set(datetime(2026, 12, 16, 1, 59, tzinfo=UTC))
            assert [c for c in await h.tick() if c.chat_id == ANALYST.id] == []  # 08:59: not yet
            w.clock.set(datetime(2026, 12, 16, 2, 0, tzinfo=UTC))
            sent = [c for c in await h.tick() if c.chat_id == ANALYST.id]
            assert len(sent) == 1  # one message for all of the analyst's due stages
            reminder = sent[0]
            assert "O10" in reminder.params["text"] and "O12" in reminder.params["text"]
            assert "๒๓ ธ.ค. ๒๕๖๙" in reminder.params["text"]

            # 4. the preparer marks O10 done; the reviewer hears of it at once
            msgs, _ = await h.press(ANALYST, reminder, buttons(reminder)["✅ O10"])
            assert "ตรวจทาน" in text_of(msgs)
            to_chief = [c for c in await h.deliver() if c.chat_id == CHIEF.id]
            assert len(to_chief) == 1 and "O10" in to_chief[0].params["text"]
            review = to_chief[0]
            assert set(buttons(review)) >= {"✅ O10", "↩️ O10", "➖ O10", "💤 O10"}

            # 5. the reviewer sends it back, with a reason typed as a reply
            msgs, _ = await h.press(CHIEF, review, buttons(review)["↩️ O10"])
            assert "เหตุผล" in text_of(msgs)
            ask = msgs[-1]
            assert ask.params["reply_markup"].get("force_reply") is True
            msgs = await h.say(CHIEF, "ยังไม่มีลายเซ็นผู้บริหาร", reply_to=ask.result["message_id"])
            assert "ส่งกลับ" in text_of(msgs)
            back = [c for c in await h.deliver() if c.chat_id == ANALYST.id]
            assert len(back) == 1 and "ยังไม่มีลายเซ็นผู้บริหาร" in back[0].params["text"]

            # 6. the preparer fixes it and replies to the reminder in words
            msgs = await h.say(ANALYST, "เสร็จ O10", reply_to=reminder.result["message_id"])
            assert "ส่งต่อ" in text_of(msgs)
            [review2] = [c for c in await h.deliver() if c.chat_id == CHIEF.id]

            # 7. the reviewer approves; the publisher is told
            msgs, _ = await h.press(CHIEF, review2, buttons(review2)["✅ O10"])
            assert "เผยแพร่" in text_of(msgs)
            [to_clerk] = [c for c in await h.deliver() if c.chat_id == CLERK.id]
            assert "🔗 O10" in buttons(to_clerk)

            # 8. the publisher gives a bad URL, then a good one
            msgs, _ = await h.press(CLERK, to_clerk, buttons(to_clerk)["🔗 O10"])
            assert "URL" in text_of(msgs)
            bad = text_of(await h.say(CLERK, "อยู่บนเว็บแล้วค่ะ"))
            assert "http" in bad and "อีกครั้ง" in bad
            good = text_of(await h.say(CLERK, "https://www.bangsaipa.go.th/ita/o10-2570"))
            assert "เผยแพร่แล้ว" in good and "https://www.bangsaipa.go.th/ita/o10-2570" in good

            # 9. the head sees it done, with the URL
            status = text_of(await h.say(MAYOR, "/status"))
            assert "ภาพรวมปีงบประมาณ ๒๕๗๐" in status
            assert "O10 ✅๑/๑" in status
            assert "https://www.bangsaipa.go.th/ita/o10-2570" in status

    async with db.transaction() as s:
        o10 = await s.scalar(
            select(Occurrence).where(Occurrence.code == "O10", Occurrence.fiscal_year == 2570)
        )
        assert o10 is not None and o10.status == "done" and o10.evidence_url.endswith("o10-2570")  # type: ignore[union-attr]
        actions = list(
            await s.scalars(
                select(StageEvent.action)
                .where(StageEvent.occurrence_id == o10.id)
                .order_by(StageEvent.id)
            )
        )
    assert actions == ["done", "send_back", "done", "approve", "publish"]
