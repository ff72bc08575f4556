"""The head of the office: the fiscal year at a glance."""

from __future__ import annotations

from bot.domain import code_key
from bot.domain.fiscal import fiscal_year
from bot.fmt import Fmt
from bot.handlers.common import Context, Turn, handler
from bot.services.org import current_catalogue
from bot.services.views import Summary, summarise
from bot.textfit import clip

MAX_LINES = 15
URL_SHOWN = 200  # an evidence URL in a listing (the whole one is in /item)


def render_status(fmt: Fmt, summary: Summary, role_names: dict[str, str]) -> list[str]:
    n = fmt.num
    lines = [
        fmt.t("status.header", fy=n(summary.fy), date=fmt.date(summary.today)),
        fmt.t(
            "status.totals",
            done=n(summary.done),
            progress=n(summary.open),
            overdue=n(summary.overdue),
            na=n(summary.not_applicable),
            before=n(summary.before_tracking),
            total=n(summary.total),
        ),
        "",
        fmt.t("status.by_role_header"),
    ]
    for key, c in sorted(
        summary.by_role.items(), key=lambda kv: (-kv[1].overdue, role_names.get(kv[0], kv[0]))
    ):
        if c.total:
            lines.append(
                fmt.t(
                    "status.by_role",
                    role=role_names.get(key, key),
                    done=n(c.done),
                    open=n(c.open),
                    overdue=n(c.overdue),
                )
            )
    return lines + _by_item(fmt, summary) + _overdue_and_published(fmt, summary, role_names)


def _by_item(fmt: Fmt, summary: Summary) -> list[str]:
    """Each item's done/total, six to a line, ⚠️ when anything of it is overdue."""
    n = fmt.num
    cells = []
    for code, c in sorted(summary.by_item.items(), key=lambda kv: code_key(kv[0])):
        mark = (
            "⚠️" if c.overdue else ("✅" if c.total and c.done + c.not_applicable == c.total else "")
        )
        cells.append(f"{code} {mark}{n(c.done + c.not_applicable)}/{n(c.total)}")
    rows = [" · ".join(cells[i : i + 6]) for i in range(0, len(cells), 6)]
    return ["", fmt.t("status.by_item_header"), *rows]


def _overdue_and_published(fmt: Fmt, summary: Summary, role_names: dict[str, str]) -> list[str]:
    n = fmt.num
    lines = [""]
    if summary.overdue_list:
        lines.append(fmt.t("status.overdue_header", n=n(len(summary.overdue_list))))
        for o in summary.overdue_list[:MAX_LINES]:
            occ = o.occurrence
            lines.append(
                fmt.t(
                    "status.overdue_line",
                    code=occ.code,
                    period=fmt.period(occ.covered_key),
                    stage=fmt.stage(occ.stage),
                    role=role_names.get(o.role, o.role),
                    holders=", ".join(p.name for p in o.holders) or "-",
                    days=n(o.days),
                )
            )
        if len(summary.overdue_list) > MAX_LINES:
            lines.append(fmt.t("rem.more", n=n(len(summary.overdue_list) - MAX_LINES)))
    else:
        lines.append(fmt.t("status.overdue_none"))
    if summary.published:
        lines += ["", fmt.t("status.published_header")]
        lines += [
            fmt.t(
                "status.published_line",
                code=occ.code,
                period=fmt.period(occ.covered_key),
                url=clip(occ.evidence_url or "", URL_SHOWN),
            )
            for occ in summary.published[:MAX_LINES]
        ]
    return lines


@handler("head")
async def status(turn: Turn, context: Context) -> None:
    fy = fiscal_year(turn.today)
    summary = await summarise(turn.session, turn.ctx, turn.person.org_id, fy, turn.now)
    cat = await current_catalogue(turn.session, turn.ctx, turn.person.org_id)
    turn.say_lines(render_status(turn.fmt, summary, {r.key: r.name for r in cat.roles}))
