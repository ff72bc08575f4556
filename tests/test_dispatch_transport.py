"""The dispatcher over a channel that is not Telegram (tests/support/fake_transport.py): it
sends texts with buttons and files, and does what each outcome asks — so it needs nothing
Telegram-specific, and a second channel is a second transport."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import select, update

import bot.services.dispatch
from bot.domain import OutboxStatus
from bot.services.dispatch import Dispatcher
from bot.services.outbox import Attachment, enqueue
from bot.services.transport import (
    Button,
    Migrated,
    OutgoingFile,
    Permanent,
    Rejected,
    RetryAfter,
    Transient,
)
from bot.store.db import Database
from bot.store.models import OrgRole, Outbox, Person
from tests.support.fake_transport import FakeTransport
from tests.support.world import World, staff_world

pytestmark = pytest.mark.postgres  # claims are conditional UPDATEs

MARKUP = {
    "inline_keyboard": [
        [{"text": "✅ O10", "callback_data": "d:1:prepare"}],
        [{"text": "เว็บไซต์", "url": "https://example.go.th/ita"}],
    ]
}


async def put(w: World, chats: list[int], *, person: Person | None = None) -> list[int]:
    ids = []
    async with w.ctx.db.transaction() as s:
        for i, chat in enumerate(chats):
            new = await enqueue(
                s,
                chat_id=chat,
                kind="test",
                dedupe_key=f"t:{chat}:{i}",
                text=f"ข้อความ {i}",
                now=w.clock.now(),
                org_id=w.org.id,
                person_id=person.id if person else None,
                reply_markup=MARKUP,
            )
            assert new is not None
            ids.append(new)
    return ids


async def rows(db: Database) -> dict[int, Outbox]:
    async with db.transaction() as s:
        return {r.id: r for r in await s.scalars(select(Outbox).order_by(Outbox.id))}


def test_the_dispatcher_does_not_import_telegram() -> None:
    tree = ast.parse(Path(bot.services.dispatch.__file__).read_text(encoding="utf-8"))
    imported = [
        name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in (
            [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
        )
    ]
    assert imported and not [n for n in imported if n.split(".")[0] == "telegram"]


async def test_texts_with_buttons_and_files_are_sent_once(db: Database) -> None:
    w = await staff_world(db)
    [row_id] = await put(w, [5000])
    async with db.transaction() as s:
        await enqueue(s, chat_id=777, kind="digest", dedupe_key="d1", text="สรุป",
                      now=w.clock.now(), files=[Attachment("photo", "chart.png", b"PNG", "กราฟ"),
                                                Attachment("document", "r.xlsx", b"PK", None)])  # fmt: skip
    fake = FakeTransport(w.clock)
    stats = await Dispatcher(w.ctx, fake).run()
    assert stats.sent == 2 and (await Dispatcher(w.ctx, fake).run()).claimed == 0
    [text] = fake.to(5000)
    assert text.text == "ข้อความ 0"
    assert text.buttons == (
        (Button("✅ O10", data="d:1:prepare"),),
        (Button("เว็บไซต์", url="https://example.go.th/ita"),),
    )
    digest = fake.to(777)
    assert [d.text for d in digest] == ["สรุป", None, None]
    assert [d.file for d in digest[1:]] == [
        OutgoingFile("photo", "chart.png", b"PNG", "กราฟ"),
        OutgoingFile("document", "r.xlsx", b"PK", None),
    ]
    row = (await rows(db))[row_id]
    assert row.status == "sent" and row.telegram_message_id == text.message_id


async def test_a_file_that_fails_is_sent_again_without_its_text(db: Database) -> None:
    w = await staff_world(db)
    async with db.transaction() as s:
        await enqueue(s, chat_id=777, kind="digest", dedupe_key="d1", text="สรุป",
                      now=w.clock.now(), files=[Attachment("document", "r.xlsx", b"PK", None)])  # fmt: skip
    fake = FakeTransport(w.clock)
    fake.script(777, None, Transient("Timed out"))  # the text goes, the file does not
    d = Dispatcher(w.ctx, fake)
    assert (await d.run()).retried == 1
    w.clock.advance(5)
    assert (await d.run()).sent == 1
    assert [x.text or (x.file and x.file.filename) for x in fake.to(777)] == ["สรุป", "r.xlsx"]


async def test_retry_after_pauses_every_send_and_is_not_an_attempt(db: Database) -> None:
    w = await staff_world(db)
    ids = await put(w, [5000, 5001, 5002])
    fake = FakeTransport(w.clock)
    fake.script(5001, RetryAfter(7))
    start = w.clock.monotonic()
    stats = await Dispatcher(w.ctx, fake).run()
    assert stats.rate_limited == 1 and stats.sent == 3 and stats.failed == 0
    assert [(d.to, d.at - start) for d in fake.deliveries] == [(5000, 0), (5002, 7), (5001, 7)]
    row = (await rows(db))[ids[1]]
    assert row.status == "sent" and row.attempts == 1


async def test_transient_errors_back_off_and_never_exhaust_a_row(db: Database) -> None:
    w = await staff_world(db)
    [row_id] = await put(w, [5000])
    fake = FakeTransport(w.clock)
    fake.script(5000, *[Transient("Bad Gateway")] * 12)
    d = Dispatcher(w.ctx, fake)
    waits = []
    while not fake.deliveries:
        stats = await d.run()
        assert stats.failed == 0
        due = await d.next_due()
        if due is not None:
            waits.append((due - w.clock.now()).total_seconds())
            w.clock.set(due)
    assert waits == [5, 10, 20, 40, 80, 160, 300, 300, 300, 300, 300, 300]
    row = (await rows(db))[row_id]
    assert row.status == "sent" and row.attempts == 13 and row.last_error is None


async def test_a_permanent_refusal_stops_the_chat_and_tells_the_head(db: Database) -> None:
    w = await staff_world(db)
    analyst, head = w.people["analyst"], w.people["head"]
    assert analyst.chat_id is not None and head.chat_id is not None
    ids = await put(w, [analyst.chat_id, analyst.chat_id], person=analyst)
    fake = FakeTransport(w.clock)
    fake.script(analyst.chat_id, Permanent("Forbidden: bot was blocked by the user"))
    stats = await Dispatcher(w.ctx, fake).run()
    assert stats.failed == 1 and not fake.to(analyst.chat_id)
    got = await rows(db)
    assert [got[i].status for i in ids] == [OutboxStatus.FAILED, OutboxStatus.CANCELLED]
    async with db.transaction() as s:
        p = await s.get(Person, analyst.id)
        assert p is not None and not p.active and "blocked" in (p.inactive_reason or "")
    [told] = fake.to(head.chat_id)
    assert told.text is not None and "สมชาย วิเคราะห์" in told.text


async def test_a_rejected_message_fails_alone(db: Database) -> None:
    w = await staff_world(db)
    analyst = w.people["analyst"]
    assert analyst.chat_id is not None
    ids = await put(w, [analyst.chat_id, analyst.chat_id], person=analyst)
    fake = FakeTransport(w.clock)
    fake.script(analyst.chat_id, Rejected("Bad Request: can't parse entities"))
    stats = await Dispatcher(w.ctx, fake).run()
    assert stats.failed == 1 and stats.sent == 1
    got = await rows(db)
    assert [got[i].status for i in ids] == [OutboxStatus.FAILED, OutboxStatus.SENT]
    async with db.transaction() as s:
        p = await s.get(Person, analyst.id)
        assert p is not None and p.active


async def test_a_migrated_group_is_followed(db: Database) -> None:
    w = await staff_world(db)
    old, new = -1001, -1002
    async with db.transaction() as s:
        await s.execute(
            update(OrgRole)
            .where(OrgRole.org_id == w.org.id, OrgRole.role_key == "head")
            .values(group_chat_id=old)
        )
    ids = await put(w, [old, old])
    fake = FakeTransport(w.clock)
    fake.script(old, Migrated(new))
    stats = await Dispatcher(w.ctx, fake).run()
    assert stats.sent == 2 and stats.failed == 0
    assert [d.to for d in fake.deliveries] == [new, new]
    got = await rows(db)
    assert {got[i].chat_id for i in ids} == {new}
    async with db.transaction() as s:
        role = await s.get(OrgRole, (w.org.id, "head"))
        assert role is not None and role.group_chat_id == new


def test_the_telegram_transport_says_what_each_bot_api_error_means() -> None:
    from datetime import timedelta

    from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, TimedOut
    from telegram.error import NetworkError as TgNetworkError
    from telegram.error import RetryAfter as TgRetryAfter

    from bot.services.transport import BotUnusable
    from bot.telegram.transport import outcome_of

    assert outcome_of(TgRetryAfter(timedelta(seconds=7))) == RetryAfter(7)
    assert outcome_of(ChatMigrated(-1002)) == Migrated(-1002)
    assert isinstance(outcome_of(Forbidden("Forbidden: bot was blocked by the user")), Permanent)
    assert isinstance(outcome_of(BadRequest("Bad Request: chat not found")), Permanent)
    assert isinstance(outcome_of(BadRequest("Bad Request: can't parse entities")), Rejected)
    assert isinstance(outcome_of(TgNetworkError("Bad Gateway")), Transient)
    assert isinstance(outcome_of(TimedOut()), Transient)
    refused = outcome_of(InvalidToken("Unauthorized"))
    assert isinstance(refused, BotUnusable) and "BOT_TOKEN" in refused.reason
    # a proxy's error page that quotes the URL (and so the token) is not repeated
    page = "Not Found (404). Parsing the server response b'<p>/bot123:SECRET/sendMessage' failed"
    wrong_url = outcome_of(InvalidToken(page))
    assert isinstance(wrong_url, BotUnusable) and "TELEGRAM_API_BASE_URL" in wrong_url.reason
    assert "SECRET" not in wrong_url.reason
