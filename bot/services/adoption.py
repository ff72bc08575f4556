"""``python -m bot catalogue adopt``: offices follow an edition in one fiscal year.

Adopting for a year re-plans that year only: its open stages follow the new catalogue,
the old edition's plans nobody acted on go, and what has history stays with its own
item.  Every other year, with its occurrences, events and evidence, is not touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from bot.catalogue.schema import Catalogue, Measure
from bot.domain.fiscal import fiscal_year
from bot.services.context import AppContext
from bot.services.materialise import MaterialiseStats, materialise
from bot.services.org import OrgError, adopt_edition, get_org
from bot.store.models import Organisation


@dataclass(frozen=True)
class OfficeAdoption:
    org_id: int
    name: str
    edition: str
    previous: str | None  # the edition the year followed before, if another version
    changed: bool
    items: int
    activities: int


@dataclass
class AdoptionReport:
    fy: int
    offices: list[OfficeAdoption] = field(default_factory=list)
    stats: MaterialiseStats | None = None  # None: the year is not planned yet


async def adopt_for_offices(
    ctx: AppContext,
    shared: Catalogue,
    fy: int,
    now: datetime,
    *,
    org_id: int | None = None,
    every_office: bool = False,
    measures: Sequence[Measure] | None = None,
) -> AdoptionReport:
    """The office (``org_id``, the default one, or every office) follows ``shared`` in ``fy``.

    Measures: ``measures`` if given, else each office keeps its own (or takes those
    ``shared`` brings, if ``shared`` is that office's catalogue)."""
    current = fiscal_year(now.astimezone(ctx.tz).date())
    if fy < current:
        raise OrgError(
            f"fiscal year {fy} is over (this is {current}): its history stays with the "
            "edition it followed"
        )
    report = AdoptionReport(fy)
    async with ctx.db.transaction() as s:
        if every_office:
            orgs = list(await s.scalars(select(Organisation).order_by(Organisation.id)))
        else:
            orgs = [await get_org(s, org_id)]
        for org in orgs:
            done = await adopt_edition(s, ctx, org, fy, shared, now, measures=measures)
            previous = done.previous
            report.offices.append(
                OfficeAdoption(
                    org.id,
                    org.name,
                    done.catalogue.edition,
                    previous.edition if previous and previous.id != done.version.id else None,
                    done.changed,
                    len(done.catalogue.items),
                    len(done.catalogue.activities),
                )
            )
    if fy <= current + 1:  # the years materialisation keeps
        report.stats = await materialise(
            ctx, now, org_ids=[o.org_id for o in report.offices], fiscal_years=[fy]
        )
    return report


def describe(report: AdoptionReport) -> str:
    lines = []
    for o in report.offices:
        was = f" (was {o.previous})" if o.previous and o.previous != o.edition else ""
        state = "now follows" if o.changed else "already follows"
        lines.append(
            f"office #{o.org_id} {o.name}: FY {report.fy} {state} {o.edition}{was}: "
            f"{o.items} items, {o.activities} activities of its own"
        )
    st = report.stats
    if st is None:
        lines.append(f"FY {report.fy} is planned when it becomes the next fiscal year")
    else:
        lines.append(
            f"FY {report.fy}: {st.created} occurrences planned, {st.rescheduled} rescheduled, "
            f"{st.withdrawn} withdrawn; another edition's: {st.removed} plans removed, "
            f"{st.kept} with history withdrawn and kept; other years untouched"
        )
    return "\n".join(lines) + "\n"
