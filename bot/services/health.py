"""Is the bot well?  The database answers at the right schema, Telegram answers ``getMe``,
the outbox keeps up, delivery is not paused, and every periodic job ran when it was due.

:func:`check_health` gathers it into a :class:`Health`: ``python -m bot health`` prints it
(and exits non-zero when it is not ok); :meth:`Health.as_dict` is the same data for a
machine (``--json``, or an HTTP endpoint).  Nothing in it ever shows the bot token.

A job is *late* when its precomputed next due time (``job_run.next_due_at``) passed more
than a grace period ago — one period, between a minute and an hour — and *stuck* when a
run has gone on for longer than :data:`STUCK_AFTER` (or three periods, if longer).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from telegram import User

from bot.domain import OutboxStatus
from bot.services.deliverypause import DELIVERY_ROW
from bot.services.jobruns import reason
from bot.store.db import Database
from bot.store.models import JobRun, Outbox

STUCK_AFTER = timedelta(minutes=30)
MIN_GRACE, MAX_GRACE = timedelta(minutes=1), timedelta(hours=1)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Health:
    checked_at: datetime
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked_at": self.checked_at.isoformat(),
            "checks": [
                {"name": c.name, "ok": c.ok, "detail": c.detail, **c.data} for c in self.checks
            ],
        }

    def lines(self) -> list[str]:
        out = [f"{c.name}: {'ok' if c.ok else 'FAIL'} — {c.detail}" for c in self.checks]
        return [*out, "healthy" if self.ok else "UNHEALTHY"]


def ago(delta: timedelta) -> str:
    s = max(int(delta.total_seconds()), 0)
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min"
    return f"{s / 3600:.1f} h" if s < 172800 else f"{s // 86400} days"


async def check_health(
    now: datetime,
    db: Database | None,
    ask_telegram: Callable[[], Awaitable[Check]],
    *,
    database_problem: str | None = None,
    outbox_max_age: timedelta = timedelta(minutes=30),
) -> Health:
    """Every check, Telegram's in parallel with the database's.  ``db`` is None when it
    could not be opened (``database_problem`` says why)."""
    telegram = asyncio.ensure_future(ask_telegram())
    if db is None:
        checks = [Check("database", False, database_problem or "not configured")]
    else:
        checks = await _database_checks(db, now, outbox_max_age)
    return Health(now, (checks[0], await telegram, *checks[1:]))


async def _database_checks(db: Database, now: datetime, outbox_max_age: timedelta) -> list[Check]:
    from bot.store.migrate import current_revision, head_revision

    try:
        async with db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        revision, head = await current_revision(db), head_revision()
    except Exception as exc:
        return [Check("database", False, f"unreachable: {reason(exc)}")]
    if revision != head:
        return [
            Check(
                "database",
                False,
                f"schema at revision {revision}, this version needs {head}: run db upgrade",
                {"revision": revision},
            )
        ]
    checks = [Check("database", True, f"{db.dialect}, schema {revision}", {"revision": revision})]
    try:
        checks.append(await outbox_check(db, now, outbox_max_age))
        checks.append(await delivery_check(db, now))
        checks.extend(await job_checks(db, now))
    except Exception as exc:
        checks.append(Check("database", False, f"query failed: {reason(exc)}"))
    return checks


async def outbox_check(db: Database, now: datetime, max_age: timedelta) -> Check:
    """How long the oldest message that is due has waited to be sent."""
    async with db.transaction() as s:
        waiting, oldest = (
            await s.execute(
                select(func.count(), func.min(Outbox.next_attempt_at)).where(
                    Outbox.status == OutboxStatus.PENDING.value, Outbox.next_attempt_at <= now
                )
            )
        ).one()
    if not waiting or oldest is None:
        return Check("outbox", True, "nothing waiting", {"waiting": 0, "oldest_age_seconds": 0})
    age = now - oldest
    data = {"waiting": int(waiting), "oldest_age_seconds": int(age.total_seconds())}
    detail = f"{waiting} messages due, the oldest for {ago(age)}"
    if age > max_age:
        return Check("outbox", False, f"{detail} (more than {ago(max_age)})", data)
    return Check("outbox", True, detail, data)


async def delivery_check(db: Database, now: datetime) -> Check:
    """Whether a sender has paused delivery because the Bot API refuses the bot (a 401 or
    404; see bot.services.deliverypause): unhealthy while it lasts, saying since when and why."""
    async with db.transaction() as s:
        row = await s.get(JobRun, DELIVERY_ROW)
    if row is None or row.ok is not False or row.started_at is None:
        return Check("delivery", True, "not paused", {"paused": False})
    data: dict[str, Any] = {
        "paused": True,
        "paused_since": row.started_at.isoformat(),
        "reason": row.error,
        "worker": row.worker_id,
        "probes": row.runs,
        "next_probe": row.next_due_at.isoformat() if row.next_due_at else None,
    }
    since = f"{row.started_at.isoformat(timespec='seconds')}, {ago(now - row.started_at)} ago"
    return Check("delivery", False, f"PAUSED since {since}: {row.error}", data)


async def job_checks(db: Database, now: datetime) -> list[Check]:
    async with db.transaction() as s:
        rows = list(
            await s.scalars(select(JobRun).where(JobRun.name != DELIVERY_ROW).order_by(JobRun.name))
        )
    if not rows:
        return [Check("jobs", False, "no job has run here: is `python -m bot run` running?")]
    return [_job_check(r, now) for r in rows]


def _job_check(row: JobRun, now: datetime) -> Check:
    every = timedelta(seconds=row.every_seconds) if row.every_seconds else MIN_GRACE
    grace = min(max(every, MIN_GRACE), MAX_GRACE)
    data: dict[str, Any] = {
        "last_started": row.started_at.isoformat() if row.started_at else None,
        "last_ok": row.last_ok_at.isoformat() if row.last_ok_at else None,
        "next_due": row.next_due_at.isoformat() if row.next_due_at else None,
        "runs": row.runs,
    }
    name = f"job {row.name}"
    running = row.started_at is not None and row.finished_at is None
    if running:
        assert row.started_at is not None
        took = now - row.started_at
        if took > max(STUCK_AFTER, 3 * every):
            return Check(name, False, f"a run started {ago(took)} ago has not ended", data)
        return Check(name, True, f"running for {ago(took)}", data)
    if row.ok is False:
        return Check(name, False, f"its last run failed: {row.error}", data)
    last = f"last ran {ago(now - row.finished_at)} ago" if row.finished_at else "not run yet"
    if row.next_due_at is not None and now > row.next_due_at + grace:
        return Check(name, False, f"late: due {ago(now - row.next_due_at)} ago, {last}", data)
    due = f", next due in {ago(row.next_due_at - now)}" if row.next_due_at else ""
    return Check(name, True, f"{last}{due}", data)


async def telegram_check(ask: Callable[[], Awaitable[User]], scrub: Callable[[str], str]) -> Check:
    """``getMe``, through ``ask``; an error's text goes through ``scrub`` (the token)."""
    from telegram.error import InvalidToken

    from bot.telegram.whoami import NoToken

    try:
        me = await ask()
    except NoToken as exc:
        return Check("telegram", False, str(exc))
    except InvalidToken:
        return Check("telegram", False, "Telegram refused BOT_TOKEN: check it with @BotFather")
    except Exception as exc:
        return Check("telegram", False, scrub(f"unreachable: {reason(exc)}"))
    return Check("telegram", True, f"@{me.username} answers", {"username": me.username})
