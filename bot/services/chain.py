"""The chain of one occurrence: prepare → collect/review → publish (or a single stage).

Every state change is one conditional UPDATE (guarded by the occurrence's stage and
version, its row count checked) plus its stage event, in the caller's transaction.  A
second press, or two people pressing at once, moves the stage once; the later one
learns who did it and when.  Rights are checked here, against the database: only a
holder of the stage's role, or an admin of its office (:mod:`bot.services.authz`), may act.

Beside it: :mod:`bot.services.changes` (a reported change opens an occurrence),
:mod:`bot.services.handoff` (telling the holders of the next stage),
:mod:`bot.services.prompts` (the free text the bot asked for), and
:mod:`bot.services.outcome` (what an action came to, for the handler).
"""

from __future__ import annotations

import functools
import re
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import (
    CHAIN,
    COMPLETING,
    FINISHED,
    Action,
    OccStatus,
    Stage,
)
from bot.schedule.reminders import next_slot, slot_instant
from bot.schedule.workdays import WorkCalendar
from bot.services.access import Scope
from bot.services.authz import forbidden, may_act, role_name
from bot.services.calendars import OfficeCalendar, office_calendar
from bot.services.changes import open_change
from bot.services.context import AppContext
from bot.services.evidence import check_evidence_url
from bot.services.handoff import notify_next, own_follow_up
from bot.services.links import keep_checking
from bot.services.outcome import Outcome
from bot.services.prompts import set_prompt
from bot.services.supersede import drop_moved_on, drop_stale_reminders
from bot.store.models import Occurrence, Person, StageEvent
from bot.textfit import clip

# what people type is capped as it comes in (and they are told): a reason or note is at
# most MAX_NOTE_LENGTH characters, an evidence URL at most evidence.MAX_URL_LENGTH
MAX_NOTE_LENGTH = 500
ECHO_LENGTH = 80  # how much of a refused input a reply quotes back


def next_stage(occ: Occurrence, stage: str) -> Stage | None:
    if stage not in CHAIN:
        return None
    for s in CHAIN[CHAIN.index(stage) + 1 :]:
        if occ.role_for(s):
            return s
    return None


URL_RE = re.compile(r"https?://\S+", re.IGNORECASE)


