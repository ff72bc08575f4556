"""A 401 or 404 from the Bot API is about the bot, not the message (issue 15): delivery pauses,
says so once in the log and in ``health``, probes ``getMe`` on a backoff, and resumes when it
answers — no row is failed, and every queued message arrives exactly once.

Against the Bot API emulator (``refuse_bot``: a revoked token, or a wrong base URL), on a fake
clock: the ten minutes of refusal cost no real time."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal

import pytest
from sqlalchemy import select

from bot.app import build_application
from bot.cli import main
from bot.services import deliverypause
from bot.services.deliverypause import DELIVERY_ROW
from bot.services.dispatch import Dispatcher
from bot.services.health import Check, check_health
from bot.services.outbox import enqueue
from bot.services.transport import BotUnusable, Done, Transient
from bot.store.db import Database
from bot.store.models import JobRun, Outbox
from bot.telegram.transport import transport_of
from tests.support.botapi import BotApiEmulator
from tests.support.fake_transport import FakeTransport
from tests.support.telegram import running_app
from tests.support.world import World, staff_world

pytestmark = pytest.mark.postgres  # claims are conditional UPDATEs

REFUSED_SECONDS = 600
#: getMe after 5 s, then 10, 20, 40, 80, 160 and the cap of 300 s: the first probe after the
#: ten minutes, at 615 s, answers.
PROBES_AT = [5, 15, 35, 75, 155, 315, 615]


async def put(w: World, chats: range, tag: str) -> None:
    async with w.ctx.db.transaction() as s:
        for chat in chats:
            await enqueue(s, chat_id=chat, kind="reminder", dedupe_key=f"{tag}:{chat}",
                          text=f"{tag} {chat}", now=w.clock.now(), org_id=w.org.id)  # fmt: skip


async def outbox(db: Database) -> list[Outbox]:
    async with db.transaction() as s:
        return list(await s.scalars(select(Outbox).order_by(Outbox.id)))


def where(db: Database) -> dict[str, Any]:
    handle: str = db.test_handle  # type: ignore[attr-defined]
    if db.dialect == "sqlite":
        return {"database_url": handle}
    return {"database_url": db.url, "database_schema": handle}


async def health_cli(w: World, db: Database, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``python -m bot health``, as another process would run it (its own event loop)."""
    settings = w.ctx.settings.model_copy(update=where(db))
    capsys.readouterr()
    code = await asyncio.to_thread(
        main, ["health", "--wait", "2"], settings=settings, clock=w.clock
    )
    return code, capsys.readouterr().out


def pause_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith("bot.")
    ]


