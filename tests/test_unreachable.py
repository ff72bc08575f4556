"""What the head hears when a chat is gone for good (bot.services.unreachable): a blocked
person is deactivated, a gone group chat is unlinked from its role, and a role that nobody
reachable holds any more is named, with the hint to re-assign it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.services.outbox import enqueue
from bot.services.unreachable import tell_head
from bot.store.db import Database
from bot.store.models import OrgRole, Outbox, Person
from bot.texts import tr
from tests.support.world import World, staff_world

pytestmark = pytest.mark.postgres  # rows are changed in the transaction that marks the row

ANALYST_ROLE = "นักวิเคราะห์นโยบายและแผน"
GROUP_CHAT = -100777


async def gone(w: World, chat_id: int, person_id: int | None) -> list[Outbox]:
    """A row to ``chat_id`` found undeliverable; the notices to the head it leaves."""
    async with w.ctx.db.transaction() as s:
        row_id = await enqueue(s, chat_id=chat_id, kind="test", dedupe_key="gone", text="x",
                               now=w.clock.now(), org_id=w.org.id, person_id=person_id)  # fmt: skip
        row = await s.get(Outbox, row_id)
        assert row is not None
        await tell_head(w.ctx, s, row, "Forbidden: bot was blocked by the user", w.clock.now())
    async with w.ctx.db.transaction() as s:
        return list(await s.scalars(select(Outbox).where(Outbox.kind == "unreachable")))


async def test_a_blocked_person_empties_their_role_and_the_head_is_told_so(
    db: Database,
) -> None:
    w = await staff_world(db)
    analyst = w.people["analyst"]
    told = await gone(w, analyst.chat_id or 0, analyst.id)
    reason = "Forbidden: bot was blocked by the user"
    assert [t.person_id for t in told] == [w.people["head"].id]
    assert told[0].text == "\n".join([
        tr("th", "blocked.person", name="สมชาย วิเคราะห์", roles=ANALYST_ROLE, reason=reason),
        tr("th", "blocked.role_empty", roles=ANALYST_ROLE),
        tr("th", "unreach.hint"),
    ])  # fmt: skip
    async with db.transaction() as s:
        p = await s.get(Person, analyst.id)
        assert p is not None and not p.active and p.inactive_reason == reason


async def test_a_gone_group_chat_is_unlinked_from_its_role(db: Database) -> None:
    w = await staff_world(db)
    async with db.transaction() as s:
        link = await s.get(OrgRole, (w.org.id, "policy_analyst"))
        assert link is not None
        link.group_chat_id = GROUP_CHAT
    told = await gone(w, GROUP_CHAT, None)
    reason = "Forbidden: bot was blocked by the user"
    assert [t.text for t in told] == [tr("th", "blocked.group", role=ANALYST_ROLE, reason=reason)]
    async with db.transaction() as s:
        link = await s.get(OrgRole, (w.org.id, "policy_analyst"))
        assert link is not None and link.group_chat_id is None
        analyst = await s.get(Person, w.people["analyst"].id)
        assert analyst is not None and analyst.active  # the person is not the group
