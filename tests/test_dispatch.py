"""Delivery through the outbox, against the local Bot API emulator over real HTTP."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.domain import OutboxStatus
from bot.services.context import AppContext
from bot.services.dispatch import Dispatcher
from bot.services.outbox import Attachment, enqueue
from bot.store.db import Database
from bot.store.models import Outbox, Person
from bot.telegram.transport import transport_of
from tests.support.botapi import BotApiEmulator
from tests.support.telegram import running_app
from tests.support.world import World, staff_world

pytestmark = pytest.mark.postgres  # claims and leases are conditional UPDATEs


async def put(
    w: World, n: int, *, chat_base: int = 5000, person: Person | None = None
) -> list[int]:
    ids = []
    async with w.ctx.db.transaction() as s:
        for i in range(n):
            chat = person.chat_id if person is not None else chat_base + i
            new = await enqueue(
                s,
                chat_id=chat or 0,
                kind="test",
                dedupe_key=f"t:{chat_base}:{i}",
                text=f"ข้อความ {i}",
                now=w.clock.now(),
                org_id=w.org.id,
                person_id=person.id if person else None,
                reply_markup={
                    "inline_keyboard": [[{"text": "✅ O10", "callback_data": "d:1:prepare"}]]
                },
            )
            assert new is not None
            ids.append(new)
    return ids


async def statuses(db: Database) -> dict[int, str]:
    async with db.transaction() as s:
        return {r.id: r.status for r in await s.scalars(select(Outbox))}


async def test_outbox_rows_are_sent_once_with_their_buttons(
    db: Database, emulator: BotApiEmulator
) -> None:
    w = await staff_world(db)
    ids = await put(w, 5)
    async with running_app(w, emulator) as app:
        stats = await Dispatcher(w.ctx, transport_of(app)).run()
        again = await Dispatcher(w.ctx, transport_of(app)).run()
    assert stats.sent == 5 and again.claimed == 0
    sent = emulator.sent_messages()
    assert sorted(c.chat_id or 0 for c in sent) == [5000, 5001, 5002, 5003, 5004]
    assert sent[0].params["reply_markup"]["inline_keyboard"][0][0]["text"] == "✅ O10"
    assert set((await statuses(db)).values()) == {"sent"}
    async with db.transaction() as s:
        row = await s.get(Outbox, ids[0])
        assert row is not None and row.telegram_message_id is not None and row.attempts == 1


async def test_files_go_with_their_message(db: Database, emulator: BotApiEmulator) -> None:
    w = await staff_world(db)
    async with db.transaction() as s:
        await enqueue(
            s,
            chat_id=777,
            kind="digest",
            dedupe_key="d1",
            text="สรุป",
            now=w.clock.now(),
            files=[
                Attachment("photo", "chart.png", b"\x89PNG fake", "กราฟ"),
                Attachment("document", "report.xlsx", b"PK fake", None),
            ],
        )
    async with running_app(w, emulator) as app:
        assert (await Dispatcher(w.ctx, transport_of(app)).run()).sent == 1
    methods = [c.method for c in emulator.sent_messages(777)]
    assert methods == ["sendMessage", "sendPhoto", "sendDocument"]
    doc = emulator.sent_messages(777)[2]
    assert doc.files and next(iter(doc.files.values())) == b"PK fake"


async def test_429_pauses_every_send_and_the_row_is_retried(db: Database) -> None:
    w = await staff_world(db)
    await put(w, 3)
    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        emu.fail_next("429", chat_id=5001, retry_after=7)
        async with running_app(w, emu) as app:
            stats = await Dispatcher(w.ctx, transport_of(app)).run()
        calls = emu.calls("sendMessage")
    assert stats.rate_limited == 1 and stats.sent == 3
    assert [(c.chat_id, c.status) for c in calls] == [
        (5000, 200),
        (5001, 429),
        (5002, 200),
        (5001, 200),
    ]
    # nothing at all was sent during the 7 s the server asked for
    assert calls[2].at - calls[1].at >= 7
    async with db.transaction() as s:
        row = await s.get(Outbox, 2)
        assert row is not None and row.status == "sent" and row.attempts == 1


async def test_5xx_and_timeouts_retry_with_backoff(db: Database, emulator: BotApiEmulator) -> None:
    w = await staff_world(db)
    await put(w, 2)
    emulator.fail_next("5xx", chat_id=5000, count=2)
    emulator.fail_next("timeout", chat_id=5001)
    async with running_app(w, emulator, request_timeout_seconds=0.3) as app:
        d = Dispatcher(w.ctx, transport_of(app))
        stats = await d.run()
        assert stats.retried == 2 and stats.sent == 0
        async with db.transaction() as s:
            rows = {r.chat_id: r for r in await s.scalars(select(Outbox))}
        assert rows[5000].next_attempt_at == w.clock.now() + timedelta(seconds=5)
        assert "Bad Gateway" in (rows[5000].last_error or "")
        w.clock.advance(5)
        stats = await d.run()
        assert stats.sent == 1 and stats.retried == 1  # 5001 went through, 5000 failed again
        w.clock.advance(10)
        assert (await d.run()).sent == 1
    assert set((await statuses(db)).values()) == {"sent"}


async def test_blocked_person_is_marked_inactive_and_the_head_is_told(
    db: Database, emulator: BotApiEmulator
) -> None:
    w = await staff_world(db)
    analyst = w.people["analyst"]
    await put(w, 2, person=analyst, chat_base=9000)
    emulator.block_chat(analyst.chat_id or 0)
    async with running_app(w, emulator) as app:
        d = Dispatcher(w.ctx, transport_of(app))
        stats = await d.run()
    assert stats.failed == 1  # the second row is cancelled, not retried forever
    async with db.transaction() as s:
        p = await s.get(Person, analyst.id)
        assert p is not None and not p.active and "blocked" in (p.inactive_reason or "")
        rows = list(await s.scalars(select(Outbox).order_by(Outbox.id)))
    assert [r.status for r in rows[:2]] == [OutboxStatus.FAILED.value, OutboxStatus.CANCELLED.value]
    told = [r for r in rows if r.kind == "unreachable"]
    assert len(told) == 1 and told[0].person_id == w.people["head"].id
    assert "สมชาย วิเคราะห์" in told[0].text and "นักวิเคราะห์นโยบายและแผน" in told[0].text
    assert (
        len(emulator.calls("sendMessage", chat_id=analyst.chat_id)) == 1
    )  # tried once, never again
    head_msgs = emulator.sent_messages(w.people["head"].chat_id)
    assert len(head_msgs) == 1 and "สมชาย" in head_msgs[0].params["text"]


async def test_a_killed_dispatcher_resends_what_it_left_in_flight(
    db: Database, emulator: BotApiEmulator
) -> None:
    w = await staff_world(db)
    [row_id] = await put(w, 1)
    async with running_app(w, emulator) as app:
        d = Dispatcher(w.ctx, transport_of(app))
        assert await d.claim(row_id, w.clock.now())  # … and the process dies before sending
        assert (await statuses(db))[row_id] == "sending"
        other = Dispatcher(w.ctx, transport_of(app))
        other.worker = "another-host"
        assert (await other.run()).claimed == 0  # somebody else's lease is respected
        assert (
            await Dispatcher(w.ctx, transport_of(app)).run()
        ).sent == 1  # the restarted worker recovers it
    assert len(emulator.sent_messages()) == 1


async def test_two_dispatchers_never_send_the_same_row(
    db: Database, emulator: BotApiEmulator
) -> None:
    w = await staff_world(db)
    await put(w, 60)
    second_db = Database(
        db.url, schema=getattr(db, "test_handle", None) if db.dialect == "postgresql" else None
    )
    ctx2 = AppContext(
        settings=w.ctx.settings.model_copy(update={"worker_id": "second"}),
        clock=w.clock,
        db=second_db,
    )
    try:
        async with running_app(w, emulator) as app:
            a = Dispatcher(w.ctx, transport_of(app))
            b = Dispatcher(ctx2, transport_of(app))
            sa, sb = await asyncio.gather(a.run(), b.run())
    finally:
        await second_db.dispose()
    chats = [c.chat_id or 0 for c in emulator.sent_messages()]
    assert sorted(chats) == list(range(5000, 5060))  # every row exactly once
    assert sa.sent + sb.sent == 60
