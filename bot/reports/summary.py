"""The chat message of a quarterly, six-monthly or annual report: the totals and what
needs attention.  The details are in the spreadsheet that goes with it."""

from __future__ import annotations

from bot.fmt import Fmt
from bot.reports.digest import codes_text, more, pct
from bot.reports.period_report import RESULT_LABELS, ReportData, ReportRow, Result
from bot.textfit import fit

ICONS = {
    Result.ON_TIME: "✅",
    Result.LATE: "🕒",
    Result.OVERDUE: "⚠️",
    Result.NOT_APPLICABLE: "➖",
    Result.BEFORE_TRACKING: "⏸",
    Result.NOT_DUE: "⏳",
}


def report_title(fmt: Fmt, data: ReportData) -> str:
    if data.scope == "year":
        return fmt.t("report.title.year", fy=fmt.num(data.fy))
    key = "report.title.half" if data.scope == "half" else "report.title.quarter"
    return fmt.t(key, period=fmt.period(data.period.key))


def result_text(fmt: Fmt, row: ReportRow) -> str:
    """``ตรงเวลา``, ``ล่าช้า ๓ วัน``, ``เลยกำหนด ๕ วัน``, ``ไม่มีในรอบนี้`` …"""
    if row.result is Result.LATE:
        return fmt.t("report.result.late", days=fmt.num(row.days))
    if row.result is Result.OVERDUE:
        return fmt.t("report.result.overdue", days=fmt.num(row.days))
    return fmt.t(f"report.result.{row.result.value}")


def render_report_message(fmt: Fmt, data: ReportData) -> str:
    """The chat message that goes with the report's files: totals, roles, what needs action."""
    lines = [
        fmt.t(
            "report.header",
            title=report_title(fmt, data),
            org=data.org_name,
            date=fmt.date(data.as_of),
            start=fmt.date(data.period.start),
            end=fmt.date(data.period.end),
        ),
        *_totals(fmt, data),
        *_by_role(fmt, data),
        *_attention(fmt, data),
        *_activities(fmt, data),
        "",
        fmt.t("report.files"),
    ]
    return fit("\n".join(lines), whole_lines=True)


def _totals(fmt: Fmt, data: ReportData) -> list[str]:
    n, total = fmt.num, data.totals.total
    return ["", fmt.t("report.totals_header", total=n(total))] + [
        fmt.t(
            "report.total_line",
            icon=ICONS[r],
            label=fmt.t(RESULT_LABELS[r]),
            n=n(data.totals[r]),
            pct=n(pct(data.totals[r], total)),
        )
        for r in Result
    ]


def _by_role(fmt: Fmt, data: ReportData) -> list[str]:
    """Each role with anything counted, the most overdue first."""
    n = fmt.num
    roles = sorted(
        (k for k, tally in data.by_role.items() if tally.total),
        key=lambda k: (-data.by_role[k][Result.OVERDUE], data.view.role_name(k)),
    )
    if not roles:
        return []
    lines = [
        fmt.t(
            "report.by_role_line",
            role=data.view.role_name(k),
            on_time=n(data.by_role[k][Result.ON_TIME]),
            late=n(data.by_role[k][Result.LATE]),
            overdue=n(data.by_role[k][Result.OVERDUE]),
            total=n(data.by_role[k].total),
        )
        for k in roles
    ]
    return ["", fmt.t("report.by_role_header"), *more(fmt, lines, limit=15)]


def _attention(fmt: Fmt, data: ReportData) -> list[str]:
    """What is still overdue (with who holds it), then what was published late."""
    n = fmt.num
    attention = data.attention()
    if attention:
        lines = [
            fmt.t("report.attention_header", n=n(len(attention))),
            *more(
                fmt,
                [
                    fmt.t(
                        "report.attention_line",
                        code=r.code,
                        title=r.title,
                        period=fmt.period(r.period_key),
                        role=data.view.role_name(r.owner),
                        holders=", ".join(r.holders) or fmt.t("esc.nobody"),
                        days=n(r.days),
                    )
                    for r in attention
                ],
            ),
        ]
    else:
        lines = [fmt.t("report.attention_none")]
    late = data.late()
    if late:
        codes = codes_text(fmt, [r.code for r in late])
        lines.append(fmt.t("report.late_header", n=n(len(late)), codes=codes))
    return ["", *lines]


def _activities(fmt: Fmt, data: ReportData) -> list[str]:
    due = [a for a in data.activities if a.in_period and a.row is not None]
    if not due:
        return []
    done = sum(
        1 for a in due if a.row is not None and a.row.result in (Result.ON_TIME, Result.LATE)
    )
    return ["", fmt.t("report.activities", done=fmt.num(done), total=fmt.num(len(due)))]
