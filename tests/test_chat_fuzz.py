"""1,000 random updates from hypothesis: no unhandled exception, no unauthorised change."""

from __future__ import annotations

import asyncio
import itertools
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import or_, select
from telegram import Update
from telegram.ext import ContextTypes

from bot.services.access import is_admin
from bot.store.models import Occurrence, Person, RoleAssignment, StageEvent
from tests.support.botapi import BotApiEmulator
from tests.support.db import drop_database, make_database
from tests.support.telegram import running_app
from tests.support.world import ADMIN_TG, STRANGER_TG, chat_world

USERS = [1001, 1002, 1003, 1004, 1005, ADMIN_TG, STRANGER_TG, 5555]
COMMANDS = ["start", "help", "tasks", "done", "item", "changed", "status", "invite", "people", "assign",
            "deactivate", "linkgroup", "holidays", "lang", "cancel", "report", "digest", "nonsense"]  # fmt: skip
WORDS = [
    "O10",
    "O12",
    "O23",
    "O1",
    "O99",
    "M1.1",
    "all",
    "en",
    "th",
    "https://a.go.th/x",
    "เสร็จ",
    "done",
    "",
]
STAGES = ["prepare", "collect", "publish", "confirm", "done", "x"]
PREFIXES = [
    "d",
    "b",
    "p",
    "n",
    "z",
    "cc",
    "cu",
    "l",
    "inv:r",
    "inv:p",
    "as:r",
    "as:p",
    "da",
    "lg",
    "ch",
    "lang",
]

texts = st.one_of(
    st.builds(lambda c, a: f"/{c} {a}".strip(), st.sampled_from(COMMANDS), st.sampled_from(WORDS)),
    st.builds(
        lambda w1, w2: f"{w1} {w2}",
        st.sampled_from(["เสร็จ", "done", "เรียบร้อย", "ok"]),
        st.sampled_from(WORDS),
    ),
    st.text(max_size=40),
)
callback_data = st.one_of(
    st.builds(
        lambda p, i, s: f"{p}:{i}:{s}",
        st.sampled_from(PREFIXES),
        st.integers(-2, 400),
        st.sampled_from(STAGES),
    ),
    st.builds(
        lambda p, w: f"{p}:{w}",
        st.sampled_from(PREFIXES),
        st.sampled_from([*WORDS, "head", "policy_analyst", "_admin"]),
    ),
    st.text(max_size=64),
)
updates = st.tuples(
    st.sampled_from(USERS),
    st.booleans(),  # True: a message; False: a button press
    texts,
    callback_data,
    st.booleans(),  # in a group chat
)

_ids = itertools.count(1)


def build_update(
    emu: BotApiEmulator, user_id: int, is_message: bool, text: str, data: str, in_group: bool
) -> dict[str, Any]:
    user = {"id": user_id, "is_bot": False, "first_name": f"u{user_id}", "language_code": "th"}
    chat = {"id": -777, "type": "supergroup", "title": "กลุ่ม"} if in_group else {"id": user_id, "type": "private",
                                                                                 "first_name": user["first_name"]}  # fmt: skip
    if is_message:
        return emu.user_message(user, text, chat=chat if in_group else None)
    mine = emu.sent_messages(chat["id"])
    message = mine[-1].result if mine else {"message_id": 1, "date": 0, "chat": chat, "text": "…",
                                             "from": emu.bot_user()}  # fmt: skip
    query = {
        "id": str(next(_ids)),
        "from": user,
        "message": message,
        "chat_instance": "1",
        "data": data,
    }
    return emu.push_update({"callback_query": query})


async def run_batch(
    batch: list[tuple[int, bool, str, str, bool]], emu: BotApiEmulator, tmp: Path
) -> None:
    db, handle = await make_database("sqlite", tmp)
    errors: list[BaseException] = []
    try:
        w = await chat_world(db, admin_telegram_ids=[ADMIN_TG])
        async with db.transaction() as s:
            registered_before = set(await s.scalars(select(Person.telegram_user_id)))

        async def record(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
            assert context.error is not None
            errors.append(context.error)

        # generous HTTP timeouts: a loaded machine must not pass for a bug
        async with running_app(w, emu, request_timeout_seconds=60) as app:
            app.add_error_handler(record)
            for user_id, is_message, text, data, in_group in batch:
                raw = build_update(emu, user_id, is_message, text, data, in_group)
                await app.process_update(Update.de_json(raw, app.bot))
                w.clock.advance(minutes=7)
        assert errors == [], [repr(e) for e in errors]

        async with db.transaction() as s:
            registered_after = set(await s.scalars(select(Person.telegram_user_id)))
            assert registered_after == registered_before  # nobody got in without an invite
            events = list(
                await s.scalars(select(StageEvent).where(StageEvent.actor_id.is_not(None)))
            )
            for ev in events:
                actor = await s.get(Person, ev.actor_id)
                occ = await s.get(Occurrence, ev.occurrence_id)
                assert actor is not None and occ is not None
                if is_admin(w.ctx, actor) or ev.stage is None:
                    continue
                role = occ.role_for(ev.stage)
                held = await s.scalar(
                    select(RoleAssignment.id).where(
                        RoleAssignment.person_id == actor.id, RoleAssignment.role_key == role,
                        RoleAssignment.valid_from <= ev.at,
                        or_(RoleAssignment.valid_to.is_(None), RoleAssignment.valid_to > ev.at),
                    )
                )  # fmt: skip
                assert held is not None, (
                    f"{actor.name} did {ev.action} on {occ.code} {ev.stage} without the role"
                )
    finally:
        await drop_database("sqlite", db, handle)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(batch=st.lists(updates, min_size=50, max_size=50))
def test_random_updates_are_handled_and_change_nothing_unauthorised(
    batch: list[tuple[int, bool, str, str, bool]],
) -> None:
    with BotApiEmulator() as emu, tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run_batch(batch, emu, Path(tmp)))
