"""``python -m bot health``: the database, Telegram, the outbox and each periodic job, as the
running bot records them — exit 1 when anything is wrong, and never the token."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete
from telegram.ext import Application

from bot.app import build_application
from bot.cli import main
from bot.domain import OutboxStatus
from bot.services.health import _job_check
from bot.store.db import Database
from bot.store.models import JobRun, Outbox
from bot.telegram.context import set_app_context
from tests.support.botapi import BotApiEmulator
from tests.support.world import World, make_world

TOKEN = "7234567890:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"
App = Application[Any, Any, Any, Any, Any, Any]


def where(db: Database) -> dict[str, Any]:
    """The settings that point ``python -m bot`` at the test database."""
    handle: str = db.test_handle  # type: ignore[attr-defined]
    if db.dialect == "sqlite":
        return {"database_url": handle}
    return {"database_url": db.url, "database_schema": handle}


@asynccontextmanager
async def bot_with_jobs(db: Database, emu: BotApiEmulator) -> AsyncIterator[tuple[World, App]]:
    """The application as ``run`` builds it — with its jobs — on a fake clock."""
    world = await make_world(
        db, bot_token=emu.token, telegram_api_base_url=emu.base_url, **where(db)
    )
    app = build_application(world.ctx.settings, clock=world.clock, db=db)
    set_app_context(app, world.ctx)
    async with app:
        yield world, app


async def run_job(app: App, name: str) -> None:
    """What the JobQueue does when the job is due (its errors raised here)."""
    [job] = [j for j in app.job_queue.jobs() if j.name == name]  # type: ignore[union-attr]
    await job.callback(app.context_types.context.from_job(job, app))


async def health(world: World, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """The command, in a thread of its own (it runs its own event loop, as in a shell)."""
    code = await asyncio.to_thread(
        main, ["health", *argv], settings=world.ctx.settings, clock=world.clock
    )
    out = capsys.readouterr()
    assert TOKEN not in out.out + out.err and TOKEN.split(":")[1] not in out.out + out.err
    return code, out.out


@pytest.mark.postgres
async def test_health_follows_the_jobs_and_the_outbox(
    db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    with BotApiEmulator(token=TOKEN, bot_username="bangsaipa_ita_bot") as emu:
        async with bot_with_jobs(db, emu) as (world, app):
            code, out = await health(world, capsys)
            assert code == 1 and "jobs: FAIL — no job has run here" in out
            assert "telegram: ok — @bangsaipa_ita_bot answers" in out

            async with db.transaction() as s:  # a job the bot no longer has
                s.add(JobRun(name="dispatch", runs=9, every_seconds=30))
            await run_job(app, "tick")
            code, out = await health(world, capsys)
            assert code == 0, out
            assert out.splitlines()[-1] == "healthy"
            assert "database: ok" in out and "outbox: ok — nothing waiting" in out
            assert "job tick: ok — last ran 0 s ago, next due in 30 s" in out
            assert "job materialise: ok — not run yet, next due in 14.5 h" in out  # 00:30
            assert "job reports: ok — not run yet, next due in 30 s" in out
            assert "dispatch" not in out

            # a message due 40 minutes ago and not sent: the sender is not keeping up
            now = world.clock.now()
            async with db.transaction() as s:
                s.add(Outbox(chat_id=1, kind="test", dedupe_key="late", text="x",
                             status=OutboxStatus.PENDING.value, attempts=0,
                             next_attempt_at=now - timedelta(minutes=40), created_at=now))  # fmt: skip
            code, out = await health(world, capsys, "--json")
            report = json.loads(out)
            assert code == 1 and report["ok"] is False
            [outbox] = [c for c in report["checks"] if c["name"] == "outbox"]
            assert outbox["ok"] is False and outbox["waiting"] == 1
            assert outbox["oldest_age_seconds"] == 2400

            async with db.transaction() as s:
                await s.execute(delete(Outbox))
            world.clock.advance(minutes=3)  # no tick for 3 minutes
            code, out = await health(world, capsys)
            assert code == 1 and "job tick: FAIL — late: due 2 min ago, last ran 3 min ago" in out

            await run_job(app, "tick")
            assert "job reports: FAIL — late" in (await health(world, capsys))[1]
            await run_job(app, "reports")
            assert (await health(world, capsys))[0] == 0


async def test_a_failing_job_and_an_unreachable_telegram(
    sqlite_db: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sqlite_db.test_handle = sqlite_db.url  # type: ignore[attr-defined]
    with BotApiEmulator(token=TOKEN) as emu:
        async with bot_with_jobs(sqlite_db, emu) as (world, app):

            async def broken(*args: object, **kwargs: object) -> None:
                raise RuntimeError("the reminder store is broken")

            monkeypatch.setattr("bot.jobs.remind", broken)
            with pytest.raises(RuntimeError):
                await run_job(app, "tick")
            code, out = await health(world, capsys)
            assert code == 1
            assert "job tick: FAIL — its last run failed: RuntimeError: the reminder store" in out
    # the emulator has gone: Telegram does not answer
    code, out = await health(world, capsys, "--wait", "2")
    assert code == 1 and "telegram: FAIL — unreachable" in out
    world.ctx.settings = world.ctx.settings.model_copy(update={"bot_token": None})
    assert "telegram: FAIL — BOT_TOKEN is not set" in (await health(world, capsys))[1]


def test_a_run_that_never_ends_is_stuck() -> None:
    now = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    started = JobRun(name="tick", every_seconds=30, started_at=now - timedelta(minutes=10), runs=1)
    assert _job_check(started, now).ok  # a long tick, still going
    started.started_at = now - timedelta(hours=2)
    check = _job_check(started, now)
    assert not check.ok and "a run started 2.0 h ago has not ended" in check.detail
    daily = JobRun(name="materialise", every_seconds=86400, next_due_at=now - timedelta(minutes=59))
    assert _job_check(daily, now).ok  # an hour's grace for a daily job
    daily.next_due_at = now - timedelta(minutes=61)
    assert not _job_check(daily, now).ok
