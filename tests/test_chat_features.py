"""Staff and admin features end to end: tasks, words, history, changes, language, menus,
quiet hours, handing a role over, group chats."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from bot.store.db import Database
from bot.store.models import Occurrence, OrgRole, Person, RoleAssignment
from tests.support.botapi import BotApiEmulator
from tests.support.chat import User, buttons, chat_harness, text_of
from tests.support.world import ADMIN_TG, chat_world

ANALYST, CHIEF, CLERK, HR, HEAD = (User(1001, "สมชาย"), User(1002, "สมหญิง"), User(1003, "สมศรี"),
                                   User(1004, "สมปอง"), User(1005, "นายก"))  # fmt: skip
ADMIN = User(ADMIN_TG, "ผู้ดูแล")


async def test_tasks_lists_my_open_stages_soonest_first_with_buttons(db: Database) -> None:
    w = await chat_world(db, start=datetime(2026, 12, 16, 3, 0, tzinfo=UTC))
    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        async with chat_harness(w, emu) as h:
            [msg] = await h.say(ANALYST, "/tasks")
            text = msg.params["text"]
            assert "งานของคุณ" in text and text.index("O10") < text.index("O12")
            assert "๒๓ ธ.ค. ๒๕๖๙" in text and "อีก ๗ วัน" in text
            assert "O11" not in text  # due in April: not within 30 days
            assert {"✅ O10", "➖ O10", "💤 O10", "✅ O12"} <= set(buttons(msg))
            everything = await h.say(ANALYST, "/tasks all")  # 8 items a message, each with buttons
            assert "O11" in text_of(everything) and "นักวิเคราะห์นโยบายและแผน" in text_of(everything)
            *lists, more = everything  # at most 20 listed; the rest are counted
            assert len(lists) == 3 and all(m.params.get("reply_markup") for m in lists)
            assert "และอีก" in more.params["text"]
            [procurement] = await h.say(HEAD, "/tasks")
            assert "ไม่มีงาน" in procurement.params["text"]


async def test_done_in_words_asks_when_several_periods_are_open(db: Database) -> None:
    w = await chat_world(
        db,
        start=datetime(2027, 2, 15, 3, 0, tzinfo=UTC),
        tracking_since=datetime(2026, 11, 1, tzinfo=UTC),
    )
    await w.add("buyer", "สมพร พัสดุ", 1006, "procurement_officer")
    buyer = User(1006, "สมพร")
    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        async with chat_harness(w, emu) as h:
            msgs = await h.say(buyer, "/done O23")  # Dec, Jan (and later) reports are all open
            assert "หลายรอบ" in text_of(msgs)
            assert sum(1 for label in buttons(msgs[0]) if label == "✅ O23") >= 1
            choice = buttons(msgs[0])["✅ O23"]
            pressed, _ = await h.press(buyer, msgs[0], choice)
            assert "ส่งต่อให้" in text_of(pressed)


async def test_a_reply_to_a_reminder_with_several_items_needs_a_name(db: Database) -> None:
    w = await chat_world(db)
    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        async with chat_harness(w, emu) as h:
            w.clock.set(datetime(2026, 12, 16, 2, 0, tzinfo=UTC))
            [reminder] = [c for c in await h.tick() if c.chat_id == ANALYST.id]
            mid = reminder.result["message_id"]
            question = text_of(await h.say(ANALYST, "เสร็จแล้ว", reply_to=mid))
            assert "หลายรายการ" in question and "O10" in question and "O12" in question
            both = text_of(await h.say(ANALYST, "เสร็จ O10 O12", reply_to=mid))
            assert both.count("ส่งต่อให้") == 2
            assert "ไม่อยู่ในข้อความเตือนนี้" in text_of(await h.say(ANALYST, "done O4", reply_to=mid))


async def test_item_history_shows_every_event_with_who_and_when(db: Database) -> None:
    w = await chat_world(db)
    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        async with chat_harness(w, emu) as h:
            await h.say(ANALYST, "/done O10")
            w.clock.advance(hours=1)
            await h.say(CHIEF, "/done O10")
            w.clock.advance(hours=1)
            await h.say(CLERK, "/done O10 https://example.go.th/o10")
            [hist] = await h.say(HR, "/item O10")
            text = hist.params["text"]
            assert "แผนดำเนินงานประจำปี" in text and "เสร็จสิ้น" in text
            assert "สมชาย วิเคราะห์: จัดทำเสร็จ" in text and "สมหญิง หัวหน้า: ตรวจทานผ่าน" in text
            assert "สมศรี ธุรการ: เผยแพร่" in text and "https://example.go.th/o10" in text
            assert "๒๖ พ.ย. ๒๕๖๙ ๑๒:๐๐" in text


async def test_reporting_a_change_opens_an_occurrence_due_in_three_working_days(
    db: Database,
) -> None:
    w = await chat_world(db)  # Thursday 26 Nov 2026
    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        async with chat_harness(w, emu) as h:
            [menu] = await h.say(CHIEF, "/changed")  # the reviewer reports it
            assert "O1" in " ".join(buttons(menu))
            label = next(lb for lb in buttons(menu) if lb.startswith("O1 "))
            msgs, _ = await h.press(CHIEF, menu, buttons(menu)[label])
            assert "๑ ธ.ค. ๒๕๖๙" in text_of(msgs)  # Fri 27, Mon 30, Tue 1
            told = [c for c in await h.deliver() if c.chat_id == HR.id]
            assert len(told) == 1 and "มีการเปลี่ยนแปลง" in told[0].params["text"]
            again, _ = await h.press(CHIEF, menu, buttons(menu)[label])
            assert "ค้างอยู่แล้ว" in text_of(again)
    async with db.transaction() as s:
        changes = list(await s.scalars(select(Occurrence).where(Occurrence.kind == "change")))
    assert len(changes) == 1 and changes[0].code == "O1" and changes[0].stage == "prepare"


async def test_quarterly_confirmation_still_current_or_updated(db: Database) -> None:
    w = await chat_world(db)
    async with db.transaction() as s:
        q1 = list(await s.scalars(select(Occurrence).where(Occurrence.period_key == "2570Q1",
                                                           Occurrence.code.in_(["O1", "O2"]))))  # fmt: skip
    ids = {o.code: o.id for o in q1}
    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        async with chat_harness(w, emu) as h:
            msgs, _ = await h.press_data(HR, f"cc:{ids['O1']}:confirm")
            assert "ยังเป็นปัจจุบัน" in text_of(msgs)
            msgs, _ = await h.press_data(HR, f"cu:{ids['O2']}:confirm")
            assert "ปรับปรุงแล้ว" in text_of(msgs)
            assert "✅ O2" in buttons(msgs[-1])  # the HR officer prepares the update next
    async with db.transaction() as s:
        statuses = {
            o.code: o.status
            for o in await s.scalars(select(Occurrence).where(Occurrence.id.in_(ids.values())))
        }
        change = await s.scalar(
            select(Occurrence).where(Occurrence.kind == "change", Occurrence.code == "O2")
        )
    assert statuses == {"O1": "done", "O2": "done"} and change is not None


async def test_language_help_and_command_menus(db: Database) -> None:
    w = await chat_world(db)
    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        async with chat_harness(w, emu) as h:
            from bot.handlers.menus import publish_command_menus

            await publish_command_menus(h.app.bot, w.ctx)
            default = [c["command"] for c in emu.commands()]
            assert "tasks" in default and "status" not in default and "invite" not in default
            assert emu.commands()[0]["description"] == "งานของฉัน"
            admin_menu = [c["command"] for c in emu.commands({"type": "chat", "chat_id": ADMIN_TG})]
            assert {"invite", "people", "status"} <= set(admin_menu)
            head_menu = [c["command"] for c in emu.commands({"type": "chat", "chat_id": HEAD.id})]
            assert "status" in head_menu and "invite" not in head_menu
            staff_help = text_of(await h.say(ANALYST, "/help"))
            admin_help = text_of(await h.say(ADMIN, "/help"))
            assert (
                "/invite" not in staff_help and "/invite" in admin_help and "/status" in admin_help
            )
            assert "Language set to English" in text_of(await h.say(ANALYST, "/lang en"))
            english = text_of(await h.say(ANALYST, "/tasks all"))
            assert "All open tasks" in english and "Dec 2026" not in english
            en_menu = emu.commands({"type": "chat", "chat_id": ANALYST.id})
            assert en_menu and en_menu[0]["description"] == "my tasks"
            assert "ภาษาไทย" in text_of(await h.say(ANALYST, "/lang th"))


async def test_the_next_role_is_told_at_once_in_office_hours_and_at_opening_otherwise(
    db: Database,
) -> None:
    w = await chat_world(db)
    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        async with chat_harness(w, emu) as h:
            w.clock.set(datetime(2026, 11, 27, 13, 0, tzinfo=UTC))  # Friday 20:00 Bangkok
            await h.say(ANALYST, "/done O10")
            assert [c for c in await h.deliver() if c.chat_id == CHIEF.id] == []
            w.clock.set(datetime(2026, 11, 30, 1, 29, tzinfo=UTC))  # Monday 08:29
            assert [c for c in await h.deliver() if c.chat_id == CHIEF.id] == []
            w.clock.set(datetime(2026, 11, 30, 1, 30, tzinfo=UTC))  # Monday 08:30: the office opens
            told = [c for c in await h.deliver() if c.chat_id == CHIEF.id]
            assert len(told) == 1 and "O10" in told[0].params["text"]


async def test_handing_a_role_over_moves_its_open_stages(db: Database) -> None:
    w = await chat_world(db)
    await w.add("newbie", "สมใจ มาใหม่", 1007)
    newbie = User(1007, "สมใจ")
    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        async with chat_harness(w, emu) as h:
            [menu] = await h.say(ADMIN, "/assign")
            msgs, _ = await h.press(ADMIN, menu, buttons(menu)["นักวิเคราะห์นโยบายและแผน"])
            people_menu = msgs[-1]
            msgs, _ = await h.press(ADMIN, people_menu, buttons(people_menu)["สมใจ มาใหม่"])
            assert "มอบนักวิเคราะห์นโยบายและแผนให้ สมใจ มาใหม่" in text_of(msgs)
            assert "O10" in text_of(await h.say(newbie, "/tasks"))
            assert "ยังไม่มีบทบาท" in text_of(await h.say(ANALYST, "/tasks"))
            w.clock.set(datetime(2026, 12, 16, 2, 0, tzinfo=UTC))
            sent = await h.tick()
            assert [c for c in sent if c.chat_id == ANALYST.id] == []
            assert any("O10" in c.params["text"] for c in sent if c.chat_id == newbie.id)
            people = text_of(await h.say(ADMIN, "/people"))
            assert "สมใจ มาใหม่ — นักวิเคราะห์นโยบายและแผน" in people
    async with db.transaction() as s:
        ended = list(
            await s.scalars(
                select(RoleAssignment).where(RoleAssignment.role_key == "policy_analyst")
            )
        )
    assert len(ended) == 2 and sum(1 for a in ended if a.valid_to is None) == 1


async def test_admin_deactivates_a_person_and_links_a_group(db: Database) -> None:
    w = await chat_world(db)
    group: dict[str, Any] = {"id": -100500, "type": "supergroup", "title": "ทีมคลัง"}
    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        async with chat_harness(w, emu) as h:
            [menu] = await h.say(ADMIN, "/deactivate")
            msgs, _ = await h.press(ADMIN, menu, buttons(menu)["สมปอง บุคคล"])
            assert "ปิดการใช้งาน สมปอง บุคคล แล้ว" in text_of(msgs)
            assert "ยังไม่ได้ลงทะเบียน" in text_of(await h.say(HR, "/tasks"))
            assert "ในกลุ่ม" in text_of(await h.say(ADMIN, "/linkgroup"))
            [choose] = await h.say(ADMIN, "/linkgroup", chat=group)
            msgs, _ = await h.press(
                ADMIN, choose, buttons(choose)["หัวหน้าสำนักปลัด"], chat_id=group["id"]
            )
            assert "เชื่อมกลุ่มนี้กับหัวหน้าสำนักปลัดแล้ว" in text_of(msgs)
            # staff cannot link groups
            [refused] = await h.say(CHIEF, "/linkgroup", chat=group)
            assert "ผู้ดูแลระบบ" in refused.params["text"]
    async with db.transaction() as s:
        hr = await s.scalar(select(Person).where(Person.telegram_user_id == HR.id))
        link = await s.get(OrgRole, (w.org.id, "head_of_office"))
    assert hr is not None and not hr.active and (hr.inactive_reason or "").startswith("admin:")
    assert link is not None and link.group_chat_id == group["id"]
