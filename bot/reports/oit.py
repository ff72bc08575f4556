"""The ITAS hand-in: for each OIT item of a fiscal year, in the catalogue's order, its
number and title, the evidence URL of each period the year requires, the link's last
check, when it was first seen live, and what is still missing.

``python -m bot oit --fy 2570 --out oit.xlsx`` and ``/oit`` in chat.  It comes as an
XLSX (A4, Thai, BE dates: :mod:`bot.reports.oit_xlsx`) and as plain text to paste into
ITAS one item at a time (:func:`oit_text`).  Its second sheet is the record of every
check of each link, for the office's own files.

A period counts as handed in when it is published with a link that was live at its last
check, or recorded as not applicable.  An on-change item needs one published, live URL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import FrequencyKind, LinkState, OccStatus
from bot.domain.thai import digits
from bot.fmt import Fmt
from bot.reports.period_report import _na_notes
from bot.services.context import AppContext
from bot.services.links import links_by_url
from bot.services.org import catalogue_for, current_catalogue
from bot.store.models import CatalogueVersion, EvidenceLink, LinkCheck, Occurrence


@dataclass(frozen=True)
class OitPeriod:
    period_key: str | None  # None: an on-change item (no period)
    status: str  # an occurrence status, or "missing"
    url: str | None = None
    link: EvidenceLink | None = None
    note: str | None = None  # why it does not apply
    checks: tuple[LinkCheck, ...] = ()

    @property
    def missing(self) -> str | None:
        """None when handed in; otherwise an ``oit.missing.*`` key."""
        if self.status == OccStatus.NOT_APPLICABLE.value:
            return None
        if self.status == OccStatus.BEFORE_TRACKING.value:
            return "before_tracking"
        if self.url is None:
            return "not_published"
        if self.link is None or self.link.last_checked_at is None:
            return "link_unchecked"
        return None if self.link.state == LinkState.LIVE else "link_dead"


@dataclass
class OitItem:
    number: int
    code: str
    title: str
    periods: list[OitPeriod] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return bool(self.periods) and all(p.missing is None for p in self.periods)


@dataclass
class OitData:
    org_name: str
    fy: int
    now: datetime
    edition: str
    items: list[OitItem]
    tz: ZoneInfo

    @property
    def complete(self) -> int:
        return sum(1 for i in self.items if i.complete)


def _latest(occs: list[Occurrence]) -> Occurrence:
    """The occurrence that speaks for a period: the latest published, else the latest."""
    done = [o for o in occs if o.status == OccStatus.DONE.value and o.evidence_url]
    pool = done or occs
    return max(pool, key=lambda o: (o.completed_at or o.updated_at, o.id))


async def oit_data(
    session: AsyncSession, ctx: AppContext, org_id: int, org_name: str, fy: int, now: datetime
) -> OitData:
    cat = await catalogue_for(session, ctx, org_id, fy) or await current_catalogue(
        session, ctx, org_id
    )
    occs = list(
        await session.scalars(
            select(Occurrence)
            .join(CatalogueVersion, CatalogueVersion.id == Occurrence.catalogue_id)
            .where(
                Occurrence.org_id == org_id,
                Occurrence.fiscal_year <= fy,
                Occurrence.code.in_([i.code for i in cat.items]),
                Occurrence.status != OccStatus.CANCELLED.value,
                CatalogueVersion.edition == cat.edition,
            )
            .order_by(Occurrence.period_start, Occurrence.id)
        )
    )
    links = await links_by_url(session, org_id)
    checks = await _checks(session, [link.id for link in links.values()])
    notes = await _na_notes(
        session, [o.id for o in occs if o.status == OccStatus.NOT_APPLICABLE.value]
    )

    def period(key: str | None, occ: Occurrence | None) -> OitPeriod:
        if occ is None:
            return OitPeriod(key, "missing")
        url = occ.evidence_url if occ.status == OccStatus.DONE.value else None
        link = links.get(url) if url else None
        return OitPeriod(
            key, occ.status, url, link, notes.get(occ.id), checks.get(link.id, ()) if link else ()
        )

    items = []
    for item in sorted(cat.items, key=lambda i: i.number):
        mine = [o for o in occs if o.code == item.code]
        row = OitItem(item.number, item.code, item.title)
        if item.frequency.kind is FrequencyKind.ON_CHANGE:
            published = [o for o in mine if o.status == OccStatus.DONE.value and o.evidence_url]
            row.periods.append(period(None, _latest(published) if published else None))
        else:
            by_period: dict[str, list[Occurrence]] = {}
            for o in mine:
                if o.kind == "periodic" and o.fiscal_year == fy:
                    by_period.setdefault(o.covered_key, []).append(o)
            row.periods += [period(k, _latest(v)) for k, v in by_period.items()]
            if not by_period:
                row.periods.append(period(str(fy), None))
        items.append(row)
    return OitData(org_name, fy, now, cat.edition, items, ctx.tz)


async def _checks(session: AsyncSession, link_ids: list[int]) -> dict[int, tuple[LinkCheck, ...]]:
    out: dict[int, list[LinkCheck]] = {}
    if link_ids:
        rows = await session.scalars(
            select(LinkCheck)
            .where(LinkCheck.link_id.in_(link_ids))
            .order_by(LinkCheck.link_id, LinkCheck.at, LinkCheck.id)
        )
        for c in rows:
            out.setdefault(c.link_id, []).append(c)
    return {k: tuple(v) for k, v in out.items()}


# -- plain text, to paste into ITAS --------------------------------------------------------


def when(fmt: Fmt, at: datetime, tz: ZoneInfo) -> str:
    local = at.astimezone(tz)
    return f"{fmt.date(local.date())} {digits(local.strftime('%H:%M'), fmt.thai_digits and fmt.lang == 'th')}"


def check_text(fmt: Fmt, p: OitPeriod, tz: ZoneInfo) -> str:
    """The link's last check and its first time live, in one line."""
    link = p.link
    if link is None or link.last_checked_at is None:
        return fmt.t("link.state.unchecked")
    text = f"{when(fmt, link.last_checked_at, tz)} {fmt.t(f'link.state.{link.state}')}"
    if link.state == LinkState.DEAD and link.reason:
        text += f": {fmt.t(f'link.reason.{link.reason}', status=fmt.num(link.http_status or 0))}"
    return text


