"""Invite codes cannot be guessed, a deactivated person is not let back in by any link,
and in groups a stranger's Telegram id is never posted."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
from sqlalchemy import select

from bot.services.onboarding import INVITE_CODE_BITS, create_invite, new_code
from bot.store.db import Database
from bot.store.models import Invite, Organisation, Outbox, Person, StartAttempts
from tests.support.botapi import BotApiEmulator
from tests.support.chat import User, buttons, chat_harness, text_of
from tests.support.world import ADMIN_TG, STRANGER_TG, World, chat_world

ADMIN, ANALYST = User(ADMIN_TG, "ผู้ดูแล"), User(1001, "สมชาย")
GROUP: dict[str, Any] = {"id": -100500, "type": "supergroup", "title": "ทีมงาน"}


def test_invite_codes_carry_at_least_64_bits_of_entropy() -> None:
    codes = {new_code() for _ in range(2000)}
    assert INVITE_CODE_BITS >= 64 and len(codes) == 2000
    for code in codes:
        assert re.fullmatch(r"[A-Za-z0-9_-]{24}", code)  # a valid /start payload
    # 24 symbols of a 64-letter alphabet: 144 bits; at 5 guesses a second, hopeless
    assert 24 * math.log2(64) == INVITE_CODE_BITS == 144


async def invite(w: World, role: str = "legal_officer", **kw: object) -> str:
    async with w.ctx.db.transaction() as s:
        org = await s.get(Organisation, w.org.id)
        assert org is not None
        code, _ = await create_invite(s, w.ctx, org, w.clock.now(), role_key=role, **kw)  # type: ignore[arg-type]
    return code


@pytest.mark.postgres
async def test_failed_start_codes_are_limited_per_telegram_id(db: Database) -> None:
    w = await chat_world(db)
    good = await invite(w)
    guesser, other = User(3001, "เดา"), User(3002, "คนอื่น")
    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        async with chat_harness(w, emu) as h:
            for i in range(5):
                assert "ใช้ไม่ได้" in text_of(await h.say(guesser, f"/start WRONG{i:020d}"))
            # the sixth attempt is refused without looking at the code, even a good one
            assert "หลายครั้งเกินไป" in text_of(await h.say(guesser, f"/start {good}"))
            assert "หลายครั้งเกินไป" in text_of(await h.say(guesser, f"/start {'x' * 80}"))
            # another account is not affected, and the good code is still unused
            assert "ใช้ไม่ได้" in text_of(await h.say(other, "/start WRONG"))
            async with db.transaction() as s:
                row = await s.get(StartAttempts, guesser.id)
                assert row is not None and row.failures == 5  # kept in the database
                assert (
                    await s.scalar(select(Invite.used_at).where(Invite.role_key == "legal_officer"))
                    is None
                )
            w.clock.advance(hours=1, seconds=1)
            assert "นิติกร" in text_of(await h.say(guesser, f"/start {good}"))


async def deactivate(w: World, key: str) -> None:
    async with w.ctx.db.transaction() as s:
        from bot.services.people import deactivate as do

        person = await s.get(Person, w.people[key].id)
        assert person is not None
        await do(s, person, w.clock.now(), "left the office")


async def test_a_deactivated_person_is_not_reactivated_by_any_invite(db: Database) -> None:
    w = await chat_world(db)
    admin_id = w.people["admin"].id
    before = await invite(w, created_by=admin_id, person_id=w.people["analyst"].id)
    w.clock.advance(minutes=1)
    await deactivate(w, "analyst")
    w.clock.advance(minutes=1)
    general = await invite(w, created_by=admin_id)
    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        async with chat_harness(w, emu) as h:
            for code in (general, before):  # any link, or one made for them before
                said = text_of(await h.say(ANALYST, f"/start {code}"))
                assert "ปิดการใช้งาน" in said and "แจ้งผู้ดูแลระบบ" in said
            async with db.transaction() as s:
                person = await s.get(Person, w.people["analyst"].id)
                assert person is not None and not person.active
                assert list(await s.scalars(select(Invite.used_at))) == [None, None]
            told = text_of(await h.deliver())
            assert "ถูกปิดการใช้งานแล้ว เปิดลิงก์เชิญ" in told and "สมชาย วิเคราะห์" in told
            assert emu.sent_messages(ADMIN_TG)
            # the admin makes a link for that person now: it lets them back in
            [choose] = await h.say(ADMIN, "/invite")
            [pick] = (await h.press(ADMIN, choose, buttons(choose)["นิติกร"]))[0]
            assert "สมชาย วิเคราะห์" in buttons(pick)
            [link] = (await h.press(ADMIN, pick, buttons(pick)["สมชาย วิเคราะห์"]))[0]
            code = link.params["text"].split("start=")[1].split()[0]
            assert "ยินดีต้อนรับ" in text_of(await h.say(ANALYST, f"/start {code}"))
            assert "งานของคุณ" in text_of(await h.say(ANALYST, "/tasks"))
    async with db.transaction() as s:
        person = await s.get(Person, w.people["analyst"].id)
        assert person is not None and person.active and person.deactivated_at is None


async def test_a_personal_invite_only_registers_its_person(db: Database) -> None:
    w = await chat_world(db)
    async with db.transaction() as s:
        org = await s.get(Organisation, w.org.id)
        assert org is not None
        from bot.services.people import add_person

        roster = await add_person(s, org, name="สมใจ ใหม่", now=w.clock.now())
    code = await invite(w, person_id=roster.id)
    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        async with chat_harness(w, emu) as h:
            assert "บุคคลอื่น" in text_of(await h.say(ANALYST, f"/start {code}"))
            assert "ยินดีต้อนรับ" in text_of(await h.say(User(3005, "สมใจ"), f"/start {code}"))
    async with db.transaction() as s:
        joined = await s.get(Person, roster.id)
        assert joined is not None and joined.telegram_user_id == 3005


async def test_in_groups_a_strangers_telegram_id_is_never_posted(db: Database) -> None:
    w = await chat_world(db)
    stranger = User(STRANGER_TG, "คนแปลกหน้า")
    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        async with chat_harness(w, emu) as h:
            [choose] = await h.say(ADMIN, "/linkgroup", chat=GROUP)
            for text in ("/help", "/invite", "/linkgroup", "/start", "/tasks", "/status"):
                await h.say(stranger, text, chat=GROUP)
            msgs, answers = await h.press(stranger, choose, buttons(choose)["นิติกร"],
                                          chat_id=GROUP["id"])  # fmt: skip
            assert msgs == [] and answers and "ยังไม่ได้ลงทะเบียน" in answers[0].params["text"]
            posted = [
                c
                for c in emu.calls()
                if c.chat_id == GROUP["id"] or c.method == "answerCallbackQuery"
            ]
            assert posted and not any(str(STRANGER_TG) in str(c.params) for c in posted)
            # privately, they are still told their id, for the admin
            assert str(STRANGER_TG) in text_of(await h.say(stranger, "/tasks"))
    async with db.transaction() as s:
        assert await s.scalar(select(Outbox.id).where(Outbox.chat_id == GROUP["id"])) is None
