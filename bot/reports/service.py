"""When the head's digest and reports go out, building them, and putting them in the outbox.

Schedule (all in the office's time zone, all only in civil hours — a working day
between ``work_start`` and ``work_end`` — so never at night, at weekends or on holidays):

* **Weekly digest**: the slot is ``digest_weekday`` at ``digest_time`` (Monday 08:30) of
  each ISO week; its log key is the week, ``2026-W49``.  It goes out at the first tick
  in civil hours at or after the slot.  A slot missed because the bot was down (or the
  day was a holiday) is caught up once, at the first tick in civil hours before the day
  of the next slot; from that day the new week's digest supersedes it.
* **Quarterly report**: on the first working day after each quarter, at ``digest_time``
  or the first tick in civil hours after it, until the next quarter's report is due.
  After ไตรมาส ๒ the delivery is the six-month report (period ``2570H1``), after
  ไตรมาส ๔ the annual report (``2570``); otherwise the quarter (``2570Q1``).  It is
  logged under every name it answers to: ``quarterly``/``2570Q2`` and ``half``/``2570H1``,
  or ``quarterly``/``2570Q4`` and ``annual``/``2570``.

Once only: each delivery is guarded by a unique ``digest_log`` row (office, kind,
period key), inserted in the same transaction that writes the outbox rows.  Two
workers, a restart, or a second tick find the row and send nothing.  Offices created
after a slot (or after the reported quarter ended) are not sent that one.

Recipients: every reachable holder of a head role (role kind ``head``), in their own
language, and each head role's linked group chat.  The dispatcher sends the text and
then each file (the chart PNG; for reports also the XLSX).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.domain.fiscal import (
    Period,
    fiscal_year,
    half_period,
    quarter_of,
    quarter_period,
    year_period,
)
from bot.fmt import Fmt
from bot.reports.digest_data import DigestData, digest_data
from bot.reports.period_report import ReportData, Result, Scope, parse_report_period, report_data
from bot.reports.view import ANNUAL, HALF, QUARTERLY, WEEKLY
from bot.schedule.reminders import is_working_time
from bot.schedule.workdays import WorkCalendar
from bot.services.audience import Recipient
from bot.services.context import AppContext
from bot.services.org import OrgError, get_org
from bot.services.outbox import Attachment, enqueue
from bot.store.db import insert_ignoring_conflicts
from bot.store.models import DigestLog, Organisation

log = logging.getLogger(__name__)


class ReportError(ValueError):
    """A report that cannot be built (no office, a bad period key)."""


# -- when ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """A digest or report that is due now."""

    kind: str  # WEEKLY | QUARTERLY
    key: str  # the digest_log period key that guards it: "2026-W49", "2570Q1"
    logs: tuple[tuple[str, str], ...]  # every (kind, period key) logged when it goes out
    slot: datetime  # when it became due (UTC)
    existed_by: datetime  # offices created after this instant get none
    period: Period | None = None  # the report's period (None: the weekly digest)


def week_key(d: date) -> str:
    iso = d.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def _at(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz)


def weekly_due(now: datetime, settings: Settings, tz: ZoneInfo) -> Delivery | None:
    """The weekly digest whose sending window contains ``now`` (civil hours not checked)."""
    local = now.astimezone(tz)
    today = local.date()
    slot_day = today - timedelta(days=today.weekday()) + timedelta(days=settings.digest_weekday)
    slot = _at(slot_day, settings.digest_time, tz)
    if local < slot:
        if today >= slot_day:  # the new slot's day, before its time: wait for it
            return None
        slot_day -= timedelta(days=7)  # catch up last week's, missed
        slot = _at(slot_day, settings.digest_time, tz)
    key = week_key(slot_day)
    return Delivery(WEEKLY, key, ((WEEKLY, key),), slot.astimezone(UTC), slot.astimezone(UTC))


def scheduled_period(fy: int, quarter: int) -> tuple[Period, tuple[tuple[str, str], ...]]:
    """What goes out after quarter ``quarter`` of ``fy``, and the names it is logged under."""
    q = quarter_period(fy, quarter)
    logs: list[tuple[str, str]] = [(QUARTERLY, q.key)]
    period = q
    if quarter == 2:
        period = half_period(fy, 1)
        logs.append((HALF, period.key))
    elif quarter == 4:
        period = year_period(fy)
        logs.append((ANNUAL, period.key))
    return period, tuple(logs)


def last_completed_quarter(today: date) -> tuple[int, int]:
    fy, q = quarter_of(today)
    return (fy, q - 1) if q > 1 else (fy - 1, 4)


def report_due(
    now: datetime, settings: Settings, tz: ZoneInfo, cal: WorkCalendar
) -> Delivery | None:
    """The report of the last completed quarter, once its slot has come (the first working
    day after the quarter, at ``digest_time``)."""
    local = now.astimezone(tz)
    fy, quarter = last_completed_quarter(local.date())
    q = quarter_period(fy, quarter)
    slot = _at(cal.next_working_day(q.end), settings.digest_time, tz)
    if local < slot:
        return None
    period, logs = scheduled_period(fy, quarter)
    ended = _at(q.end + timedelta(days=1), time(0), tz)
    return Delivery(
        QUARTERLY, q.key, logs, slot.astimezone(UTC), ended.astimezone(UTC), period=period
    )


def default_report_period(today: date) -> Period:
    """What ``/report`` without a period sends: the last completed quarter's report, as
    scheduled (the six-month report after ไตรมาส ๒, the annual one after ไตรมาส ๔)."""
    return scheduled_period(*last_completed_quarter(today))[0]


# -- building ----------------------------------------------------------------------------------


@dataclass
class Outgoing:
    """A rendered digest or report, in one language."""

    text: str
    files: list[Attachment] = field(default_factory=list)


async def render_digest_files(fmt: Fmt, data: DigestData) -> Outgoing:
    """The digest's text and chart (drawn in a worker thread)."""
    from bot.reports.chart import digest_chart
    from bot.reports.digest import render_digest

    png = await asyncio.to_thread(digest_chart, fmt, data)
    caption = fmt.t("digest.chart_caption", fy=fmt.num(data.fy))
    name = f"ita-digest-{data.today.isoformat()}.png"
    return Outgoing(render_digest(fmt, data), [Attachment("photo", name, png, caption)])


