"""ITA readiness: for each item, whether what the assessors look at is in place."""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.catalogue.schema import Catalogue
from bot.domain import DueDate, FrequencyKind, LinkState, OccStatus
from bot.domain.fiscal import fiscal_year
from bot.services.context import AppContext
from bot.services.links import links_by_url
from bot.store.models import (
    CatalogueVersion,
    Occurrence,
)

# -- ITA readiness ---------------------------------------------------------------------------


class ReadyState(StrEnum):
    PUBLISHED = "published"
    NOT_APPLICABLE = "not_applicable"
    OVERDUE = "overdue"
    PENDING = "pending"
    BEFORE_TRACKING = "before_tracking"
    NO_URL = "no_url"
    CONFIRM_OVERDUE = "confirm_overdue"
    MISSING = "missing"
    LINK_DEAD = "link_dead"
    LINK_UNCHECKED = "link_unchecked"

    @property
    def ready(self) -> bool:
        return self in (ReadyState.PUBLISHED, ReadyState.NOT_APPLICABLE)


@dataclass(frozen=True)
class ItemReadiness:
    code: str
    state: ReadyState
    url: str | None = None

    @property
    def ready(self) -> bool:
        return self.state.ready


@dataclass
class Readiness:
    today: date
    window: date
    items: list[ItemReadiness] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def ready(self) -> int:
        return sum(1 for i in self.items if i.ready)

    @property
    def days_left(self) -> int:
        return (self.window - self.today).days

    def not_ready(self) -> dict[ReadyState, list[str]]:
        out: dict[ReadyState, list[str]] = {}
        for i in self.items:
            if not i.ready:
                out.setdefault(i.state, []).append(i.code)
        return out


def next_oit_window(today: date, window: DueDate) -> date:
    """The next date (today or later) with the window's month and day."""
    for year in (today.year, today.year + 1):
        last = calendar.monthrange(year, window.month)[1]
        d = date(year, window.month, min(window.day, last))
        if d >= today:
            return d
    raise AssertionError("unreachable: a month/day recurs within a year")  # pragma: no cover


def _is_evidence(o: Occurrence) -> bool:
    return (o.status == OccStatus.DONE.value and bool(o.evidence_url)) or (
        o.status == OccStatus.NOT_APPLICABLE.value
    )


def assess_readiness(
    catalogue: Catalogue,
    occurrences: Iterable[Occurrence],
    today: date,
    window: date,
    links: Mapping[str, str] | None = None,
) -> Readiness:
    """ITA readiness on ``today``: which of the catalogue's items could be shown to the
    OIT assessors now, from what is on record.

    * **Periodic items** (monthly, six-monthly, yearly).  The item's *current* occurrence
      is the latest one whose due date is before ``today`` (it has fallen due).  The item
      is ready when that occurrence, or a later one, is done with an evidence URL or
      recorded as not applicable.  Otherwise the state says why: ``overdue`` (still
      open), ``before_tracking`` (it fell due before the office started tracking, so
      there is no evidence on record).  When none has fallen due yet (a new fiscal year's
      yearly item in October, say, with last year's not on record), it is ready only if
      one was already published early, else ``pending``.  ``missing``: no occurrence at all.
    * **On-change items** (updated whenever they change).  Ready when some evidence URL
      is on record for the item (a published change) and neither the latest quarterly
      confirmation that has fallen due nor a reported change is still open past its due
      date.  Otherwise ``no_url`` or ``confirm_overdue`` / ``overdue``.

    Occurrences that were cancelled (withdrawn from the catalogue) are ignored.

    With ``links`` (evidence URL → the state of its last check, see
    :mod:`bot.services.links`), only live links count: a published item whose link is
    dead is ``link_dead``, one whose link was never checked ``link_unchecked``.
    """
    by_code: dict[str, list[Occurrence]] = {}
    for o in occurrences:
        if o.status != OccStatus.CANCELLED.value:
            by_code.setdefault(o.code, []).append(o)
    out = Readiness(today=today, window=window)
    for item in sorted(catalogue.items, key=lambda i: i.number):
        occs = sorted(by_code.get(item.code, []), key=lambda o: (o.due_date, o.period_start))
        if item.frequency.kind is FrequencyKind.ON_CHANGE:
            got = _on_change_readiness(item.code, occs, today)
        else:
            got = _periodic_readiness(item.code, occs, today)
        out.items.append(_live_only(got, links))
    return out


