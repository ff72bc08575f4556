"""Floods and slow chats: updates run concurrently across chats and in order within one,
each sender is rate-limited, and a flood from one stranger never makes a colleague wait."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from telegram import Update

from bot.clock import FakeClock
from bot.store.db import Database
from bot.telegram.updates import ChatOrderedProcessor, SenderGate
from tests.support.botapi import BotApiEmulator
from tests.support.chat import User, chat_harness, text_of
from tests.support.world import STRANGER_TG, chat_world

ANALYST = User(1001, "สมชาย")


def message(n: int, user: int, chat: int) -> Update:
    return Update.de_json(
        {"update_id": n, "message": {"message_id": n, "date": 0, "text": "x",
         "chat": {"id": chat, "type": "private" if chat > 0 else "group", "title": "g"},
         "from": {"id": user, "is_bot": False, "first_name": "x"}}},
        None,
    )  # fmt: skip


async def settle() -> None:
    """Let every runnable task run (no clock involved)."""
    for _ in range(50):
        await asyncio.sleep(0)


def open_gate() -> SenderGate:
    async def anyone(uid: int) -> bool:
        return True

    return SenderGate(FakeClock(datetime(2026, 11, 26, tzinfo=UTC)), anyone, 10**6, 10**6)


async def test_other_chats_go_on_while_one_chat_waits_and_a_chat_keeps_its_order() -> None:
    processor = ChatOrderedProcessor(open_gate(), workers=2)
    done: list[str] = []
    release = asyncio.Event()

    async def work(tag: str, *, slow: bool = False) -> None:
        if slow:
            await release.wait()
        done.append(tag)

    jobs = [
        (message(1, 7, 7), work("A1", slow=True)),  # a slow handler in chat A
        (message(2, 7, 7), work("A2")),  # must wait for A1
        (message(3, 8, 8), work("B1")),  # another chat: not held up
        (message(4, 9, -5), work("G1")),  # a group
    ]
    tasks = [asyncio.create_task(processor.process_update(u, c)) for u, c in jobs]
    await settle()
    assert done == ["B1", "G1"]
    release.set()
    await asyncio.gather(*tasks)
    assert done == ["B1", "G1", "A1", "A2"]


async def test_concurrency_is_bounded_but_not_by_a_waiting_chat() -> None:
    processor = ChatOrderedProcessor(open_gate(), workers=2)
    running: set[int] = set()
    peak = 0
    release = asyncio.Event()

    async def work(chat: int) -> None:
        nonlocal peak
        running.add(chat)
        peak = max(peak, len(running))
        await release.wait()
        running.discard(chat)

    # 30 updates queued in one chat take no worker slot while they wait their turn
    tasks = [asyncio.create_task(processor.process_update(message(i, 7, 7), work(7)))
             for i in range(30)]  # fmt: skip
    tasks += [asyncio.create_task(processor.process_update(message(100 + c, c, c), work(c)))
              for c in (8, 9, 10)]  # fmt: skip
    await settle()
    assert running == {7, 8} and peak == 2  # chat 7's first update, and chat 8
    release.set()
    await asyncio.gather(*tasks)
    assert peak == 2


async def test_each_sender_is_limited_per_minute_and_strangers_more_tightly() -> None:
    clock = FakeClock(datetime(2026, 11, 26, tzinfo=UTC))
    looked_up: list[int] = []

    async def registered(uid: int) -> bool:
        looked_up.append(uid)
        return uid == 1001

    gate = SenderGate(clock, registered, stranger_per_minute=20, staff_per_minute=60)
    stranger = [await gate.admit(STRANGER_TG) for _ in range(60)]
    staff = [await gate.admit(1001) for _ in range(70)]
    assert sum(stranger) == 20 and stranger[:20] == [True] * 20
    assert sum(staff) == 60 and gate.dropped == 50
    assert looked_up.count(STRANGER_TG) == 1 and looked_up.count(1001) == 1  # remembered
    clock.advance(seconds=30)
    assert not await gate.admit(STRANGER_TG)  # still within the minute
    clock.advance(seconds=31)
    assert await gate.admit(STRANGER_TG)  # the window slid on
    assert await gate.admit(None)  # updates without a sender are not limited


async def test_a_flood_from_a_stranger_does_not_hold_up_a_colleague(db: Database) -> None:
    w = await chat_world(db)
    stranger = {"id": STRANGER_TG, "is_bot": False, "first_name": "flood"}
    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        async with chat_harness(w, emu) as h:
            assert isinstance(h.app.update_processor, ChatOrderedProcessor)
            assert h.app.concurrent_updates > 1
            t0 = w.clock.monotonic()
            for i in range(60):
                emu.user_message(stranger, f"สวัสดี {i}")
            colleague = emu.user_message(ANALYST.as_dict(), "/tasks")
            await h._handled(colleague["update_id"])
            await h.app.update_queue.join()  # every update taken, handled or dropped
            [reply] = emu.sent_messages(ANALYST.id)
            # one reply per second and chat: 60 answers in turn would have taken 59 s
            assert reply.at - t0 < 25
            assert len(emu.sent_messages(STRANGER_TG)) == 20  # the excess was dropped quietly


async def test_one_chat_is_answered_in_the_order_it_wrote(db: Database) -> None:
    w = await chat_world(db)
    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        async with chat_harness(w, emu) as h:
            for text in ("/lang en", "/help", "/lang th", "/help"):
                last: dict[str, Any] = emu.user_message(ANALYST.as_dict(), text)
            await h._handled(last["update_id"])
            said = [c.params["text"] for c in emu.sent_messages(ANALYST.id)]
            assert len(said) == 4
            assert said[1].startswith("🤖 ITA disclosure bot") and said[3].startswith("🤖 บอท")
            assert "English" in text_of(emu.sent_messages(ANALYST.id)[:1])


async def test_the_gate_forgets_idle_senders() -> None:
    from bot.telegram import updates

    clock = FakeClock(datetime(2026, 11, 26, tzinfo=UTC))

    async def nobody(uid: int) -> bool:
        return False

    gate = SenderGate(clock, nobody)
    for uid in range(updates.MAX_SENDERS + 1):
        await gate.admit(uid)
    clock.advance(seconds=61)
    await gate.admit(-1)
    assert len(gate._seen) == 1