@dataclass
class ReportFiles:
    period_key: str
    title: str
    text: str
    xlsx: bytes
    chart: bytes

    @property
    def xlsx_name(self) -> str:
        return f"ita-report-{self.period_key}.xlsx"

    @property
    def chart_name(self) -> str:
        return f"ita-report-{self.period_key}.png"

    def attachments(self, fmt: Fmt) -> list[Attachment]:
        return [
            Attachment(
                "photo",
                self.chart_name,
                self.chart,
                fmt.t("report.chart_caption", period=fmt.period(self.period_key)),
            ),
            Attachment(
                "document",
                self.xlsx_name,
                self.xlsx,
                fmt.t("report.xlsx_caption", title=self.title),
            ),
        ]


def _report_files_sync(fmt: Fmt, data: ReportData) -> ReportFiles:
    from bot.reports.chart import report_chart
    from bot.reports.summary import render_report_message, report_title
    from bot.reports.xlsx import report_xlsx

    return ReportFiles(
        period_key=data.period.key,
        title=report_title(fmt, data),
        text=render_report_message(fmt, data),
        xlsx=report_xlsx(fmt, data),
        chart=report_chart(fmt, data),
    )


async def render_report_files(fmt: Fmt, data: ReportData) -> ReportFiles:
    """The report's message, XLSX and chart (built in a worker thread)."""
    return await asyncio.to_thread(_report_files_sync, fmt, data)


async def build_report_files(
    ctx: AppContext,
    period_key: str,
    *,
    org_id: int | None = None,
    now: datetime | None = None,
    lang: str | None = None,
    scope: Scope | None = None,
) -> ReportFiles:
    """The report of ``period_key`` (``2570Q1``, ``2570H1`` or ``2570``; with ``scope``,
    only that kind) for an office (default: the default office), as of ``now``: its
    message, XLSX and chart.  Raises :class:`ReportError` for a bad key or no office."""
    try:
        period = parse_report_period(period_key, scope)
    except ValueError as exc:
        raise ReportError(str(exc)) from exc
    now = now or ctx.clock.now()
    async with ctx.db.transaction() as s:
        try:
            org = await get_org(s, org_id)
        except OrgError as exc:
            raise ReportError(str(exc)) from exc
        data = await report_data(s, ctx, org.id, period, now)
    return await render_report_files(
        Fmt.of(ctx.settings, lang or ctx.settings.default_language), data
    )


# -- sending -----------------------------------------------------------------------------------


