"""A button press during the busiest morning's tick: how soon the presser gets an answer.

    python -m bench.press --orgs 1000 --db both     # the quick form
    python -m bench.press --orgs 7850 --db both     # national scale

The application is built by ``build_application`` and polls the Bot API emulator over
HTTP (tests/support), on the morning's fake clock.  Each presser (a person of an office
spread over the dataset) first asks for ``/tasks``; then each presses the "my list"
button under that reply (a handler that reads the store and answers), one press every
``--interval`` seconds, while ``remind(ctx, 09:00)`` composes the morning for every
office on the same event loop.  ``press_answer_p95_ms_during_tick`` is the time from the
press reaching the emulator to the bot's ``answerCallbackQuery`` arriving there;
``press_answer_p95_ms_idle`` the same presses with no tick running, measured first in
the same run (the baseline).  Target: ≤ 200 ms p95 during the tick.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.common import (
    BACKENDS,
    FISCAL_YEAR,
    FY_START,
    NATIONAL_ORGS,
    TOKEN,
    Backend,
    create_database,
    emit,
    percentile,
    ratio,
    verdict,
)
from bench.dataset import TELEGRAM_BASE, analyse, emit_stats, generate
from bench.scene import busiest_day, set_scene
from bot.app import build_application
from bot.clock import FakeClock
from bot.domain.callbacks import MyList, encode
from bot.services.context import AppContext
from bot.services.materialise import materialise
from bot.services.reminders import TickStats, remind
from bot.telegram.context import app_context
from tests.support.botapi import BotApiEmulator

MAX_P95_MS = 200.0
PEOPLE_PER_OFFICE = 15  # about (bench.dataset)


@dataclass
class PressFigure:
    idle: list[float]
    during: list[float]
    tick: TickStats
    tick_seconds: float


def _user(uid: int) -> dict[str, Any]:
    return {"id": uid, "is_bot": False, "first_name": f"p{uid}", "language_code": "th"}


class Presser:
    def __init__(self, emu: BotApiEmulator, uids: list[int]) -> None:
        self.emu, self.uids = emu, uids
        self.lists: dict[int, int] = {}  # uid -> the message_id of their /tasks reply

    async def ask_lists(self) -> None:
        for uid in self.uids:
            self.emu.user_message(_user(uid), "/tasks")
            await self.emu.await_calls(1, method="sendMessage", chat_id=uid, timeout=60)
            self.lists[uid] = self.emu.sent_messages(uid)[-1].result["message_id"]

    async def press(self, uid: int) -> tuple[str, float]:
        update = self.emu.user_press(_user(uid), self.lists[uid], uid, encode(MyList()))
        return update["callback_query"]["id"], time.monotonic()

    def answers(self) -> dict[str, float]:
        return {
            str(c.params.get("callback_query_id")): c.at
            for c in self.emu.calls("answerCallbackQuery")
        }

    async def run(self, n: int, interval: float, until: asyncio.Task[Any] | None) -> list[float]:
        pressed: list[tuple[str, float]] = []
        for i in range(n):
            if until is not None and until.done():
                break
            pressed.append(await self.press(self.uids[i % len(self.uids)]))
            await asyncio.sleep(interval)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            got = self.answers()
            if all(q in got for q, _ in pressed):
                break
            await asyncio.sleep(0.05)
        got = self.answers()
        return [got[q] - at for q, at in pressed if q in got]


async def measure(
    ctx_settings: Any, db: Any, at: Any, orgs: int, presses: int, interval: float
) -> PressFigure:
    with BotApiEmulator(TOKEN) as emu:
        settings = ctx_settings.model_copy(update={"telegram_api_base_url": emu.base_url})
        app = build_application(
            settings, clock=FakeClock(at), db=db, with_jobs=False, startup=False
        )
        async with app:
            ctx = app_context(app)
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0.0, timeout=5, drop_pending_updates=True)
            await app.start()
            try:
                step = max(orgs // 10, 1)  # ten offices across the dataset, their first person
                uids = [TELEGRAM_BASE + 1 + o * PEOPLE_PER_OFFICE for o in range(0, orgs, step)]
                presser = Presser(emu, uids[:10])
                await presser.ask_lists()
                idle = await presser.run(min(presses, 20), interval, None)
                t0 = time.perf_counter()
                tick = asyncio.create_task(remind(ctx, at))
                during = await presser.run(presses, interval, tick)
                stats = await tick
                seconds = time.perf_counter() - t0
            finally:
                await app.updater.stop()
                await app.stop()
    return PressFigure(idle, during, stats, seconds)


async def run_one(backend: Backend, orgs: int, presses: int, interval: float) -> PressFigure:
    emit("db", backend)
    bench = await create_database(backend)
    try:
        emit_stats(await generate(bench, orgs))
        ctx = AppContext(settings=bench.settings(), clock=FakeClock(FY_START), db=bench.db)
        await materialise(ctx, FY_START, fiscal_years=[FISCAL_YEAR])
        busy = busiest_day(ctx, FISCAL_YEAR)
        await set_scene(bench, ctx, FISCAL_YEAR, busy.day)
        await analyse(bench)
        fig = await measure(bench.settings(), bench.db, busy.at, orgs, presses, interval)
    finally:
        await bench.drop()
    emit("tick_offices", fig.tick.orgs)
    emit("tick_messages", fig.tick.messages)
    emit("tick_seconds", fig.tick_seconds)
    emit("presses_idle", len(fig.idle))
    emit("presses_during_tick", len(fig.during))
    emit("press_answer_p50_ms_idle", 1000 * percentile(fig.idle, 50))
    emit("press_answer_p95_ms_idle", 1000 * percentile(fig.idle, 95))
    emit("press_answer_p50_ms_during_tick", 1000 * percentile(fig.during, 50))
    emit("press_answer_p95_ms_during_tick", 1000 * percentile(fig.during, 95))
    emit("press_answer_max_ms_during_tick", 1000 * max(fig.during, default=float("nan")))
    emit(
        "ratio_press_p95_during_vs_idle",
        ratio(percentile(fig.during, 95), percentile(fig.idle, 95)),
    )
    return fig


async def run(backends: Sequence[Backend], orgs: int, presses: int, interval: float) -> None:
    figures = {b: await run_one(b, orgs, presses, interval) for b in backends}
    for b, fig in figures.items():
        p95 = 1000 * percentile(fig.during, 95)
        emit(f"{b}_press_answer_p95_ms_during_tick", p95)
        emit(f"target_{b}_press_p95_le_200ms", verdict(p95 <= MAX_P95_MS, orgs))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=(*BACKENDS, "both"), default="both")
    parser.add_argument("--orgs", type=int, default=NATIONAL_ORGS)
    parser.add_argument("--presses", type=int, default=100)
    parser.add_argument("--interval", type=float, default=0.1)
    args = parser.parse_args(argv)
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    backends: list[Backend] = list(BACKENDS) if args.db == "both" else [args.db]
    asyncio.run(run(backends, args.orgs, args.presses, args.interval))


if __name__ == "__main__":
    main()