class Chain:
    """The chain's operations for one unit of work (one session, one ``now``)."""

    def __init__(
        self, session: AsyncSession, ctx: AppContext, actor: Person, now: datetime
    ) -> None:
        self.s = session
        self.ctx = ctx
        self.actor = actor
        self.now = now
        self.scope = Scope.of(ctx, actor)
        self._calendars: dict[int, OfficeCalendar] = {}

    async def calendar(self, org_id: int, fy: int) -> WorkCalendar:
        """The office's working calendar of ``fy`` (read once per unit of work)."""
        if org_id not in self._calendars:
            self._calendars[org_id] = await office_calendar(self.s, self.ctx, org_id)
        return self._calendars[org_id](fy)

    # -- checks ---------------------------------------------------------------------------
    @property
    def today(self) -> date:
        return self.now.astimezone(self.ctx.tz).date()

    async def _forbidden(self, occ: Occurrence, stage: str) -> Outcome:
        role = occ.role_for(stage)
        return await forbidden(self.s, occ.org_id, occ.code, stage, role, self.now, occ)

    async def _already(self, occ: Occurrence, stage: str) -> Outcome:
        ev = await self.s.scalar(
            select(StageEvent)
            .where(
                StageEvent.occurrence_id == occ.id,
                StageEvent.stage == stage,
                StageEvent.action.in_(COMPLETING),
            )
            .order_by(StageEvent.at.desc(), StageEvent.id.desc())
            .limit(1)
        )
        if ev is not None:
            name = ev.actor.name if ev.actor is not None else None
            return Outcome(
                False,
                "act.already",
                {"code": occ.code, "stage": stage, "name": name, "when": ev.at},
                occ,
            )
        return Outcome(
            False,
            "act.closed",
            {"code": occ.code, "period": occ.covered_key, "status": occ.status},
            occ,
        )

    async def load(self, occ_id: int, stage: str) -> tuple[Occurrence | None, Outcome | None]:
        """The occurrence if ``stage`` is its open stage and the actor may act on it."""
        occ = await self.scope.occurrence(self.s, occ_id)
        if occ is None:  # no such record, or another office's: nothing to say about it
            return None, Outcome(False, "act.not_found")
        if stage not in (*CHAIN, Stage.CONFIRM) or occ.role_for(stage) is None:
            return None, Outcome(False, "act.not_found")
        if not await may_act(self.s, self.scope, self.actor, occ, stage, self.now):
            return None, await self._forbidden(occ, stage)
        if occ.status != OccStatus.OPEN.value or occ.stage != stage:
            return None, await self._already(occ, stage)
        return occ, None

    async def _ask(
        self, occ: Occurrence, prompt: str, key: str, params: dict[str, Any], *, ok: bool = True
    ) -> Outcome:
        """The bot needs free text (a reason, a URL): remember what the next message answers."""
        await set_prompt(self.s, self.actor, prompt, occ, self.now)
        return Outcome(ok, key, params, occ, prompt=prompt)

    async def _too_long(self, occ: Occurrence, prompt: str, text: str) -> Outcome:
        """Free text over the cap: refused politely, the question stays open."""
        params = {"code": occ.code, "n": len(text.strip()), "max": MAX_NOTE_LENGTH}
        return await self._ask(occ, prompt, "ask.too_long", params, ok=False)

    async def _unusable_reason(
        self, occ: Occurrence, prompt: str, reason: str | None
    ) -> Outcome | None:
        """Ask for the reason when there is none (or only blanks), refuse one over the cap;
        None: ``reason`` will do."""
        if reason is None or not reason.strip():
            key = f"ask.{prompt}" if reason is None else "ask.empty_reason"
            return await self._ask(occ, prompt, key, {"code": occ.code})
        if len(reason.strip()) > MAX_NOTE_LENGTH:
            return await self._too_long(occ, prompt, reason)
        return None

    # -- moving -----------------------------------------------------------------------------
    def _event(self, occ: Occurrence, action: str, stage: str | None, **fields: Any) -> None:
        """The history's row for what this actor did to ``occ`` now."""
        self.s.add(
            StageEvent(
                org_id=occ.org_id,
                occurrence_id=occ.id,
                at=self.now,
                actor_id=self.actor.id,
                action=action,
                stage=stage,
                **fields,
            )
        )

    async def _move(
        self,
        occ: Occurrence,
        to: str | None,
        action: str,
        *,
        final: OccStatus = OccStatus.DONE,
        note: str | None = None,
        url: str | None = None,
    ) -> bool:
        """The conditional UPDATE; False if somebody else moved it first."""
        from_stage, version = occ.stage, occ.version
        values = await self._moved_values(occ, to, final, url)
        res = await self.s.execute(
            update(Occurrence)
            .where(
                Occurrence.id == occ.id,
                Occurrence.status == OccStatus.OPEN.value,
                Occurrence.stage == from_stage,
                Occurrence.version == version,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if int(res.rowcount) != 1:  # type: ignore[attr-defined]
            return False
        self._event(
            occ,
            action,
            from_stage,
            from_stage=from_stage,
            to_stage=to or FINISHED,
            note=note,
            evidence_url=url,
        )
        await self.s.flush()
        await self.s.refresh(occ)
        # a notice still waiting about the stage it left (a review request, say) is pointless,
        # and so is a reminder (composed ahead of 09:00, say) that asks only for what moved on
        await drop_moved_on(self.s, org_id=occ.org_id, occurrence_id=occ.id)
        await drop_stale_reminders(self.s, org_id=occ.org_id, occurrence_id=occ.id)
        return True

    async def _moved_values(
        self, occ: Occurrence, to: str | None, final: OccStatus, url: str | None
    ) -> dict[str, Any]:
        """The occurrence's columns after the move: the next stage's, or closed."""
        values: dict[str, Any] = {
            "version": occ.version + 1,
            "updated_at": self.now,
            "escalated_at": None,
            "stage_started_at": self.now,
            "due_moved_from": None,
        }
        if to is None:
            values.update(
                stage=FINISHED,
                status=final.value,
                current_role=None,
                current_due=None,
                next_remind_at=None,
                completed_at=self.now,
                completed_by=self.actor.id,
            )
            if url:
                values["evidence_url"] = url
            return values
        due = occ.due_for(to)
        assert due is not None
        cal = await self.calendar(occ.org_id, occ.fiscal_year)
        values.update(
            stage=to,
            current_role=occ.role_for(to),
            current_due=due,
            next_remind_at=next_slot(due, self.now, cal, self.ctx.policy, self.ctx.tz).at,
        )
        return values

    async def _lost_race(self, occ_id: int, stage: str) -> Outcome:
        occ = await self.s.get(Occurrence, occ_id, populate_existing=True)
        assert occ is not None
        return await self._already(occ, stage)

    # -- actions ------------------------------------------------------------------------------
    async def done(self, occ_id: int, stage: str, *, url: str | None = None) -> Outcome:
        """✅: prepare done, review approved, activity done; publish needs a URL."""
        occ, err = await self.load(occ_id, stage)
        if err:
            return err
        assert occ is not None
        if stage == Stage.CONFIRM:
            return await self.confirm(occ_id, updated=False)
        if stage == Stage.PUBLISH:
            if url is None:
                return await self._ask(
                    occ, "url", "ask.url", {"code": occ.code, "code_lower": occ.code.lower()}
                )
            return await self.publish(occ_id, url)
        to = next_stage(occ, stage)
        action = Action.APPROVE if stage == Stage.COLLECT else Action.DONE
        if not await self._move(occ, to, action):
            return await self._lost_race(occ_id, stage)
        await notify_next(
            self, occ, to, "notify.collect" if to == Stage.COLLECT else "notify.publish"
        )
        key = {None: "act.done", Stage.COLLECT: "act.prepared", Stage.PUBLISH: "act.approved"}[to]
        return Outcome(
            True,
            key,
            {"code": occ.code, "role": await role_name(self.s, occ.role_for(to or ""))},
            occ,
            follow_up=await own_follow_up(self, occ),
        )

    async def publish(
        self, occ_id: int, url_text: str, *, checked: bool = False, kept: bool = False
    ) -> Outcome:
        """Record the evidence URL.  With link checks on, a URL is first checked (after this
        unit of work, see :mod:`bot.services.linkpublish`): ``checked`` once it was found
        live, ``kept`` when the publisher keeps a link that failed its check."""
        occ, err = await self.load(occ_id, Stage.PUBLISH)
        if err:
            return err
        assert occ is not None
        check = check_evidence_url(url_text)
        if check.url is None:
            params = {
                "text": clip(url_text.strip(), ECHO_LENGTH),
                "code": occ.code,
                "why": (check.reason, dict(check.params)),
            }
            return await self._ask(occ, "url", "ask.bad_url", params, ok=False)
        url = check.url
        if self.ctx.settings.link_check_on_publish and not (checked or kept):
            from bot.services.linkpublish import check_then_publish

            return Outcome(
                True, "link.checking", {"code": occ.code, "url": url}, occ,
                then=functools.partial(check_then_publish, self.ctx, self.actor.id, occ.id, url),
            )  # fmt: skip
        note = "link_kept" if kept else None
        if not await self._move(occ, None, Action.PUBLISH, url=url, note=note):
            return await self._lost_race(occ_id, Stage.PUBLISH)
        await keep_checking(self.s, occ.org_id, url, self.now)
        key = "act.published_kept" if kept else "act.published"
        return Outcome(True, key, {"code": occ.code, "url": url}, occ)

    async def send_back(self, occ_id: int, reason: str | None) -> Outcome:
        occ, err = await self.load(occ_id, Stage.COLLECT)
        if err:
            return err
        assert occ is not None
        if (refused := await self._unusable_reason(occ, "reason_back", reason)) is not None:
            return refused
        assert reason is not None
        if not await self._move(occ, Stage.PREPARE, Action.SEND_BACK, note=reason.strip()):
            return await self._lost_race(occ_id, Stage.COLLECT)
        await notify_next(self, occ, Stage.PREPARE, "notify.sent_back", reason=reason.strip())
        return Outcome(
            True,
            "act.sent_back",
            {"code": occ.code, "role": await role_name(self.s, occ.prepare_role)},
            occ,
        )

    async def not_applicable(self, occ_id: int, stage: str, reason: str | None) -> Outcome:
        occ, err = await self.load(occ_id, stage)
        if err:
            return err
        assert occ is not None
        if (refused := await self._unusable_reason(occ, "reason_na", reason)) is not None:
            return refused
        assert reason is not None
        if not await self._move(
            occ, None, Action.NOT_APPLICABLE, final=OccStatus.NOT_APPLICABLE, note=reason.strip()
        ):
            return await self._lost_race(occ_id, stage)
        return Outcome(True, "act.na", {"code": occ.code, "reason": reason.strip()}, occ)

    async def confirm(self, occ_id: int, *, updated: bool) -> Outcome:
        occ, err = await self.load(occ_id, Stage.CONFIRM)
        if err:
            return err
        assert occ is not None
        action = Action.CONFIRM_UPDATED if updated else Action.CONFIRM_CURRENT
        if not await self._move(occ, None, action):
            return await self._lost_race(occ_id, Stage.CONFIRM)
        if not updated:
            return Outcome(True, "act.confirmed", {"code": occ.code}, occ)
        change = await self.open_change(occ.code, occ.org_id, notify=False)
        if change.occurrence is None:
            return change
        return Outcome(
            True,
            "act.updated",
            {"code": occ.code, "due": change.occurrence.due_date},
            change.occurrence,
            follow_up=change.follow_up,
        )

    async def snooze(self, occ_id: int, stage: str) -> Outcome:
        occ, err = await self.load(occ_id, stage)
        if err:
            return err
        assert occ is not None
        cal = await self.calendar(occ.org_id, occ.fiscal_year)
        today = self.now.astimezone(self.ctx.tz).date()
        when = slot_instant(cal.next_working_day(today), self.ctx.policy, self.ctx.tz)
        if occ.next_remind_at == when:
            return Outcome(True, "act.already_snoozed", {"code": occ.code, "when": when}, occ)
        res = await self.s.execute(
            update(Occurrence)
            .where(Occurrence.id == occ.id, Occurrence.version == occ.version)
            .values(next_remind_at=when, version=occ.version + 1, updated_at=self.now)
        )
        if int(res.rowcount) != 1:  # type: ignore[attr-defined]
            return await self._lost_race(occ_id, stage)
        self._event(occ, Action.SNOOZE, stage, note=when.isoformat())
        return Outcome(True, "act.snoozed", {"code": occ.code, "when": when}, occ)

    async def open_change(
        self, code: str, org_id: int | None = None, *, notify: bool = True
    ) -> Outcome:
        """Someone in the chain reports that an on-change item changed (see
        :mod:`bot.services.changes`)."""
        return await open_change(self, code, org_id, notify=notify)
