"""``/item O23``: one item's periods this fiscal year, their history, and the proof of
each evidence link (first seen live, the last check)."""

from __future__ import annotations

from collections.abc import Mapping

from bot.catalogue.schema import Catalogue
from bot.domain import OccStatus
from bot.domain.enums import WITH_NOTE
from bot.domain.fiscal import fiscal_year, fy_month_date
from bot.domain.thai import format_month
from bot.handlers.common import Context, Turn, handler, when_text
from bot.handlers.staff import code_arg
from bot.services.links import links_by_url
from bot.services.org import catalogue_for
from bot.services.views import ItemHistory, item_history
from bot.store.models import EvidenceLink


def link_line(turn: Turn, link: EvidenceLink | None) -> str:
    """The proof line under an evidence URL: first seen live, and the last check."""
    if link is None or link.last_checked_at is None:
        return turn.t("item.not_checked")
    checked = when_text(turn.fmt, link.last_checked_at, turn.ctx)
    state = turn.t(f"link.state.{link.state}")
    if link.first_live_at is None:
        return turn.t("item.not_live_yet", checked=checked, state=state)
    first = when_text(turn.fmt, link.first_live_at, turn.ctx)
    return turn.t("item.first_live", when=first, checked=checked, state=state)


def render_item(
    turn: Turn,
    cat: Catalogue,
    code: str,
    fy: int,
    hist: ItemHistory,
    links: Mapping[str, EvidenceLink],
) -> list[str]:
    fmt = turn.fmt
    names = {r.key: r.name for r in cat.roles}
    it, act = cat.item(code), cat.activity(code)
    if it is not None:
        lines = [
            fmt.t("item.header", code=code, title=it.title, freq=it.frequency.phrase,
                  prepare=names[it.prepare], collect=names[it.collect], publish=names[it.publish])
        ]  # fmt: skip
    else:
        assert act is not None
        d = fy_month_date(fy, act.due.month, 1, act.due.fy_offset)
        lines = [
            fmt.t("item.header_activity", code=code, title=act.title, role=names[act.responsible],
                  due=format_month(d.year, d.month, thai_digits=fmt.thai_digits), q=fmt.num(act.report_quarter))
        ]  # fmt: skip
    if not hist.occurrences:
        lines += ["", fmt.t("item.none", code=code)]
    for occ in hist.occurrences:
        status = (
            fmt.t("status.open", stage=fmt.stage(occ.stage))
            if occ.status == OccStatus.OPEN
            else fmt.t(f"status.{occ.status}")
        )
        lines += [
            "",
            fmt.t(
                "item.occ",
                period=fmt.period(occ.covered_key),
                status=status,
                due=fmt.date(occ.due_date),
            ),
        ]
        if occ.evidence_url:
            lines.append(fmt.t("item.url", url=occ.evidence_url))
            lines.append(link_line(turn, links.get(occ.evidence_url)))
        for ev in hist.events.get(occ.id, []):
            note = f" — {ev.note}" if ev.note and ev.action in WITH_NOTE else ""
            if ev.evidence_url:
                note = f" — {ev.evidence_url}"
            who = ev.actor.name if ev.actor is not None else fmt.t("act.system")
            lines.append(
                fmt.t("item.event", when=when_text(fmt, ev.at, turn.ctx), name=who,
                      action=fmt.t(f"action.{ev.action}"), note=note)
            )  # fmt: skip
    return lines


@handler()
async def item(turn: Turn, context: Context) -> None:
    if not context.args:
        turn.say(turn.t("item.usage"))
        return
    code = code_arg(context.args[0])
    fy = fiscal_year(turn.today)
    cat = await catalogue_for(turn.session, turn.ctx, turn.person.org_id, fy)
    if cat is None or (cat.item(code) is None and cat.activity(code) is None):
        turn.say(turn.t("item.unknown", code=code[:12], n=len(cat.items) if cat else 43))
        return
    hist = await item_history(turn.session, turn.person.org_id, code, fy, edition=cat.edition)
    links = await links_by_url(turn.session, turn.person.org_id)
    turn.say_lines(render_item(turn, cat, code, fy, hist, links))