def _live_only(got: ItemReadiness, links: Mapping[str, str] | None) -> ItemReadiness:
    if links is None or got.state is not ReadyState.PUBLISHED or got.url is None:
        return got
    state = links.get(got.url, LinkState.UNCHECKED)
    if state == LinkState.LIVE:
        return got
    bad = ReadyState.LINK_DEAD if state == LinkState.DEAD else ReadyState.LINK_UNCHECKED
    return ItemReadiness(got.code, bad, got.url)


def _periodic_readiness(code: str, occs: list[Occurrence], today: date) -> ItemReadiness:
    periodic = [o for o in occs if o.kind == "periodic"]
    if not periodic:
        return ItemReadiness(code, ReadyState.MISSING)
    fallen = [o for o in periodic if o.due_date < today]
    current = fallen[-1] if fallen else None
    newer = [o for o in periodic if current is None or o.period_start >= current.period_start]
    evidence = [o for o in newer if _is_evidence(o)]
    if evidence:
        best = evidence[-1]
        state = (
            ReadyState.PUBLISHED
            if best.status == OccStatus.DONE.value
            else ReadyState.NOT_APPLICABLE
        )
        return ItemReadiness(code, state, best.evidence_url)
    if current is None:
        return ItemReadiness(code, ReadyState.PENDING)
    if current.status == OccStatus.BEFORE_TRACKING.value:
        return ItemReadiness(code, ReadyState.BEFORE_TRACKING)
    if current.status == OccStatus.OPEN.value:
        return ItemReadiness(code, ReadyState.OVERDUE)
    return ItemReadiness(code, ReadyState.NO_URL)  # done without a URL


def _on_change_readiness(code: str, occs: list[Occurrence], today: date) -> ItemReadiness:
    published = [o for o in occs if o.status == OccStatus.DONE.value and o.evidence_url]
    if not published:
        return ItemReadiness(code, ReadyState.NO_URL)
    confirms = [o for o in occs if o.kind == "confirm" and o.due_date < today]
    if confirms and confirms[-1].status == OccStatus.OPEN.value:
        return ItemReadiness(code, ReadyState.CONFIRM_OVERDUE)
    if any(
        o.kind == "change" and o.status == OccStatus.OPEN.value and o.due_date < today for o in occs
    ):
        return ItemReadiness(code, ReadyState.OVERDUE)
    latest = max(published, key=lambda o: (o.due_date, o.id))
    return ItemReadiness(code, ReadyState.PUBLISHED, latest.evidence_url)


async def readiness(
    session: AsyncSession, ctx: AppContext, org_id: int, catalogue: Catalogue, today: date
) -> Readiness:
    """:func:`assess_readiness` over this and the previous fiscal year's occurrences of
    the catalogue's own items: evidence of another edition's item with the same number
    is that item's, not this one's."""
    fy = fiscal_year(today)
    codes = [i.code for i in catalogue.items]
    occs = await session.scalars(
        select(Occurrence)
        .join(CatalogueVersion, CatalogueVersion.id == Occurrence.catalogue_id)
        .where(
            Occurrence.org_id == org_id,
            Occurrence.fiscal_year.in_((fy - 1, fy)),
            Occurrence.code.in_(codes),
            CatalogueVersion.edition == catalogue.edition,
        )
    )
    window = next_oit_window(today, ctx.settings.oit_window)
    links = {url: link.state for url, link in (await links_by_url(session, org_id)).items()}
    return assess_readiness(catalogue, list(occs), today, window, links)
