"""Evidence links end to end: the application built as ``run`` builds it, the Bot API
emulator, and a local web site.  At publish time a link is checked before the publisher
is thanked; a failing one gets a warning with "check again" and "keep it anyway"."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import select

from bot.domain.fiscal import fiscal_year
from bot.store.db import Database
from bot.store.models import EvidenceLink, LinkCheck, Occurrence, Outbox, StageEvent
from tests.support.botapi import BotApiEmulator
from tests.support.chat import Harness, User, buttons, chat_harness, text_of
from tests.support.websites import DRIVE, OFFICE, Website, running_website
from tests.support.world import World, chat_world

CLERK = User(1003, "สมศรี")


async def at_publish(db: Database, w: World, *codes: str) -> dict[str, int]:
    """Put these items' first occurrences at the publish stage (the clerk publishes)."""
    ids = {}
    async with db.transaction() as s:
        for code in codes:
            occ = await s.scalar(
                select(Occurrence)
                .where(
                    Occurrence.code == code, Occurrence.fiscal_year == fiscal_year(w.ctx.today())
                )
                .order_by(Occurrence.due_date)
            )
            assert occ is not None
            occ.stage, occ.current_role, occ.current_due = (
                "publish",
                "admin_officer",
                occ.publish_due,
            )
            occ.status = "open"
            ids[code] = occ.id
    return ids


@asynccontextmanager
async def office(db: Database, **extra: Any) -> AsyncIterator[tuple[World, Website, Harness]]:
    with running_website() as site:
        w = await chat_world(db, **{**site.settings(), "link_check_on_publish": True, **extra})
        with BotApiEmulator(clock=w.clock.monotonic) as emu:
            async with chat_harness(w, emu) as h:
                yield w, site, h


async def test_a_live_link_is_checked_then_the_publisher_is_thanked(db: Database) -> None:
    async with office(db) as (w, site, h):
        ids = await at_publish(db, w, "O10")
        url = site.url(OFFICE, "/ita/o10")
        said = text_of(await h.say(CLERK, f"/done O10 {url}"))
        assert "เผยแพร่แล้ว" in said and "ลิงก์เปิดได้" in said and url in said, said
        assert [(x.method, x.path) for x in site.hits] == [
            ("HEAD", "/ita/o10"),
            ("GET", "/ita/o10"),
        ]
        # /item shows the proof: first seen live, and the last check
        item = text_of(await h.say(CLERK, "/item O10"))
        assert url in item and "เห็นออนไลน์ครั้งแรก ๒๖ พ.ย. ๒๕๖๙ ๑๐:๐๐" in item, item
        assert "ตรวจล่าสุด ๒๖ พ.ย. ๒๕๖๙ ๑๐:๐๐: เปิดได้" in item
    async with db.transaction() as s:
        occ = await s.get(Occurrence, ids["O10"])
        assert occ is not None and occ.status == "done" and occ.evidence_url == url
        link = await s.scalar(select(EvidenceLink).where(EvidenceLink.url == url))
        assert link is not None and link.state == "live" and link.http_status == 200
        assert link.first_live_at is not None and link.first_live_at <= w.clock.now()
        assert link.body_hash
        [check] = await s.scalars(select(LinkCheck).where(LinkCheck.link_id == link.id))
        assert check.trigger == "publish" and check.live and check.body_hash == link.body_hash
        # the thanks is the publisher's confirmation, queued with the publication (issue 15)
        [thanks] = await s.scalars(select(Outbox).where(Outbox.kind == "confirm"))
        assert thanks.dedupe_key.endswith(":then") and "เผยแพร่แล้ว" in thanks.text


async def test_a_failing_link_gets_a_warning_a_retry_and_may_be_kept(db: Database) -> None:
    async with office(db) as (w, site, h):
        ids = await at_publish(db, w, "O10", "O12")
        url = site.url(OFFICE, "/ita/o10")
        site.pages[(OFFICE, "/ita/o10")].status = 404
        [warn] = await h.say(CLERK, f"/done O10 {url}")
        text = warn.params["text"]
        assert "ยังเปิดไม่ได้" in text and "HTTP ๔๐๔" in text and url in text, text
        assert set(buttons(warn)) == {"🔄 ตรวจอีกครั้ง", "📌 ใช้ลิงก์นี้"}
        # the buttons speak the versioned codec; forged ones are out of date and change nothing
        assert set(buttons(warn).values()) == {f"1:lr:{ids['O10']}", f"1:lk:{ids['O10']}"}
        for forged in ("1:lk:abc", "9:lk:1", f"1:lk:{ids['O10']}:x", "lk:" + "9" * 19):
            _, answers = await h.press_data(CLERK, forged)
            assert "ปุ่มนี้ใช้ไม่ได้แล้ว" in answers[0].params["text"], forged
        _, answers = await h.press_data(CLERK, f"1:lk:{ids['O12']}")  # no link waits for O12
        assert "ไม่มีลิงก์ที่รอตรวจ" in answers[0].params["text"]
        async with db.transaction() as s:
            occ = await s.get(Occurrence, ids["O10"])
            assert occ is not None and occ.stage == "publish" and occ.evidence_url is None

        # still broken: the same warning; repaired: published, and thanked
        msgs, _ = await h.press(CLERK, warn, buttons(warn)["🔄 ตรวจอีกครั้ง"])
        assert "ยังเปิดไม่ได้" in text_of(msgs)
        site.pages[(OFFICE, "/ita/o10")].status = 200
        msgs, _ = await h.press(CLERK, msgs[-1], buttons(msgs[-1])["🔄 ตรวจอีกครั้ง"])
        assert "ลิงก์เปิดได้" in text_of(msgs)
        # the old warning's buttons now change nothing
        _, answers = await h.press(CLERK, warn, buttons(warn)["📌 ใช้ลิงก์นี้"])
        assert "ไม่มีลิงก์ที่รอตรวจ" in answers[0].params["text"]

        # a Google Drive file that is not shared: the publisher keeps it anyway
        drive = site.url(DRIVE, "/file/d/abc/view")
        [warn] = await h.say(CLERK, f"/done O12 {drive}")
        assert "เข้าสู่ระบบหรือขอสิทธิ์" in warn.params["text"]
        msgs, _ = await h.press(CLERK, warn, buttons(warn)["📌 ใช้ลิงก์นี้"])
        assert "ตามที่ยืนยัน" in text_of(msgs)
    async with db.transaction() as s:
        o12 = await s.get(Occurrence, ids["O12"])
        assert o12 is not None and o12.status == "done" and o12.evidence_url == drive
        ev = await s.scalar(
            select(StageEvent).where(
                StageEvent.occurrence_id == o12.id, StageEvent.action == "publish"
            )
        )
        assert ev is not None and ev.note == "link_kept"
        link = await s.scalar(select(EvidenceLink).where(EvidenceLink.url == drive))
        assert link is not None and link.state == "dead" and link.reason == "login"
        assert link.first_live_at is None
        triggers = list(
            await s.scalars(
                select(LinkCheck.trigger)
                .join(EvidenceLink, EvidenceLink.id == LinkCheck.link_id)
                .where(EvidenceLink.url == url)
                .order_by(LinkCheck.id)
            )
        )
        assert triggers == ["publish", "retry", "retry"]
