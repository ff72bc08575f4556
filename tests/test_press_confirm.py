"""The presser's own confirmation is an outbox row committed with the press (issue 15 §3),
and a press Telegram delivers again (after a crash) is neither acted on nor confirmed twice."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import func, select

from bot.domain import Action, OutboxPriority
from bot.services.onboarding import create_invite
from bot.store.db import Database
from bot.store.models import Occurrence, Organisation, Outbox, StageEvent
from tests.support.botapi import BotApiEmulator
from tests.support.chat import User, chat_harness, text_of
from tests.support.world import chat_world

ANALYST = User(1001, "สมชาย")
CHIEF = 1002


async def o10(db: Database) -> Occurrence:
    async with db.transaction() as s:
        occ = await s.scalar(
            select(Occurrence).where(Occurrence.code == "O10", Occurrence.fiscal_year == 2570)
        )
    assert occ is not None
    return occ


@pytest.mark.postgres
async def test_the_confirmation_is_queued_with_the_press_and_once_per_update(
    db: Database,
) -> None:
    w = await chat_world(db)
    occ = await o10(db)
    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        async with chat_harness(w, emu) as h:
            msgs, answers = await h.press_data(ANALYST, f"d:{occ.id}:prepare")
            assert "จัดทำเสร็จแล้ว" in text_of(msgs)
            assert [a.params.get("text") for a in answers] == [None]  # answered, no popup
            press = emu.calls("answerCallbackQuery")[-1].params["callback_query_id"]
            async with db.transaction() as s:
                rows = list(await s.scalars(select(Outbox).where(Outbox.kind == "confirm")))
            assert [(r.dedupe_key, r.chat_id, r.priority, r.status) for r in rows] == [
                (f"confirm:q:{press}:0", ANALYST.id, OutboxPriority.INTERACTIVE, "sent")
            ]
            assert rows[0].text == msgs[0].params["text"]

            # Telegram sends the same press again (a process died before it was confirmed)
            [pressed] = [
                c for c in emu.calls("getUpdates") if any("callback_query" in u for u in c.result)
            ][-1:]
            again = copy.deepcopy(
                next(u for u in pressed.result if u["callback_query"]["id"] == press)
            )
            del again["update_id"]
            mark = len(emu.sent_messages(ANALYST.id))
            await h.handled(emu.push_update(again))
            assert emu.sent_messages(ANALYST.id)[mark:] == []  # not "already done by you"
            assert [a.params.get("text") for a in emu.calls("answerCallbackQuery")][-1] is None
            to_chief = [c for c in await h.deliver() if c.chat_id == CHIEF]
            assert len(to_chief) == 1  # the reviewer's notice, once
    async with db.transaction() as s:
        n_confirm = await s.scalar(
            select(func.count()).select_from(Outbox).where(Outbox.kind == "confirm")
        )
        moved = await s.scalar(
            select(func.count())
            .select_from(StageEvent)
            .where(StageEvent.occurrence_id == occ.id, StageEvent.action == Action.DONE)
        )
    assert n_confirm == 1 and moved == 1


@pytest.mark.postgres
async def test_a_join_delivered_again_is_welcomed_once(db: Database) -> None:
    """Registering by invite link is a change too: its welcome is queued with it, and the
    same /start Telegram delivers again neither refuses the used link nor welcomes twice."""
    w = await chat_world(db)
    async with db.transaction() as s:
        org = await s.get(Organisation, w.org.id)
        assert org is not None
        code, _ = await create_invite(s, w.ctx, org, w.clock.now(), role_key="legal_officer")
    newcomer = User(3001, "ใหม่")
    with BotApiEmulator(clock=w.clock.monotonic) as emu:
        async with chat_harness(w, emu) as h:
            [welcome] = await h.say(newcomer, f"/start {code}")
            assert "นิติกร" in welcome.params["text"]
            [joined] = {  # fetched once or more (again while in hand): the same update
                u["update_id"]: u
                for c in emu.calls("getUpdates")
                for u in c.result or []
                if u.get("message", {}).get("text") == f"/start {code}"
            }.values()
            again = copy.deepcopy(joined)
            del again["update_id"]
            await h.handled(emu.push_update(again))
            assert emu.sent_messages(newcomer.id) == [welcome]
    async with db.transaction() as s:
        keys = list(await s.scalars(select(Outbox.dedupe_key).where(Outbox.kind == "confirm")))
    assert keys == [f"confirm:m:{newcomer.id}:{joined['message']['message_id']}:0"]
