"""The weekly digest's chat message: short enough for a phone, complete enough to act on.

It answers the head's three questions: what is late, who holds it, and will we pass
the OIT check (ITA readiness and the days left before the collection window).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from bot.domain.thai import digits
from bot.fmt import Fmt
from bot.reports.digest_data import DigestData
from bot.reports.readiness import ReadyState
from bot.textfit import fit

MAX_LINES = 10  # per list
MAX_CODES = 24  # per readiness reason

READY_ORDER = (
    ReadyState.LINK_DEAD,
    ReadyState.LINK_UNCHECKED,
    ReadyState.OVERDUE,
    ReadyState.CONFIRM_OVERDUE,
    ReadyState.NO_URL,
    ReadyState.BEFORE_TRACKING,
    ReadyState.PENDING,
    ReadyState.MISSING,
)


def pct(n: int, total: int) -> int:
    return round(100 * n / total) if total else 0


def more(fmt: Fmt, lines: list[str], limit: int = MAX_LINES) -> list[str]:
    """The first ``limit`` lines and, if some were left out, "…และอีก N รายการ"."""
    if len(lines) <= limit:
        return lines
    return [*lines[:limit], fmt.t("digest.more", n=fmt.num(len(lines) - limit))]


def codes_text(fmt: Fmt, codes: list[str], limit: int = MAX_CODES) -> str:
    shown = ", ".join(codes[:limit])
    if len(codes) > limit:
        shown += " " + fmt.t("digest.more", n=fmt.num(len(codes) - limit))
    return shown


def render_digest(fmt: Fmt, data: DigestData) -> str:
    """The digest in ``fmt``'s language, under Telegram's limit (:func:`bot.textfit.fit`)."""
    lines = [
        fmt.t("digest.header", org=data.org_name, fy=fmt.num(data.fy), date=fmt.date(data.today)),
        *_progress(fmt, data),
        *_readiness(fmt, data),
        *_repair_lines(fmt, data),
        *_overdue(fmt, data),
        *_upcoming(fmt, data),
        *_changes(fmt, data),
        *_unreachable(fmt, data),
        "",
        fmt.t("digest.footer"),
    ]
    return fit("\n".join(lines), whole_lines=True)


def _progress(fmt: Fmt, data: DigestData) -> list[str]:
    s, n = data.summary, fmt.num
    lines = ["", fmt.t("digest.progress_header", total=n(s.total))]
    for key, value in (
        ("done", s.done),
        ("in_progress", s.in_progress),
        ("not_started", s.not_started),
        ("overdue", s.overdue),
        ("not_applicable", s.not_applicable),
        ("before_tracking", s.before_tracking),
    ):
        lines.append(fmt.t(f"digest.progress.{key}", n=n(value), pct=n(pct(value, s.total))))
    return lines


def _readiness(fmt: Fmt, data: DigestData) -> list[str]:
    """ITA readiness, the days left before the OIT collection window, what is not ready."""
    r, n = data.readiness, fmt.num
    lines = [
        "",
        fmt.t("digest.ready", ready=n(r.ready), total=n(r.total), pct=n(pct(r.ready, r.total))),
        fmt.t("digest.window_today", date=fmt.date(r.window))
        if r.days_left == 0
        else fmt.t("digest.window", days=n(r.days_left), date=fmt.date(r.window)),
    ]
    missing = r.not_ready()
    if missing:
        lines.append(fmt.t("digest.not_ready", n=n(r.total - r.ready)))
        lines += [
            fmt.t(
                "digest.not_ready_line",
                reason=fmt.t(f"digest.reason.{state.value}"),
                codes=codes_text(fmt, missing[state]),
            )
            for state in READY_ORDER
            if state in missing
        ]
    return lines


def _repair_lines(fmt: Fmt, data: DigestData) -> list[str]:
    """Evidence to repair: current links whose last check failed, with why and since when."""
    if not data.repair:
        return []
    lines = ["", fmt.t("digest.repair_header", n=fmt.num(len(data.repair)))]
    return lines + more(
        fmt,
        [
            fmt.t(
                "digest.repair_line",
                code=r.code,
                period=fmt.period(r.period_key),
                why=fmt.t(f"link.reason.{r.reason}", status=fmt.num(r.status or 0)),
                since=_when(fmt, r.since, data),
                url=r.url,
            )
            for r in data.repair
        ],
    )


def _overdue(fmt: Fmt, data: DigestData) -> list[str]:
    """Overdue: item, role, holders, days."""
    s, n = data.summary, fmt.num
    if not s.overdue_list:
        return ["", fmt.t("digest.overdue_none")]
    lines = [
        fmt.t(
            "digest.overdue_line",
            code=o.occurrence.code,
            period=fmt.period(o.occurrence.covered_key),
            stage=fmt.stage(o.occurrence.stage),
            role=data.view.role_name(o.role),
            holders=", ".join(p.name for p in o.holders) or fmt.t("esc.nobody"),
            days=n(o.days),
        )
        for o in s.overdue_list
    ]
    return ["", fmt.t("digest.overdue_header", n=n(len(s.overdue_list))), *more(fmt, lines)]


def _upcoming(fmt: Fmt, data: DigestData) -> list[str]:
    """Due in the next N days."""
    s, n, days = data.summary, fmt.num, data.upcoming_days
    if not s.upcoming:
        return ["", fmt.t("digest.upcoming_none", days=n(days))]
    lines = [
        fmt.t(
            "digest.upcoming_line",
            due=fmt.date(u.due),
            code=u.code,
            period=fmt.period(u.period) if u.period else "",
            stage=fmt.stage(u.stage),
            role=data.view.role_name(data.upcoming_roles.get(u.occurrence_id)),
        )
        for u in s.upcoming
    ]
    header = fmt.t("digest.upcoming_header", days=n(days), n=n(len(s.upcoming)))
    return ["", header, *more(fmt, lines)]


def _changes(fmt: Fmt, data: DigestData) -> list[str]:
    """What changed since the last digest: a count by action, then the newest first."""
    n = fmt.num
    if not data.changes:
        return ["", fmt.t("digest.changes_none")]
    header = (
        fmt.t("digest.changes_header", since=_when(fmt, data.since, data), n=n(len(data.changes)))
        if data.since is not None
        else fmt.t("digest.changes_header_week", n=n(len(data.changes)))
    )
    counts = Counter(c.action for c in data.changes)
    tally = " · ".join(
        f"{_action(fmt, a)} {n(k)}"
        for a, k in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    )
    lines = [
        fmt.t(
            "digest.change_line",
            when=_when(fmt, c.at, data),
            code=c.code,
            period=fmt.period(c.period_key),
            action=_action(fmt, c.action),
            actor=c.actor or fmt.t("act.system"),
        )
        for c in reversed(data.changes)
    ]
    return ["", header, tally, *more(fmt, lines)]


def _unreachable(fmt: Fmt, data: DigestData) -> list[str]:
    """Who cannot be reached: people who blocked the bot, roles nobody can receive."""
    if not (data.unreachable_people or data.unreachable_roles):
        return []
    entries = [
        fmt.t(
            "digest.unreachable_person",
            name=p.name,
            roles=", ".join(data.view.role_name(k) for k in p.roles),
            reason=fmt.t("digest.unreachable.blocked"),
        )
        for p in data.unreachable_people
    ] + [
        fmt.t(
            "digest.unreachable_role",
            role=data.view.role_name(u.role),
            reason=fmt.t(f"digest.unreachable.{u.reason}"),
            n=fmt.num(u.open),
        )
        for u in data.unreachable_roles
    ]
    return ["", fmt.t("digest.unreachable_header"), *more(fmt, entries)]


def _action(fmt: Fmt, action: str) -> str:
    from bot.texts import TH

    key = f"action.{action}"
    return fmt.t(key) if key in TH else action


def _when(fmt: Fmt, at: datetime | None, data: DigestData) -> str:
    if at is None:
        return ""
    local = at.astimezone(data.tz)
    hhmm = digits(local.strftime("%H:%M"), fmt.thai_digits and fmt.lang == "th")
    return f"{fmt.date(local.date())} {hhmm}"
