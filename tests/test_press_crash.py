"""kill -9 of the real ``python -m bot run`` around a press, then a restart (issue 15 §3).

The preparer presses ✅ on a prepare stage.  The process is killed

* *before the press's commit*: the press has been fetched (and the next poll made) while
  the test holds the occurrence's row, so its transaction cannot commit.  Telegram was not
  told the update is done, so the next process fetches and handles it;
* *after the commit*: the callback's answer (sent after the commit) is held by the Bot API
  emulator.  The confirmation and the reviewer's notice are in the outbox, committed with
  the press; the next process sends what is left, and does not act on the press again.

Either way the stage moves once, the reviewer's notice arrives, and so does the preparer's
confirmation (at most one duplicate per kill).  The processes run on the real clock; the
notice, queued for the office's hours, is delivered at the end on the world's fake clock.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bot.domain import Action, OccStatus, OutboxStatus, Stage
from bot.domain.callbacks import StageAct, StageCall, encode
from bot.services.dispatch import Dispatcher
from bot.services.materialise import materialise
from bot.store.db import Database
from bot.store.models import Occurrence, Outbox, StageEvent
from bot.telegram.transport import transport_of
from tests.support.botapi import BotApiEmulator
from tests.support.processes import BotProcess, Target
from tests.support.telegram import running_app
from tests.support.waves import real_now
from tests.support.world import STAFF, World, staff_world

PRESSER, REVIEWER = STAFF["analyst"], STAFF["chief"]
PRESSER_TG, REVIEWER_TG = PRESSER[1], REVIEWER[1]
CONFIRMED = "จัดทำเสร็จแล้ว"  # act.prepared: "✅ {code} จัดทำเสร็จแล้ว ส่งต่อให้{role}ตรวจทาน"


async def until(what: Callable[[], bool], within: float, doing: str) -> None:
    """Poll the emulator (another process's progress, not the clock)."""
    deadline = time.monotonic() + within
    while not what():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{doing}: not within {within} s")
        await asyncio.sleep(0.05)


async def a_prepare_stage(w: World) -> Occurrence:
    """An open occurrence at the analyst's prepare stage, reviewed by the chief."""
    async with w.ctx.db.transaction() as s:
        occ = await s.scalar(
            select(Occurrence)
            .where(
                Occurrence.status == OccStatus.OPEN.value,
                Occurrence.stage == Stage.PREPARE.value,
                Occurrence.prepare_role == PRESSER[2][0],
                Occurrence.collect_role == REVIEWER[2][0],
            )
            .order_by(Occurrence.due_date, Occurrence.id)
            .limit(1)
        )
    assert occ is not None
    return occ


def fetches(emu: BotApiEmulator, update_id: int) -> int:
    """How many getUpdates answers carried ``update_id``."""
    return sum(
        1
        for c in emu.calls("getUpdates")
        if c.ok and any(u["update_id"] == update_id for u in c.result or [])
    )


def pending(emu: BotApiEmulator, update_id: int) -> bool:
    return any(u["update_id"] == update_id for u in emu.pending_updates())


def texts_to(emu: BotApiEmulator, chat_id: int, since: int) -> list[str]:
    return [str(c.params.get("text")) for c in emu.sent_messages(chat_id)[since:]]


async def deliver_on_fake_clock(w: World, emu: BotApiEmulator) -> None:
    """What the processes left for later (the notice waits for office hours): sent with the
    world's clock moved to when it is due."""
    async with w.ctx.db.transaction() as s:
        due = await s.scalar(
            select(func.max(Outbox.next_attempt_at)).where(
                Outbox.status == OutboxStatus.PENDING.value
            )
        )
    if due is not None and due > w.clock.now():
        w.clock.set(due)
    async with running_app(w, emu) as app:
        await Dispatcher(w.ctx, transport_of(app)).run()


async def press_and_kill(
    w: World, emu: BotApiEmulator, target: Target, tmp_path: Path, *, after_commit: bool
) -> tuple[Occurrence, dict[str, Any], int]:
    occ = await a_prepare_stage(w)
    run = BotProcess.start("run", target, emu, log_dir=tmp_path, WORKER_ID="press")
    with run:
        # the preparer has a message with the stage's button (the /help answer will do)
        emu.user_message({"id": PRESSER_TG, "is_bot": False, "first_name": "A"}, "/help")
        [shown] = await asyncio.to_thread(
            emu.wait_for_calls, 1, method="sendMessage", chat_id=PRESSER_TG, timeout=60
        )
        mark = len(emu.sent_messages(PRESSER_TG))
        data = encode(StageCall(StageAct.DONE, occ.id, Stage.PREPARE))
        user = {"id": PRESSER_TG, "is_bot": False, "first_name": "A", "language_code": "th"}
        if after_commit:
            emu.fail_next("slow", method="answerCallbackQuery", delay=30.0)
            press = emu.user_press(user, shown.result["message_id"], PRESSER_TG, data)
            await asyncio.to_thread(emu.wait_held, 1, 60)  # answered after the commit
            run.kill()
        else:
            async with w.ctx.db.transaction() as s:  # the press cannot commit meanwhile
                await s.execute(
                    update(Occurrence)
                    .where(Occurrence.id == occ.id)
                    .values(updated_at=Occurrence.updated_at)
                )
                press = emu.user_press(user, shown.result["message_id"], PRESSER_TG, data)
                # fetched, and the poll after it made (PTB's would have confirmed it)
                await until(
                    lambda: (
                        fetches(emu, press["update_id"]) >= 2
                        or not pending(emu, press["update_id"])
                    ),
                    60,
                    "the press fetched",
                )
                run.kill()
        assert run.proc.returncode == -signal.SIGKILL
    return occ, press, mark


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("after_commit", [False, True], ids=["before-commit", "after-commit"])
async def test_kill_9_around_a_press_changes_once_and_confirms(
    db: Database, tmp_path: Path, after_commit: bool
) -> None:
    w = await staff_world(db, start=real_now())  # the processes run on the real clock
    await materialise(w.ctx, w.clock.now())
    target = Target.of(db)
    with BotApiEmulator() as emu:
        occ, press, mark = await press_and_kill(w, emu, target, tmp_path, after_commit=after_commit)
        # Telegram still has the press: nothing confirmed it as handled
        assert pending(emu, press["update_id"])
        # the same worker: it takes back what the killed one had claimed
        again = BotProcess.start("run", target, emu, log_dir=tmp_path, WORKER_ID="press")
        with again:
            await until(
                lambda: (
                    not pending(emu, press["update_id"])
                    and any(CONFIRMED in t for t in texts_to(emu, PRESSER_TG, mark))
                ),
                60,
                "the press handled and confirmed",
            )
            assert again.stop() == 0
        assert "Traceback" not in again.log(), again.log()[-3000:]
        await deliver_on_fake_clock(w, emu)
        to_presser = texts_to(emu, PRESSER_TG, mark)
        to_reviewer = [t for t in texts_to(emu, REVIEWER_TG, 0) if occ.code in t]
    async with w.ctx.db.transaction() as s:
        moved = await s.scalar(
            select(func.count())
            .select_from(StageEvent)
            .where(StageEvent.occurrence_id == occ.id, StageEvent.action == Action.DONE)
        )
        now = await s.get(Occurrence, occ.id, populate_existing=True)
    assert moved == 1  # the stage moved exactly once
    assert now is not None and now.stage == Stage.COLLECT.value
    confirmations = [t for t in to_presser if CONFIRMED in t]
    assert 1 <= len(confirmations) <= 2, to_presser  # ≤ 1 duplicate for the one kill
    assert len(to_presser) == len(confirmations), to_presser  # no "already done" on top
    assert 1 <= len(to_reviewer) <= 2, to_reviewer
