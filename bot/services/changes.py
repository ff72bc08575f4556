"""A reported change: someone in an on-change item's chain says it changed, and an
occurrence opens for it, due in the policy's working days (three by default)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from bot.catalogue.schema import Item
from bot.domain import Action, FrequencyKind, Kind, OccStatus, Stage
from bot.domain.fiscal import fiscal_year
from bot.schedule.reminders import next_slot
from bot.schedule.rules import PlannedOccurrence, plan_change
from bot.services.authz import forbidden
from bot.services.handoff import notify_next, own_follow_up
from bot.services.outcome import Outcome
from bot.store import repo
from bot.store.models import CatalogueVersion, Occurrence, StageEvent

if TYPE_CHECKING:
    from bot.services.chain import Chain


async def open_change(
    chain: Chain, code: str, org_id: int | None = None, *, notify: bool = True
) -> Outcome:
    """Someone in the chain reports that an on-change item changed: an occurrence opens."""
    org_id = org_id or chain.actor.org_id
    if not chain.scope.sees(org_id):
        return Outcome(False, "act.not_found")
    found = await _on_change_item(chain, org_id, code)
    if found is None:
        return Outcome(False, "act.not_found")
    adopted, item = found
    refused = await _refusal(chain, org_id, item)
    if refused is not None:
        return refused
    occ = await _plan_and_add(chain, org_id, adopted, item)
    if notify:
        await notify_next(chain, occ, occ.stage, "notify.change")
    return Outcome(
        True,
        "act.change_opened",
        {"code": item.code, "due": occ.due_date},
        occ,
        follow_up=await own_follow_up(chain, occ),
    )


async def _on_change_item(
    chain: Chain, org_id: int, code: str
) -> tuple[CatalogueVersion, Item] | None:
    """The on-change item ``code`` of the office's catalogue of this fiscal year."""
    adopted = await repo.adopted_catalogue(chain.s, org_id, fiscal_year(chain.today))
    if adopted is None:
        return None
    item = chain.ctx.catalogue_from_text(adopted.sha256, adopted.content).item(code)
    if item is None or item.frequency.kind is not FrequencyKind.ON_CHANGE:
        return None
    return adopted, item


async def _refusal(chain: Chain, org_id: int, item: Item) -> Outcome | None:
    """Only someone in the item's chain (or an admin) reports it; one open change at a time."""
    roles = set(item.stage_roles().values())
    if not chain.scope.administers(org_id) and not roles & set(
        await repo.roles_of(chain.s, chain.actor.id, chain.now)
    ):
        return await forbidden(chain.s, org_id, item.code, Stage.PREPARE, item.prepare, chain.now)
    existing = await chain.s.scalar(
        select(Occurrence).where(
            Occurrence.org_id == org_id,
            Occurrence.code == item.code,
            Occurrence.kind == Kind.CHANGE.value,
            Occurrence.status == OccStatus.OPEN.value,
        )
    )
    if existing is not None:
        params = {"code": item.code, "due": existing.due_date}
        return Outcome(False, "changed.open_already", params, existing)
    return None


async def _plan_and_add(
    chain: Chain, org_id: int, adopted: CatalogueVersion, item: Item
) -> Occurrence:
    """The change's occurrence (the n-th of the day has key …C<date>-n) and its event."""
    today = chain.today
    same_day = await chain.s.scalar(
        select(func.count())
        .select_from(Occurrence)
        .where(
            Occurrence.org_id == org_id,
            Occurrence.code == item.code,
            Occurrence.period_key.like(f"%C{today:%Y%m%d}%"),
        )
    )
    cal = await chain.calendar(org_id, fiscal_year(today))
    planned = plan_change(item, today, cal, chain.ctx.policy, seq=int(same_day or 0) + 1)
    first = planned.stages[0]
    at = next_slot(first.due, chain.now, cal, chain.ctx.policy, chain.ctx.tz).at
    occ = _occurrence(planned, org_id, adopted.id, at, chain)
    chain.s.add(occ)
    await chain.s.flush()
    chain.s.add(
        StageEvent(
            org_id=org_id,
            occurrence_id=occ.id,
            at=chain.now,
            actor_id=chain.actor.id,
            action=Action.REPORT_CHANGE,
            stage=None,
            to_stage=first.stage.value,
        )
    )
    return occ


def _occurrence(
    planned: PlannedOccurrence, org_id: int, catalogue_id: int, remind_at: datetime, chain: Chain
) -> Occurrence:
    first = planned.stages[0]
    stage_cols = {f"{s.stage.value}_role": s.role for s in planned.stages} | {
        f"{s.stage.value}_due": s.due for s in planned.stages
    }
    return Occurrence(
        org_id=org_id,
        fiscal_year=planned.fiscal_year,
        catalogue_id=catalogue_id,
        code=planned.code,
        kind=Kind.CHANGE.value,
        period_key=planned.period.key,
        period_start=planned.period.start,
        period_end=planned.period.end,
        nominal_due=planned.nominal_due,
        due_date=planned.due,
        stage=first.stage.value,
        status=OccStatus.OPEN.value,
        current_role=first.role,
        current_due=first.due,
        next_remind_at=remind_at,
        stage_started_at=chain.now,
        version=1,
        created_at=chain.now,
        updated_at=chain.now,
        **stage_cols,
    )