@pytest.mark.parametrize(("status", "named"), [(401, "BOT_TOKEN"), (404, "TELEGRAM_API_BASE_URL")])
async def test_a_refused_bot_pauses_delivery_and_loses_nothing(
    db: Database,
    status: Literal[401, 404],
    named: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.INFO)
    w = await staff_world(db)
    await put(w, range(5000, 5020), "before")
    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        async with running_app(w, emu) as app:  # its start-up getMe went through
            emu.clear_calls()
            emu.refuse_bot(status, REFUSED_SECONDS)  # … and now the token is revoked
            start = w.clock.monotonic()
            d = Dispatcher(w.ctx, transport_of(app))
            stats = await d.run()
            assert (stats.paused, stats.failed, stats.sent) == (1, 0, 0)
            assert len(emu.calls("sendMessage")) == 1  # one refusal, then nothing is claimed
            rows = await outbox(db)
            assert {r.status for r in rows} == {"pending"} and {r.attempts for r in rows} == {0}
            [paused] = pause_lines(caplog)
            assert "delivery paused" in paused and named in paused and emu.token not in paused

            # health, from another process, says so: since when and why, and is unhealthy
            calls = len(emu.calls("getMe"))
            code, out = await health_cli(w, db, capsys)
            health_probe = emu.calls("getMe")[calls:]
            assert code == 1 and "UNHEALTHY" in out, out
            [line] = [ln for ln in out.splitlines() if ln.startswith("delivery:")]
            assert line.startswith("delivery: FAIL — PAUSED since ") and named in line, line
            assert emu.token not in out

            await put(w, range(6000, 6005), "during")  # queued while paused: kept too
            runs = 0
            while w.ctx.delivery_pause.active:
                due = await d.next_due()
                assert due is not None
                w.clock.set(due)
                stats = await d.run()
                assert stats.failed == 0
                runs += 1
            await d.run()
        probes = [c for c in emu.calls("getMe") if c not in health_probe]
        sent = [c for c in emu.sent_messages()]
    assert runs == len(PROBES_AT)
    assert [round(c.at - start) for c in probes] == PROBES_AT  # backing off, on the clock
    assert [c.status for c in probes] == [status] * (len(PROBES_AT) - 1) + [200]
    chats = sorted(c.chat_id or 0 for c in sent)
    assert chats == [*range(5000, 5020), *range(6000, 6005)]  # each exactly once
    rows = await outbox(db)
    assert {r.status for r in rows} == {"sent"} and {r.attempts for r in rows} == {1}
    lines = pause_lines(caplog)
    assert len(lines) == 2 and "delivery resumed" in lines[1], lines  # one line each, no more
    async with db.transaction() as s:
        assert await s.get(JobRun, DELIVERY_ROW) is None
    report = await check_health(w.clock.now(), db, _telegram_ok)
    [delivery] = [c for c in report.checks if c.name == "delivery"]
    assert delivery.ok and delivery.detail == "not paused"


async def _telegram_ok() -> Check:
    return Check("telegram", True, "answers")


async def test_a_probe_that_cannot_reach_the_channel_backs_off_too(db: Database) -> None:
    """Over the fake transport: a network error while probing is no answer either."""
    w = await staff_world(db)
    await put(w, range(5000, 5003), "r")
    fake = FakeTransport(w.clock)
    fake.script(5000, BotUnusable("the Bot API refuses BOT_TOKEN"))
    fake.script_probes(BotUnusable("still"), Transient("Timed out"), Done())
    d = Dispatcher(w.ctx, fake)
    start = w.clock.monotonic()
    while (await d.run()).sent < 3:
        due = await d.next_due()
        assert due is not None
        w.clock.set(due)
    assert [(at - start, type(o).__name__) for at, o in fake.probes] == [
        (5, "BotUnusable"),
        (15, "Transient"),
        (35, "Done"),
    ]
    assert sorted(x.to for x in fake.deliveries) == [5000, 5001, 5002]


async def test_the_pause_survives_the_jobs_own_records(db: Database) -> None:
    """A job's run tidies ``job_run`` of the jobs the bot no longer has; the pause's row is
    not a job's, and stays until delivery resumes."""
    w = await staff_world(db)
    with BotApiEmulator() as emu:
        w.ctx.settings = w.ctx.settings.model_copy(update={"telegram_api_base_url": emu.base_url})
        app = build_application(w.ctx.settings, clock=w.clock, db=db, startup=False)
        app.bot_data["ctx"] = w.ctx
        async with app:
            await deliverypause.pause(w.ctx, "the Bot API refuses BOT_TOKEN (Unauthorized)")
            assert app.job_queue is not None
            [job] = [j for j in app.job_queue.jobs() if j.name == "link_check"]
            await job.callback(app.context_types.context.from_job(job, app))
    async with db.transaction() as s:
        names = set(await s.scalars(select(JobRun.name)))
    assert {DELIVERY_ROW, "link_check", "tick"} <= names
    report = await check_health(w.clock.now(), db, _telegram_ok)
    assert not report.ok and not [c for c in report.checks if c.name == "job delivery"]
    [delivery] = [c for c in report.checks if c.name == "delivery"]
    assert not delivery.ok and delivery.data["reason"].startswith("the Bot API refuses BOT_TOKEN")
