"""Every kind of message, built from maximum-length inputs in Thai and emoji, reaches its
reader: the Bot API emulator refuses anything over Telegram's limits (measured in UTF-16
code units), and nothing here may be refused or lost.

Inputs at their maximum: names of 64 + 64 characters (Telegram's own limit), reasons of
MAX_NOTE_LENGTH characters, an evidence URL of 2,000, catalogue titles of 400, and one
person holding every preparing role, so a morning's reminder lists over 41 stages.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from bot.catalogue.loader import SHIPPED_CATALOGUE
from bot.domain import OccStatus, OutboxStatus
from bot.services.chain import MAX_NOTE_LENGTH
from bot.services.evidence import MAX_URL_LENGTH
from bot.services.materialise import materialise
from bot.store.db import Database
from bot.store.models import Occurrence, OrgRole, Outbox
from bot.textfit import ELLIPSIS, utf16_len
from tests.support.botapi import BotApiEmulator
from tests.support.chat import User, buttons, chat_harness, text_of
from tests.support.world import make_world

HALF = ("ก😀" * 32)[:64]  # 64 characters: 32 Thai letters and 32 emoji (96 UTF-16 units)
NAME = f"{HALF} {HALF}"  # Telegram's longest full name: first and last name of 64 each
PREPARING = ("policy_analyst", "hr_officer", "legal_officer", "finance_officer",
             "finance_director", "treasury_officer", "procurement_officer", "internal_auditor")  # fmt: skip
GROUP: dict[str, Any] = {"id": -100777, "type": "supergroup", "title": "กลุ่ม"}


def long_titles_catalogue(tmp: Path) -> Path:
    data = yaml.safe_load(SHIPPED_CATALOGUE.read_text(encoding="utf-8"))
    for entry in data["items"]:
        entry["title"] = (entry["title"] + " " + "รายงาน📊" * 60)[:400]
    path = tmp / "long.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def refused(emu: BotApiEmulator, *, besides: int | None = None) -> list[str]:
    return [str(c) for c in emu.calls() if c.status not in (200, 0) and c.chat_id != besides
            and c.method != "getUpdates"]  # fmt: skip


async def test_every_kind_of_message_fits_however_long_the_inputs(
    db: Database, tmp_path: Path
) -> None:
    w = await make_world(
        db,
        start=datetime(2027, 2, 15, 1, 0, tzinfo=UTC),  # Monday 08:00 in Bangkok
        tracking_since=datetime(2026, 10, 1, tzinfo=UTC),
        catalogue_file=long_titles_catalogue(tmp_path),
    )
    everyone = {
        "all": (1001, PREPARING),
        "chief": (1002, ("head_of_office",)),
        "clerk": (1003, ("admin_officer",)),
        "head": (1005, ("head",)),
    }
    for key, (tg, roles) in everyone.items():
        await w.add(key, NAME, tg, *roles)
    await w.add("admin", NAME, 900, admin=True)
    await materialise(w.ctx, w.clock.now())
    async with db.transaction() as s:
        link = await s.get(OrgRole, (w.org.id, "policy_analyst"))
        assert link is not None
        link.group_chat_id = GROUP["id"]
    preparer, chief, clerk, head, admin = (User(t, "x") for t in (1001, 1002, 1003, 1005, 900))
    reason = ("เหตุผล😀" * 200)[:MAX_NOTE_LENGTH]
    url = "https://www.bangsaipa.go.th/ita/" + "😀" * (MAX_URL_LENGTH - 32)
    assert len(url) == MAX_URL_LENGTH and utf16_len(url) > 3900

    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        async with chat_harness(w, emu) as h:
            # the morning's reminders: the preparer's, the group's, the head's escalation
            w.clock.advance(hours=1)
            sent = await h.tick()
            mine = [c for c in sent if c.chat_id == preparer.id]
            async with db.transaction() as s:
                due = set(await s.scalars(select(Occurrence.code).where(
                    Occurrence.status == OccStatus.OPEN.value,
                    Occurrence.current_role.in_(PREPARING), Occurrence.last_reminded_at.is_not(None))))  # fmt: skip
            assert len(mine) >= 6 and len(due) >= 20
            listed = {b.split(" ")[-1] for m in mine for b in buttons(m)}
            assert due <= listed  # every item reminded, each with its own buttons
            assert all(m.params["text"].rstrip().endswith("”") for m in mine)  # never cut off
            assert any(c.chat_id == GROUP["id"] for c in sent)
            assert any(
                "เลยกำหนดเกิน" in str(c.params.get("text")) for c in sent if c.chat_id == head.id
            )

            # the chain, with the longest names, reasons and URL
            o10 = next(b for m in mine for label, b in buttons(m).items() if label == "✅ O10")
            await h.press_data(preparer, o10)
            back = o10.replace("d:", "b:").replace("prepare", "collect")
            await h.press_data(chief, back)
            too_long = text_of(await h.say(chief, reason + "ก"))
            assert "ยาวเกินไป" in too_long and "๕๐๐" in too_long
            assert "ส่งกลับ" in text_of(await h.say(chief, reason))
            notice = text_of(await h.deliver())
            assert "เหตุผล" in notice  # the sent-back notice reached the preparer
            await h.press_data(preparer, o10)
            await h.press_data(chief, o10.replace("prepare", "collect"))
            assert "ยาวเกินไป" in text_of(await h.say(clerk, "/done O10 " + url + "x"))
            assert "เผยแพร่แล้ว" in text_of(await h.say(clerk, "/done O10 " + url))
            na = next(b for m in mine for label, b in buttons(m).items() if label.startswith("➖"))
            await h.press_data(preparer, na)
            assert "ไม่มีในรอบนี้" in text_of(await h.say(preparer, reason))
            _, alert = await h.press_data(clerk, na)  # refused: the answer names long holders
            assert alert and utf16_len(alert[0].params["text"]) <= 200

            # everything anyone can ask for, with those names and that URL in it
            for who, text in [(head, "/status"), (head, "/digest"), (head, "/report"),
                              (admin, "/people"), (admin, "/item O10"), (preparer, "/tasks all"),
                              (preparer, "/item O12"), (admin, "/help"), (admin, "/deactivate"),
                              (User(4242, "x"), "/tasks"), (preparer, "/start")]:  # fmt: skip
                assert await h.say(who, text), text
            [choose] = await h.say(admin, "/invite")
            [invite] = (await h.press(admin, choose, buttons(choose)["นิติกร"]))[0]
            code = invite.params["text"].split("start=")[1].split()[0]
            newcomer = {"id": 3001, "is_bot": False, "first_name": HALF, "last_name": HALF}
            await h.handled(emu.user_message(newcomer, f"/start {code}"))
            await emu.await_calls(1, method="sendMessage", chat_id=3001)

            # the next morning: the preparer has blocked the bot; the head is told
            emu.block_chat(preparer.id)
            w.clock.advance(days=1)
            await h.tick()
            await h.tick()
            assert "ส่งข้อความถึง" in text_of(emu.sent_messages(head.id))

    assert refused(emu, besides=preparer.id) == []
    async with db.transaction() as s:
        lost = list(await s.scalars(select(Outbox).where(
            Outbox.status.not_in([OutboxStatus.SENT.value, OutboxStatus.CANCELLED.value]),
            Outbox.chat_id != preparer.id)))  # fmt: skip
        assert [(o.kind, o.last_error) for o in lost] == []
        cut = list(await s.scalars(select(Outbox.kind).where(Outbox.text.endswith(ELLIPSIS))))
    assert "reminder" not in cut  # reminders are split, never shortened
    for c in emu.sent_messages():
        assert utf16_len(str(c.params.get("text") or c.params.get("caption") or "")) <= 4096
