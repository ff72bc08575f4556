"""A fixture history for the report tests: the staff world of tests/support/world.py, plus
a procurement/finance clerk and a blocked internal auditor, acting through the real chain
at known Bangkok times.  Other test_reports_* modules import :class:`History`.

What happens (Bangkok time):

* Fri 27 Nov 2026 — O10 (yearly, due 30 Dec): prepared 10:00, sent back 11:00, prepared
  again 14:00, approved 15:00;  Sat 28 Nov 10:00 published (on time).
* Mon 30 Nov 08:30 — the first weekly digest (2026-W49) is due.
* Tue 1 Dec — O23 Nov report (due 9 Dec) prepared 10:00; the analyst reports that O5
  changed 11:00 (a change occurrence, due Fri 4 Dec, left open: overdue).
* Wed 2 Dec 10:00 — O15 recorded not applicable.  Thu 3 Dec 10:00 — O1 confirmed current.
* Fri 4 Dec 10:00 — O23 Nov report approved.
* Mon 7 Dec is a holiday, so the 2026-W50 digest is due Tue 8 Dec 08:30.
* Wed 9 Dec 10:00 — O23 Nov report published (on time).
* Mon 28 Dec / Tue 29 Dec — O12 (due 30 Dec) prepared and approved;  Sat 2 Jan 2027 10:00
  published: 3 days late.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import LinkTrigger
from bot.links.fetch import Fetched
from bot.services.chain import Chain
from bot.services.links import record_check
from bot.services.materialise import materialise
from bot.services.outcome import Outcome
from bot.store.db import Database
from bot.store.models import Occurrence, Person
from tests.support.world import World, staff_world

BKK = ZoneInfo("Asia/Bangkok")
O10_URL = "https://www.example.go.th/ita/o10-2570"
O12_URL = "https://www.example.go.th/ita/o12-2570"
O23_URL = "https://www.example.go.th/ita/o23-2570-11"
NA_REASON = "ไม่มีการให้บริการในปีนี้"
BLOCKED = "Forbidden: bot was blocked by the user"


def bkk(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    """A Bangkok wall-clock time as a UTC instant."""
    return datetime(y, m, d, hh, mm, tzinfo=BKK).astimezone(UTC)


Step = Callable[[Chain, "History"], Awaitable[Outcome]]


async def occ_id(db: Database, code: str, period: str | None = None) -> int:
    async with db.transaction() as s:
        q = select(Occurrence.id).where(Occurrence.code == code)
        if period is not None:
            q = q.where(Occurrence.period_key == period)
        else:
            q = q.where(Occurrence.kind == "change")
        found = await s.scalar(q)
    assert found is not None, (code, period)
    return int(found)


def _step(code: str, period: str | None, fn: Callable[[Chain, int], Awaitable[Outcome]]) -> Step:
    async def run(chain: Chain, h: History) -> Outcome:
        return await fn(chain, await occ_id(h.world.ctx.db, code, period))

    return run


PLAN: list[tuple[datetime, str, Step]] = [
    (bkk(2026, 11, 27, 10), "analyst", _step("O10", "2570", lambda c, i: c.done(i, "prepare"))),
    (bkk(2026, 11, 27, 11), "chief",
     _step("O10", "2570", lambda c, i: c.send_back(i, "ยังไม่มีลายเซ็นผู้บริหาร"))),
    (bkk(2026, 11, 27, 14), "analyst", _step("O10", "2570", lambda c, i: c.done(i, "prepare"))),
    (bkk(2026, 11, 27, 15), "chief", _step("O10", "2570", lambda c, i: c.done(i, "collect"))),
    (bkk(2026, 11, 28, 10), "clerk", _step("O10", "2570", lambda c, i: c.publish(i, O10_URL))),
    (bkk(2026, 12, 1, 10), "proc", _step("O23", "2570M11", lambda c, i: c.done(i, "prepare"))),
    (bkk(2026, 12, 1, 11), "analyst", lambda c, h: c.open_change("O5")),
    (bkk(2026, 12, 2, 10), "clerk",
     _step("O15", "2570", lambda c, i: c.not_applicable(i, "prepare", NA_REASON))),
    (bkk(2026, 12, 3, 10), "hr", _step("O1", "2570Q1", lambda c, i: c.confirm(i, updated=False))),
    (bkk(2026, 12, 4, 10), "proc", _step("O23", "2570M11", lambda c, i: c.done(i, "collect"))),
    (bkk(2026, 12, 9, 10), "proc", _step("O23", "2570M11", lambda c, i: c.publish(i, O23_URL))),
    (bkk(2026, 12, 28, 10), "analyst", _step("O12", "2570", lambda c, i: c.done(i, "prepare"))),
    (bkk(2026, 12, 29, 10), "chief", _step("O12", "2570", lambda c, i: c.done(i, "collect"))),
    (bkk(2027, 1, 2, 10), "clerk", _step("O12", "2570", lambda c, i: c.publish(i, O12_URL))),
]  # fmt: skip


async def live_check(s: AsyncSession, w: World, url: str, when: datetime) -> None:
    """What the publish-time check records for a page that opens (no internet in tests)."""
    page = Fetched(url, None, 200, url, "text/html", 1200, hashlib.sha256(url.encode()).hexdigest())
    await record_check(s, w.ctx, w.org.id, page, when, LinkTrigger.PUBLISH)


@dataclass
class History:
    world: World
    done: int = 0
    outcomes: list[Outcome] = field(default_factory=list)

    @classmethod
    async def create(cls, db: Database, **settings: object) -> History:
        w = await staff_world(db, **settings)
        await w.add(
            "proc",
            "สมใจ พัสดุ",
            1006,
            "procurement_officer",
            "finance_director",
            "treasury_officer",
        )
        auditor = await w.add("auditor", "สมหมาย ตรวจสอบ", 1007, "internal_auditor")
        async with db.transaction() as s:
            p = await s.get(Person, auditor.id)
            assert p is not None
            p.active, p.inactive_reason = False, BLOCKED
        await materialise(w.ctx, w.clock.now())
        return cls(w)

    async def play_until(self, until: datetime) -> None:
        """Perform every planned action at or before ``until``; the clock ends at ``until``."""
        w = self.world
        while self.done < len(PLAN) and PLAN[self.done][0] <= until:
            when, who, step = PLAN[self.done]
            w.clock.set(when)
            async with w.ctx.db.transaction() as s:
                out = await step(Chain(s, w.ctx, w.people[who], when), self)
                if out.key == "act.published":  # its link, checked live as it was published
                    await live_check(s, w, out.params["url"], when)
            assert out.ok, (when, who, out.key, out.params)
            self.outcomes.append(out)
            self.done += 1
        w.clock.set(until)


@pytest.mark.postgres
async def test_the_history_plays_through_the_real_chain(db: Database) -> None:
    h = await History.create(db)
    await h.play_until(bkk(2027, 1, 5, 10))
    assert h.done == len(PLAN)
    async with db.transaction() as s:
        rows = {
            (o.code, o.period_key): o
            for o in await s.scalars(
                select(Occurrence).where(Occurrence.code.in_(("O10", "O12", "O15", "O23", "O5")))
            )
        }
    assert rows[("O10", "2570")].evidence_url == O10_URL
    assert rows[("O12", "2570")].status == "done"
    assert rows[("O15", "2570")].status == "not_applicable"
    assert rows[("O23", "2570M10")].status == "before_tracking"
    change = rows[("O5", "2570C20261201")]
    assert change.status == "open" and change.due_date.isoformat() == "2026-12-04"
