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

MAX_MESSAGE = 4096
MAX_LINES = 10  # per list
MAX_CODES = 24  # per readiness reason

READY_ORDER = (
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


def fit(text: str, limit: int = MAX_MESSAGE) -> str:
    """Cut a message at a line break so that it fits Telegram's limit."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 2].rsplit("\n", 1)[0]
    return cut + "\n…"


def render_digest(fmt: Fmt, data: DigestData) -> str:
    """The digest in ``fmt``'s language, under Telegram's 4096 characters."""
    s = data.summary
    n = fmt.num
    total = s.total
    lines = [
        fmt.t("digest.header", org=data.org_name, fy=n(data.fy), date=fmt.date(data.today)),
        "",
        fmt.t("digest.progress_header", total=n(total)),
    ]
    for key, value in (
        ("done", s.done),
        ("in_progress", s.in_progress),
        ("not_started", s.not_started),
        ("overdue", s.overdue),
        ("not_applicable", s.not_applicable),
        ("before_tracking", s.before_tracking),
    ):
        lines.append(fmt.t(f"digest.progress.{key}", n=n(value), pct=n(pct(value, total))))

    # ITA readiness
    r = data.readiness
    lines += [
        "",
        fmt.t(
            "digest.ready",
            ready=n(r.ready),
            total=n(r.total),
            pct=n(pct(r.ready, r.total)),
        ),
        fmt.t("digest.window_today", date=fmt.date(r.window))
        if r.days_left == 0
        else fmt.t("digest.window", days=n(r.days_left), date=fmt.date(r.window)),
    ]
    missing = r.not_ready()
    if missing:
        lines.append(fmt.t("digest.not_ready", n=n(r.total - r.ready)))
        for state in READY_ORDER:
            if state in missing:
                lines.append(
                    fmt.t(
                        "digest.not_ready_line",
                        reason=fmt.t(f"digest.reason.{state.value}"),
                        codes=codes_text(fmt, missing[state]),
                    )
                )

    # overdue: item, role, holders, days
    lines.append("")
    if s.overdue_list:
        lines.append(fmt.t("digest.overdue_header", n=n(len(s.overdue_list))))
        lines += more(
            fmt,
            [
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
            ],
        )
    else:
        lines.append(fmt.t("digest.overdue_none"))

    # due in the next N days
    days = data.upcoming_days
    lines.append("")
    if s.upcoming:
        lines.append(fmt.t("digest.upcoming_header", days=n(days), n=n(len(s.upcoming))))
        lines += more(
            fmt,
            [
                fmt.t(
                    "digest.upcoming_line",
                    due=fmt.date(u.due),
                    code=u.code,
                    period=fmt.period(u.period) if u.period else "",
                    stage=fmt.stage(u.stage),
                    role=data.view.role_name(data.upcoming_roles.get(u.occurrence_id)),
                )
                for u in s.upcoming
            ],
        )
    else:
        lines.append(fmt.t("digest.upcoming_none", days=n(days)))

    # what changed since the last digest
    lines.append("")
    if data.changes:
        header = (
            fmt.t(
                "digest.changes_header",
                since=_when(fmt, data.since, data),
                n=n(len(data.changes)),
            )
            if data.since is not None
            else fmt.t("digest.changes_header_week", n=n(len(data.changes)))
        )
        lines.append(header)
        counts = Counter(c.action for c in data.changes)
        lines.append(
            " · ".join(
                f"{_action(fmt, a)} {n(k)}"
                for a, k in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            )
        )
        lines += more(
            fmt,
            [
                fmt.t(
                    "digest.change_line",
                    when=_when(fmt, c.at, data),
                    code=c.code,
                    period=fmt.period(c.period_key),
                    action=_action(fmt, c.action),
                    actor=c.actor or fmt.t("act.system"),
                )
                for c in reversed(data.changes)  # newest first
            ],
        )
    else:
        lines.append(fmt.t("digest.changes_none"))

    # who cannot be reached
    if data.unreachable_people or data.unreachable_roles:
        lines += ["", fmt.t("digest.unreachable_header")]
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
                n=n(u.open),
            )
            for u in data.unreachable_roles
        ]
        lines += more(fmt, entries)

    lines += ["", fmt.t("digest.footer")]
    return fit("\n".join(lines))


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
