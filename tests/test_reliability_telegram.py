"""Telegram away (issue 15): outages of 15 and 60 minutes, and a ``retry_after`` longer than the
lease with two workers.  Nothing is failed, everything queued arrives exactly once after, the
retries back off to the 5-minute cap (``OUTBOX_RETRY_MAX_SECONDS``), and neither the log nor
``health`` tells anything but the truth.

The bot is the application ``python -m bot run`` builds, talking real HTTP to the emulator,
on a fake clock the emulator shares: hours of outage cost no real waiting."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
from telegram.ext import Application

from bot.clock import FakeClock
from bot.services.dispatch import Dispatcher
from bot.services.outbox import enqueue
from bot.store.db import Database
from bot.telegram.transport import transport_of
from bot.web import health_report
from tests.support.botapi import BotApiEmulator, FaultKind
from tests.support.processes import arrivals
from tests.support.telegram import running_app
from tests.support.waves import Wave, next_due, outcome
from tests.support.world import World, staff_world

App = Application[Any, Any, Any, Any, Any, Any]
#: Telegram away: every send and every ``getMe`` refused, as a failing proxy or network would.
AWAY: tuple[FaultKind, ...] = ("500", "5xx", "drop")
NOTICES = range(7000, 7003)  # one-time notices (an invite accepted), beside the reminders
CAP = 300  # OUTBOX_RETRY_MAX_SECONDS' default


async def ride(w: World, dispatcher: Dispatcher, until: datetime) -> None:
    """Send and retry until ``until``, the fake clock jumping to each retry."""
    while True:
        await dispatcher.run()
        due = await next_due(w.ctx.db)
        if due is None or due > until:
            w.clock.set(max(until, w.clock.now()))
            return
        w.clock.set(max(due, w.clock.now()))


async def health(w: World, app: App) -> dict[str, dict[str, Any]]:
    """``GET /health``'s report, by check name."""
    import json

    _, report = await health_report(w.ctx, app.bot)
    return {c["name"]: c for c in json.loads(report)["checks"]}


async def queue_notices(w: World) -> None:
    async with w.ctx.db.transaction() as s:
        for chat in NOTICES:
            await enqueue(s, chat_id=chat, kind="notice", dedupe_key=f"notice:{chat}",
                          text=f"ยินดีต้อนรับ {chat}", now=w.clock.now(), org_id=w.org.id)  # fmt: skip


@pytest.mark.parametrize("minutes", [15, 60])
async def test_a_telegram_outage_loses_nothing_and_sends_nothing_twice(
    sqlite_db: Database, minutes: int, caplog: pytest.LogCaptureFixture
) -> None:
    # one database: what is under test is the sender's answer to Telegram (test_dispatch and
    # the crash and outage tests run on both)
    w = await staff_world(sqlite_db)
    wave = Wave(w)
    await wave.add(20)
    await queue_notices(w)
    chats = wave.chats | set(NOTICES)
    with BotApiEmulator(clock=w.clock.monotonic) as emu, caplog.at_level(logging.INFO):
        async with running_app(w, emu) as app:
            dispatcher = Dispatcher(w.ctx, transport_of(app))
            emu.random_faults(1.0, kinds=AWAY, methods=("sendMessage", "getMe"), seed=15)
            began = w.clock.now()
            await ride(w, dispatcher, began + timedelta(minutes=minutes))
            assert await outcome(sqlite_db) == Counter({"pending": len(chats)})  # none given up
            during = await health(w, app)
            emu.random_faults(0)  # Telegram is back
            back = w.clock.now()
            await ride(w, dispatcher, back + timedelta(seconds=CAP))  # within one capped wait
            after = await health(w, app)
    assert await outcome(sqlite_db) == Counter({"sent": len(chats)})
    assert arrivals(emu, chats) == Counter(dict.fromkeys(chats, 1))  # each exactly once
    for chat in chats:
        tries = [c.at for c in emu.calls("sendMessage", chat)]
        gaps = [round(b - a) for a, b in itertools.pairwise(tries)]
        assert gaps == sorted(gaps) and max(gaps) <= CAP, gaps  # backing off, up to the cap
        assert gaps[-2:] == [CAP, CAP], gaps  # and on at the cap, up to the end
        assert len(tries) >= minutes * 60 // CAP
    # health says Telegram is away while it is, and nothing is wrong after
    assert not during["telegram"]["ok"] and during["telegram"]["detail"].startswith("unreachable")
    assert after["telegram"]["ok"] and after["outbox"]["detail"] == "nothing waiting"
    # and the log has no message failed nor a traceback, however many tries failed
    trouble = [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert not [r for r in trouble if r.name.startswith("bot.")], [r.getMessage() for r in trouble]


class PacedClock(FakeClock):
    """A fake clock whose waits take a little real time (a second of it: a millisecond), so
    that another worker gets to run while one waits out a pause."""

    async def sleep(self, seconds: float) -> None:
        self.advance(max(seconds, 0))
        await asyncio.sleep(min(max(seconds, 0), 1.0) / 1000)


async def test_a_retry_after_longer_than_the_lease_with_two_workers_sends_no_row_twice(
    sqlite_db: Database,
) -> None:
    """Worker A is told to wait 400 s, longer than the 300 s lease; worker B, another process,
    keeps sending meanwhile and takes back every lease that expired.  A waits out the pause
    with no row claimed, so B never finds one of A's rows "left in flight": no row is sent
    twice, and the refused row goes out once, after the pause."""
    w = await staff_world(sqlite_db)
    w.clock = w.ctx.clock = PacedClock(w.clock.now())
    wave = Wave(w)
    await wave.add(12)
    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        emu.fail_next("429", method="sendMessage", retry_after=400)
        async with running_app(w, emu) as app_a, running_app(w, emu) as app_b:
            settings_b = w.ctx.settings.model_copy(update={"worker_id": "worker-b"})
            a = Dispatcher(w.ctx, transport_of(app_a))
            b = Dispatcher(dataclasses.replace(w.ctx, settings=settings_b), transport_of(app_b))
            assert a.worker != b.worker
            waiting = asyncio.create_task(a.run())
            async with asyncio.timeout(30):
                await emu.await_calls(1, method="sendMessage")  # A's 429: it waits it out
                while await next_due(sqlite_db) is not None:  # B, meanwhile and after
                    await b.run()  # each pass begins by taking back expired leases
                    due = await next_due(sqlite_db)
                    if due is not None:
                        w.clock.set(max(due, w.clock.now()))
                await waiting
                await a.run()
    assert emu.too_many_requests == 1
    assert await outcome(sqlite_db) == Counter({"sent": 12})
    assert arrivals(emu, wave.chats) == Counter(dict.fromkeys(wave.chats, 1))
    [refused] = [c for c in emu.calls("sendMessage") if c.status == 429]
    assert refused.chat_id is not None
    [sent] = emu.sent_messages(refused.chat_id)
    assert sent.at - refused.at >= 400  # its retry_after was honoured
    during = [c for c in emu.sent_messages() if refused.at < c.at < refused.at + 400]
    assert during  # by B: A was waiting, with no row claimed
