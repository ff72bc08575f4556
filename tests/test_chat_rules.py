"""Who may act, idempotent presses, forged buttons and invite codes — end to end."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update

from bot.services.chain import Chain
from bot.services.onboarding import create_invite
from bot.store.db import Database
from bot.store.models import Invite, Occurrence, Organisation, PendingPrompt, Person, StageEvent
from tests.support.botapi import BotApiEmulator
from tests.support.chat import User, chat_harness, text_of
from tests.support.world import ADMIN_TG, STRANGER_TG, chat_world

ANALYST, CHIEF, CLERK, HR, HEAD = (User(1001, "สมชาย"), User(1002, "สมหญิง"), User(1003, "สมศรี"),
                                   User(1004, "สมปอง"), User(1005, "นายก"))  # fmt: skip
ADMIN, STRANGER = User(ADMIN_TG, "ผู้ดูแล"), User(STRANGER_TG, "คนแปลกหน้า")


async def occurrence(db: Database, code: str, period: str) -> Occurrence:
    async with db.transaction() as s:
        o = await s.scalar(
            select(Occurrence).where(Occurrence.code == code, Occurrence.period_key == period)
        )
        assert o is not None
        return o


async def put_at(db: Database, occ_id: int, stage: str) -> None:
    """Move an occurrence straight to ``stage`` (test set-up, not a user action)."""
    async with db.transaction() as s:
        o = await s.get(Occurrence, occ_id)
        assert o is not None
        o.stage, o.status, o.current_role, o.current_due = (
            stage,
            "open",
            o.role_for(stage),
            o.due_for(stage),
        )
        o.version += 1
        o.next_remind_at = None


async def snapshot(db: Database, occ_id: int) -> tuple[Any, ...]:
    async with db.transaction() as s:
        o = await s.get(Occurrence, occ_id)
        assert o is not None
        events = await s.scalar(
            select(func.count()).select_from(StageEvent).where(StageEvent.occurrence_id == occ_id)
        )
        prompts = await s.scalar(select(func.count()).select_from(PendingPrompt))
        return (o.stage, o.status, o.version, o.evidence_url, o.next_remind_at, events, prompts)


# action: (callback prefix, item, period, stage, holder, other staff, what success looks like)
ACTIONS = {
    "done": ("d", "O10", "2570", "prepare", ANALYST, HR, "ส่งต่อให้"),
    "approve": ("d", "O10", "2570", "collect", CHIEF, HR, "ตรวจทานผ่าน"),
    "send_back": ("b", "O10", "2570", "collect", CHIEF, ANALYST, "เหตุผลที่ส่งกลับ"),
    "publish": ("p", "O10", "2570", "publish", CLERK, CHIEF, "URL"),
    "not_applicable": ("n", "O12", "2570", "prepare", ANALYST, CLERK, "เหตุผลที่"),
    "snooze": ("z", "O12", "2570", "prepare", ANALYST, HEAD, "จะเตือนอีกครั้ง"),
    "confirm": ("cc", "O1", "2570Q1", "confirm", HR, ANALYST, "ยังเป็นปัจจุบัน"),
    "confirm_updated": ("cu", "O1", "2570Q1", "confirm", HR, CLERK, "ปรับปรุงแล้ว"),
}


@pytest.mark.parametrize("action", list(ACTIONS))
async def test_authorisation_matrix(db: Database, action: str) -> None:
    """Each action tried by a stranger, other staff, the holder and an admin."""
    prefix, code, period, stage, holder, other, success = ACTIONS[action]
    w = await chat_world(db)
    occ = await occurrence(db, code, period)
    await put_at(db, occ.id, stage)
    data = f"{prefix}:{occ.id}:{stage}"
    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        async with chat_harness(w, emu) as h:
            before = await snapshot(db, occ.id)
            # a stranger: told how to get access, nothing changes
            msgs, _ = await h.press_data(STRANGER, data)
            assert "ยังไม่ได้ลงทะเบียน" in text_of(msgs) and str(STRANGER.id) in text_of(msgs)
            assert await snapshot(db, occ.id) == before
            # other staff (a forwarded button): told who can, nothing changes
            msgs, answers = await h.press_data(other, data)
            alert = " ".join(a.params.get("text", "") for a in answers) + text_of(msgs)
            assert "ต้องดำเนินการโดย" in alert
            holders = {ANALYST: "สมชาย", CHIEF: "สมหญิง", CLERK: "สมศรี", HR: "สมปอง"}[holder]
            assert holders in alert
            assert await snapshot(db, occ.id) == before
            # the holder: it works
            msgs, _ = await h.press_data(holder, data)
            assert success in text_of(msgs), text_of(msgs)
            assert await snapshot(db, occ.id) != before
            # an admin, on the same stage again: it works too
            await put_at(db, occ.id, stage)
            async with db.transaction() as s:
                await s.execute(delete(PendingPrompt))
            before = await snapshot(db, occ.id)
            msgs, _ = await h.press_data(ADMIN, data)
            assert success in text_of(msgs), text_of(msgs)
            assert await snapshot(db, occ.id) != before


async def test_a_second_press_moves_nothing_and_says_who_did_it(db: Database) -> None:
    w = await chat_world(db)
    occ = await occurrence(db, "O10", "2570")
    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        async with chat_harness(w, emu) as h:
            data = f"d:{occ.id}:prepare"
            await h.press_data(ANALYST, data)
            after_first = await snapshot(db, occ.id)
            w.clock.advance(60)
            msgs, answers = await h.press_data(ANALYST, data)
            said = text_of(msgs) + " ".join(a.params.get("text", "") for a in answers)
            assert "ดำเนินการไปแล้วโดย สมชาย วิเคราะห์" in said and "๒๖ พ.ย. ๒๕๖๙ ๑๐:๐๐" in said
            assert await snapshot(db, occ.id) == after_first


@pytest.mark.postgres
async def test_two_people_pressing_at_once_move_the_stage_once(db: Database) -> None:
    """Two sessions race on the same stage: exactly one wins, the other is told it was done."""
    w = await chat_world(db)
    occ = await occurrence(db, "O10", "2570")
    await put_at(db, occ.id, "collect")
    async with db.transaction() as s:
        chief = await s.scalar(select(Person).where(Person.telegram_user_id == CHIEF.id))
        admin = await s.scalar(select(Person).where(Person.telegram_user_id == ADMIN_TG))
    second = Database(
        db.url, schema=getattr(db, "test_handle", None) if db.dialect == "postgresql" else None
    )

    async def approve(database: Database, person: Person | None) -> str:
        assert person is not None
        async with database.transaction() as s:
            out = await Chain(s, w.ctx, person, w.clock.now()).done(occ.id, "collect")
            await asyncio.sleep(0)
            return out.key

    try:
        keys = await asyncio.gather(approve(db, chief), approve(second, admin))
    finally:
        await second.dispose()
    assert sorted(keys) == ["act.already", "act.approved"]
    async with db.transaction() as s:
        events = list(await s.scalars(select(StageEvent).where(StageEvent.occurrence_id == occ.id)))
        o = await s.get(Occurrence, occ.id)
    assert [e.action for e in events] == ["approve"] and o is not None and o.stage == "publish"


@pytest.mark.parametrize(
    "data",
    [
        "d:999999:prepare",  # no such record
        "d:abc:prepare",  # malformed
        "x:1:prepare",  # unknown action
        "d:{o10}:publish",  # a stage the occurrence is not at
        "p:{o10}:prepare",  # publish on a prepare stage
        "b:{o10}:prepare",  # send back on a prepare stage
        "cc:{o10}:confirm",  # confirm on an item without that stage
        "d:{o10}:prepare:extra",
        "inv:r:nonexistent",
        "inv:p:head_of_office:1",
        "as:p:head:99999",
        "da:1",
        "lg:head",
        "ch:O99",
        "ch:DROP TABLE",
        "l:" + "x" * 60,
        "",
    ],
)
async def test_forged_and_stale_buttons_change_nothing(db: Database, data: str) -> None:
    w = await chat_world(db)
    o10 = await occurrence(db, "O10", "2570")
    data = data.format(o10=o10.id)
    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        async with chat_harness(w, emu) as h:
            before = await snapshot(db, o10.id)
            async with db.transaction() as s:
                people_before = [
                    (p.id, p.active, p.is_admin)
                    for p in await s.scalars(select(Person).order_by(Person.id))
                ]
                invites_before = await s.scalar(select(func.count()).select_from(Invite))
            msgs, answers = await h.press_data(ANALYST, data)
            said = text_of(msgs) + " ".join(a.params.get("text", "") for a in answers)
            assert said.strip(), "a press always gets an answer"
            assert "ข้อผิดพลาด" not in said  # no crash
            assert await snapshot(db, o10.id) == before
            async with db.transaction() as s:
                assert [
                    (p.id, p.active, p.is_admin)
                    for p in await s.scalars(select(Person).order_by(Person.id))
                ] == people_before
                assert await s.scalar(select(func.count()).select_from(Invite)) == invites_before


@pytest.mark.postgres
async def test_invite_codes_work_once_and_expire(db: Database) -> None:
    w = await chat_world(db)
    async with db.transaction() as s:
        org = await s.get(Organisation, w.org.id)
        assert org is not None
        used, _ = await create_invite(s, w.ctx, org, w.clock.now(), role_key="legal_officer")
        stale, _ = await create_invite(s, w.ctx, org, w.clock.now(), role_key="legal_officer")
    newcomer, other, late = User(3001, "ใหม่"), User(3002, "คนที่สอง"), User(3003, "มาสาย")
    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        async with chat_harness(w, emu) as h:
            assert "นิติกร" in text_of(await h.say(newcomer, f"/start {used}"))
            replay = text_of(await h.say(other, f"/start {used}"))
            assert "ใช้ไม่ได้" in replay and "3002" in replay
            forged = text_of(await h.say(other, "/start AAAAAAAAAAAAAAAAAAAAAAAA"))
            assert "ใช้ไม่ได้" in forged
            w.clock.advance(days=7, seconds=1)
            assert "ใช้ไม่ได้" in text_of(await h.say(late, f"/start {stale}"))
            bare = text_of(await h.say(User(3004, "ไม่มีรหัส"), "/start"))
            assert "ลิงก์เชิญ" in bare and "3004" in bare
            # none of them can do anything else
            assert "ยังไม่ได้ลงทะเบียน" in text_of(await h.say(other, "/tasks"))
            assert "ยังไม่ได้ลงทะเบียน" in text_of(await h.say(other, "เสร็จ O10"))
    async with db.transaction() as s:
        registered = set(await s.scalars(select(Person.telegram_user_id)))
    assert 3001 in registered and not registered & {3002, 3003, 3004}


async def test_unknown_commands_and_strangers_get_polite_answers(db: Database) -> None:
    w = await chat_world(db)
    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        async with chat_harness(w, emu) as h:
            assert "ไม่รู้จักคำสั่ง /fly" in text_of(await h.say(ANALYST, "/fly me to the moon"))
            assert "ยังไม่ได้ลงทะเบียน" in text_of(await h.say(STRANGER, "/fly"))
            assert "ไม่เข้าใจ" in text_of(await h.say(ANALYST, "สวัสดีครับ"))
            assert "สำหรับผู้ดูแลระบบ" in text_of(await h.say(ANALYST, "/invite"))
            assert "สำหรับผู้บริหาร" in text_of(await h.say(ANALYST, "/status"))
            assert "วิธีใช้" in text_of(await h.say(ANALYST, "/done"))
            assert "ไม่พบงาน O99" in text_of(await h.say(ANALYST, "/done O99"))
            assert "ไม่รู้จักรายการ O99" in text_of(await h.say(ANALYST, "/item O99"))


async def test_a_deactivated_person_can_do_nothing(db: Database) -> None:
    w = await chat_world(db)
    occ = await occurrence(db, "O10", "2570")
    async with db.transaction() as s:
        await s.execute(update(Person).where(Person.telegram_user_id == ANALYST.id)
                        .values(active=False, inactive_reason="admin: left the office"))  # fmt: skip
    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        async with chat_harness(w, emu) as h:
            before = await snapshot(db, occ.id)
            assert "ยังไม่ได้ลงทะเบียน" in text_of(await h.say(ANALYST, "/tasks"))
            await h.press_data(ANALYST, f"d:{occ.id}:prepare")
            assert await snapshot(db, occ.id) == before