def first_live_text(fmt: Fmt, p: OitPeriod, tz: ZoneInfo) -> str:
    if p.link is None or p.link.first_live_at is None:
        return fmt.t("oit.never_live")
    return when(fmt, p.link.first_live_at, tz)


def missing_text(fmt: Fmt, p: OitPeriod) -> str:
    if p.status == OccStatus.NOT_APPLICABLE.value:
        return fmt.t("oit.na", reason=p.note or "-")
    return fmt.t(f"oit.missing.{p.missing}") if p.missing else ""


def period_text(fmt: Fmt, p: OitPeriod) -> str:
    return fmt.period(p.period_key) if p.period_key else fmt.t("oit.on_change")


def oit_text(fmt: Fmt, data: OitData) -> list[str]:
    """One block per item (separated by a blank line), to paste into ITAS one at a time."""
    tz = data.tz
    lines = [
        fmt.t("oit.title", org=data.org_name, fy=fmt.num(data.fy)),
        fmt.t("oit.count", n=fmt.num(data.complete), total=fmt.num(len(data.items))),
    ]
    for item in data.items:
        lines += ["", f"{item.code} {item.title}"]
        for p in item.periods:
            lines.append(f"• {period_text(fmt, p)}: {p.url or fmt.t('oit.no_url')}")
            if p.url:
                lines.append(
                    "  " + fmt.t("oit.check_line", checked=check_text(fmt, p, tz),
                                 first=first_live_text(fmt, p, tz))
                )  # fmt: skip
        one = len(item.periods) == 1
        missing = [
            missing_text(fmt, p) if one else f"{period_text(fmt, p)}: {missing_text(fmt, p)}"
            for p in item.periods
            if p.missing
        ]
        lines.append(
            fmt.t("oit.missing_line", what="; ".join(missing)) if missing else fmt.t("oit.complete")
        )
    return lines


# -- the files -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OitFiles:
    xlsx: bytes
    lines: list[str]
    filename: str


async def build_oit(
    ctx: AppContext,
    fy: int,
    *,
    org_id: int | None = None,
    now: datetime | None = None,
    fmt: Fmt | None = None,
) -> OitFiles:
    """The hand-in of ``fy`` for an office (default: the default office).  The data is read
    in one transaction; the workbook is drawn after it (in a worker thread)."""
    import asyncio

    from bot.reports.oit_xlsx import oit_xlsx
    from bot.services.org import get_org

    now = now or ctx.clock.now()
    fmt = fmt or Fmt.of(ctx.settings)
    async with ctx.db.transaction() as s:
        org = await get_org(s, org_id)
        data = await oit_data(s, ctx, org.id, org.name, fy, now)
    xlsx = await asyncio.to_thread(oit_xlsx, fmt, data)
    return OitFiles(xlsx, oit_text(fmt, data), f"itas-oit-{fy}.xlsx")