async def offices_due(session: AsyncSession, due: Delivery) -> list[int]:
    """Offices that existed by the slot and have no log row for it (one anti-join)."""
    logged = exists().where(
        DigestLog.org_id == Organisation.id,
        DigestLog.kind == due.kind,
        DigestLog.period_key == due.key,
    )
    rows = await session.scalars(
        select(Organisation.id)
        .where(Organisation.created_at <= due.existed_by, ~logged)
        .order_by(Organisation.id)
    )
    return list(rows)


async def _claim(
    session: AsyncSession, org_id: int, due: Delivery, now: datetime, summary: dict[str, Any]
) -> bool:
    """Insert the log rows; False if the guarding one exists (already sent)."""
    for i, (kind, key) in enumerate(due.logs):
        new_id = await session.scalar(
            insert_ignoring_conflicts(session, DigestLog, ["org_id", "kind", "period_key"])
            .values(org_id=org_id, kind=kind, period_key=key, created_at=now, summary=summary)
            .returning(DigestLog.id)
        )
        if i == 0 and new_id is None:
            return False
    return True


async def _render_for(
    ctx: AppContext, recipients: Sequence[Recipient], data: DigestData | ReportData
) -> dict[str, Outgoing]:
    out: dict[str, Outgoing] = {}
    for lang in sorted({r.lang for r in recipients}):
        fmt = Fmt.of(ctx.settings, lang)
        if isinstance(data, ReportData):
            files = await render_report_files(fmt, data)
            out[lang] = Outgoing(files.text, files.attachments(fmt))
        else:
            out[lang] = await render_digest_files(fmt, data)
    return out


def _summary(data: DigestData | ReportData, recipients: int) -> dict[str, Any]:
    if isinstance(data, ReportData):
        return {"recipients": recipients, "period": data.period.key} | {
            r.value: data.totals[r] for r in Result
        }
    s = data.summary
    return {
        "recipients": recipients,
        "total": s.total,
        "done": s.done,
        "in_progress": s.in_progress,
        "not_started": s.not_started,
        "overdue": s.overdue,
        "not_applicable": s.not_applicable,
        "before_tracking": s.before_tracking,
        "ready": data.readiness.ready,
        "items": data.readiness.total,
    }


async def deliver(ctx: AppContext, org_id: int, due: Delivery, now: datetime) -> int:
    """Build one office's digest or report and queue it, once; returns the messages queued."""
    data: DigestData | ReportData
    async with ctx.db.transaction() as s:
        if due.period is None:
            data = await digest_data(s, ctx, org_id, now)
            recipients = data.recipients
        else:
            data = await report_data(s, ctx, org_id, due.period, now)
            recipients = data.view.recipients(ctx.settings.default_language)
    rendered = await _render_for(ctx, recipients, data)
    queued = 0
    async with ctx.db.transaction() as s:
        if not await _claim(s, org_id, due, now, _summary(data, len(recipients))):
            return 0
        for r in recipients:
            out = rendered[r.lang]
            if await enqueue(
                s,
                org_id=org_id,
                person_id=r.person_id,
                chat_id=r.chat_id,
                kind="digest" if due.kind == WEEKLY else "report",
                dedupe_key=f"{due.kind}:{org_id}:{due.key}:{r.chat_id}",
                text=out.text,
                files=out.files,
                now=now,
            ):
                queued += 1
    return queued


async def run_due_reports(
    ctx: AppContext, now: datetime, *, budget_seconds: float | None = None
) -> int:
    """Queue every digest and report that is due now; returns the messages queued.

    Cheap when nothing is due: outside civil hours it returns at once; otherwise one
    indexed anti-join per due slot (at most two) finds the offices still waiting.
    With ``budget_seconds`` it stops starting new offices when the time is spent (on
    ``ctx.clock``); the rest go out at the next call.
    """
    today = now.astimezone(ctx.tz).date()
    cal = ctx.calendar(fiscal_year(today))
    if not is_working_time(now, cal, ctx.policy, ctx.tz):
        return 0
    deadline = ctx.clock.monotonic() + budget_seconds if budget_seconds is not None else None
    queued = 0
    for due in (
        weekly_due(now, ctx.settings, ctx.tz),
        report_due(now, ctx.settings, ctx.tz, cal),
    ):
        if due is None:
            continue
        async with ctx.db.transaction() as s:
            org_ids = await offices_due(s, due)
        for org_id in org_ids:
            if deadline is not None and ctx.clock.monotonic() >= deadline:
                return queued
            try:
                queued += await deliver(ctx, org_id, due, now)
            except Exception:  # one office's failure must not hold up the others
                log.exception("could not build the %s %s of office #%s", due.kind, due.key, org_id)
    return queued
