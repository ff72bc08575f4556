"""Long polling confirms to Telegram only the updates that have been handled (issue 15 §3).

The real Application (as build_application makes it) polls the Bot API emulator over HTTP.
An update whose handling has not finished when the process goes away is not confirmed:
the next process fetches it again, and it is handled there once.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from telegram import Update
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.store.db import Database
from bot.telegram.polling import PollingBot, UpdateLedger
from tests.support.botapi import BotApiEmulator
from tests.support.telegram import running_app
from tests.support.world import make_world

ALICE = {"id": 7001, "is_bot": False, "first_name": "Alice"}
BOB = {"id": 7002, "is_bot": False, "first_name": "Bob"}

App = Application[Any, Any, Any, Any, Any, Any]


class Recorder:
    """A handler that counts what it handled; updates of a ``held`` text wait for ``go``."""

    def __init__(self, held: str | None = None, *, abandon: bool = False) -> None:
        self.abandon = abandon  # a held update is given up, as by a kill before its commit
        self.handled: Counter[int] = Counter()
        self.held = held
        self.go = asyncio.Event()

    async def __call__(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        msg = update.effective_message
        if self.held is not None and msg is not None and msg.text == self.held:
            await self.go.wait()
            if self.abandon:
                return
        self.handled[update.update_id] += 1


async def until(what: Any) -> None:
    """Poll for a condition (the real time it takes to handle an update, not the clock)."""
    async with asyncio.timeout(10):
        while not what():  # noqa: ASYNC110 - the ledger and counters have no event to await
            await asyncio.sleep(0.01)


def in_hand(app: App) -> frozenset[int]:
    assert isinstance(app.bot, PollingBot)
    return app.bot.ledger.in_hand


async def start(app: App, rec: Recorder) -> None:
    app.add_handler(TypeHandler(Update, rec), group=-1)
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0, timeout=2)
    await app.start()


async def stop(app: App) -> None:
    assert app.updater is not None
    await app.updater.stop()  # its last getUpdates confirms what it may
    await app.stop()


def test_the_ledger_holds_the_offset_at_the_lowest_update_in_hand() -> None:
    ledger = UpdateLedger()

    def upd(i: int) -> Update:
        return Update(update_id=i)

    assert [u.update_id for u in ledger.take([upd(5), upd(6), upd(7)])] == [5, 6, 7]
    assert ledger.offset(8) == 5  # all three are in hand
    ledger.handled(6)
    ledger.handled(7)
    assert ledger.offset(8) == 5  # 5 is not handled yet: Telegram must keep it
    assert ledger.take([upd(5), upd(6), upd(7), upd(8)]) == [upd(8)]  # re-sent: not again
    ledger.handled(5)
    ledger.handled(8)
    assert ledger.offset(9) == 9
    ledger.confirmed(9)
    assert ledger.take([upd(9)]) == [upd(9)]


@pytest.mark.postgres
async def test_an_update_in_hand_at_a_restart_is_fetched_again_and_handled_once(
    db: Database,
) -> None:
    w = await make_world(db, start=datetime(2026, 12, 16, 2, 0, tzinfo=UTC))
    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        first = Recorder(held="slow", abandon=True)
        async with running_app(w, emu) as app:
            assert isinstance(app.bot, PollingBot)
            await start(app, first)
            quick = emu.user_message(BOB, "quick")["update_id"]
            slow = emu.user_message(ALICE, "slow")["update_id"]
            await until(lambda: first.handled[quick] == 1 and in_hand(app) == {slow})
            assert app.updater is not None
            await app.updater.stop()  # its last getUpdates confirms what it may
            # Telegram was told nothing past "slow": it still has it, and forgot "quick"
            assert [u["update_id"] for u in emu.pending_updates()] == [slow]
            first.go.set()  # the process dies with "slow" unfinished
            await app.stop()
        assert first.handled[slow] == 0

        second = Recorder()
        async with running_app(w, emu) as app:
            await start(app, second)
            later = emu.user_message(BOB, "later")["update_id"]
            await until(lambda: second.handled[slow] == 1 and second.handled[later] == 1)
            await until(lambda: not in_hand(app))
            await stop(app)
        assert second.handled[slow] == 1 and second.handled[later] == 1
        assert max(second.handled.values()) == 1  # nothing handled twice within a process
        # now everything is handled, and the last poll confirmed it all
        assert emu.pending_updates() == []


@pytest.mark.postgres
async def test_an_update_re_sent_while_in_hand_is_not_handled_again(db: Database) -> None:
    """While "slow" is in hand the offset stays at it, so Telegram re-sends it (and "quick",
    already handled, after it) with every poll: neither reaches the handlers again, and the
    poll does not spin."""
    w = await make_world(db, start=datetime(2026, 12, 16, 2, 0, tzinfo=UTC))
    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        rec = Recorder(held="slow")
        async with running_app(w, emu) as app:
            await start(app, rec)
            slow = emu.user_message(ALICE, "slow")["update_id"]
            quick = emu.user_message(BOB, "quick")["update_id"]
            await until(lambda: rec.handled[quick] == 1 and in_hand(app) == {slow})
            polls = len(emu.calls("getUpdates"))
            more = [emu.user_message(BOB, f"m{i}")["update_id"] for i in range(3)]
            await until(lambda: all(rec.handled[i] == 1 for i in more) and in_hand(app) == {slow})
            assert len(emu.calls("getUpdates")) - polls <= 8  # no busy loop
            rec.go.set()
            await until(lambda: rec.handled[slow] == 1 and not in_hand(app))
            await stop(app)
        assert set(rec.handled.values()) == {1}
        assert emu.pending_updates() == []


@pytest.mark.postgres
async def test_a_graceful_stop_confirms_what_was_finished_after_polling_stopped(
    db: Database,
) -> None:
    """PTB's last getUpdates comes when polling stops, with "slow" still in hand; the
    Application then finishes it, and the bot's post_stop tells Telegram: a restart does
    not fetch (and answer) it again."""
    w = await make_world(db, start=datetime(2026, 12, 16, 2, 0, tzinfo=UTC))
    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        rec = Recorder(held="slow")
        async with running_app(w, emu) as app:
            await start(app, rec)
            slow = emu.user_message(ALICE, "slow")["update_id"]
            await until(lambda: in_hand(app) == {slow})
            assert app.updater is not None
            await app.updater.stop()
            assert [u["update_id"] for u in emu.pending_updates()] == [slow]
            rec.go.set()
            await app.stop()  # waits for "slow" to be handled
            assert rec.handled[slow] == 1 and not in_hand(app)
            assert app.post_stop is not None
            await app.post_stop(app)  # as run_polling calls it
        assert emu.pending_updates() == []
