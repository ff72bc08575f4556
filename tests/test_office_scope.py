"""One office can never touch another: the authorisation matrix.

{stranger, staff, reviewer, publisher, head, office admin, deployment admin} of office A
× {A's records, B's records} × every button and command.  Each cell sets its record up,
takes a snapshot of the whole database, sends the update through the Application as
``python -m bot run`` builds it, and compares: exactly the expected office changed (or
nothing did).  An office admin (``Person.is_admin``) is confined to office A; only the
deployment admin (ADMIN_TELEGRAM_IDS) may act on B.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import delete, select, update
from telegram import Update
from telegram.ext import Application, ContextTypes

from bot.domain import OccStatus
from bot.services.access import Scope, is_admin
from bot.store.db import Database
from bot.store.models import Occurrence, OfficeDay, OrgRole, PendingPrompt, Person, RoleAssignment
from tests.support.botapi import BotApiEmulator
from tests.support.offices import (
    DEPLOYMENT_ADMIN_TG,
    Office,
    changed_offices,
    snapshot,
    two_offices,
)
from tests.support.telegram import running_app

ACTORS = ("stranger", "staff", "reviewer", "publisher", "head", "office_admin", "deployment_admin")
ADMINS = {"office_admin", "deployment_admin"}
REGISTERED = set(ACTORS) - {"stranger"}
STRANGER_TG = 4242
GROUP = {"id": -5000, "type": "supergroup", "title": "กลุ่มงาน ITA"}

Setup = Callable[[Database, Office], Awaitable[str]]  # prepares the record, returns the data/text


async def put_at(db: Database, office: Office, code: str, period: str, stage: str) -> int:
    async with db.transaction() as s:
        o = await s.scalar(select(Occurrence).where(
            Occurrence.org_id == office.org_id, Occurrence.code == code,
            Occurrence.period_key == period))  # fmt: skip
        assert o is not None
        o.stage, o.status, o.current_role = stage, OccStatus.OPEN.value, o.role_for(stage)
        o.current_due, o.next_remind_at = o.due_for(stage), None
        o.version += 1
        await s.execute(delete(PendingPrompt))
        await s.execute(update(Occurrence).where(Occurrence.kind == "change")
                        .values(status=OccStatus.CANCELLED.value))  # fmt: skip
        return o.id


def at(code: str, period: str, stage: str, prefix: str) -> Setup:
    async def setup(db: Database, office: Office) -> str:
        return f"{prefix}:{await put_at(db, office, code, period, stage)}:{stage}"

    return setup


def person_button(prefix: str, who: str) -> Setup:
    """An admin button naming a person of the target office (reset so it would change it)."""

    async def setup(db: Database, office: Office) -> str:
        async with db.transaction() as s:
            await s.execute(update(Person).where(Person.id == office.pid("spare"))
                            .values(active=True, inactive_reason=None, deactivated_at=None))  # fmt: skip
            await s.execute(
                delete(RoleAssignment).where(RoleAssignment.role_key == "legal_officer")
            )
        return f"{prefix}{office.pid(who)}"

    return setup


async def group_free_or_taken(db: Database, office: Office) -> str:
    """/linkgroup's button in a group that is free (own office) or serves office B."""
    async with db.transaction() as s:
        await s.execute(update(OrgRole).values(group_chat_id=None))
        if office.base == 2000:
            await s.execute(update(OrgRole).where(OrgRole.org_id == office.org_id,
                            OrgRole.role_key == "head").values(group_chat_id=GROUP["id"]))  # fmt: skip
    return "lg:head"


def no_office_days(text: str) -> Setup:
    """/holidays add: the day is not the office's own day off yet (so adding it changes A)."""

    async def setup(db: Database, office: Office) -> str:
        async with db.transaction() as s:
            await s.execute(delete(OfficeDay))
        return text

    return setup


def plain(data: str) -> Setup:
    async def setup(db: Database, office: Office) -> str:
        async with db.transaction() as s:
            await s.execute(delete(PendingPrompt))
            await s.execute(update(Person).values(language="th"))
            await s.execute(update(Occurrence).where(Occurrence.kind == "change")
                            .values(status=OccStatus.CANCELLED.value))  # fmt: skip
        return data

    return setup


def both(code: str, period: str, stage: str, text: str) -> Setup:
    """A command naming an item by code: both offices have it open at ``stage``."""

    async def setup(db: Database, office: Office) -> str:
        await put_at(db, office, code, period, stage)
        await put_at(db, OTHER[office.base], code, period, stage)
        return text

    return setup


@dataclass(frozen=True)
class Cell:
    setup: Setup
    allowed: set[str]  # who changes their own office's records with it
    button: bool = True
    in_group: bool = False


ALL_CHAIN = {
    "done": Cell(at("O10", "2570", "prepare", "d"), {"staff"} | ADMINS),
    "approve": Cell(at("O10", "2570", "collect", "d"), {"reviewer"} | ADMINS),
    "send_back": Cell(at("O10", "2570", "collect", "b"), {"reviewer"} | ADMINS),
    "publish": Cell(at("O10", "2570", "publish", "p"), {"publisher"} | ADMINS),
    "not_applicable": Cell(at("O12", "2570", "prepare", "n"), {"staff"} | ADMINS),
    "snooze": Cell(at("O12", "2570", "prepare", "z"), {"staff"} | ADMINS),
    "confirm": Cell(at("O1", "2570Q1", "confirm", "cc"), ADMINS),
    "confirm_updated": Cell(at("O1", "2570Q1", "confirm", "cu"), ADMINS),
    "invite_for": Cell(person_button("inv:p:legal_officer:", "roster"), ADMINS),
    "assign": Cell(person_button("as:p:legal_officer:", "spare"), ADMINS),
    "deactivate": Cell(person_button("da:", "spare"), ADMINS),
    "link_group": Cell(group_free_or_taken, ADMINS, in_group=True),
}
OWN_ONLY = {
    "my_list": Cell(plain("l:mine"), set()),
    "language": Cell(plain("lang:en"), REGISTERED),
    "report_change": Cell(plain("ch:O1"), {"reviewer", "publisher"} | ADMINS),
    "invite_role": Cell(plain("inv:r:legal_officer"), set()),
    "assign_role": Cell(plain("as:r:legal_officer"), set()),
    "/start": Cell(plain("/start"), set(), button=False),
    "/help": Cell(plain("/help"), set(), button=False),
    "/lang en": Cell(plain("/lang en"), REGISTERED, button=False),
    "/cancel": Cell(plain("/cancel"), set(), button=False),
    "/tasks all": Cell(plain("/tasks all"), set(), button=False),
    "/done O10": Cell(
        both("O10", "2570", "prepare", "/done O10"), {"staff"} | ADMINS, button=False
    ),
    "เสร็จ O12": Cell(both("O12", "2570", "prepare", "เสร็จ O12"), {"staff"} | ADMINS, button=False),
    "/item O10": Cell(plain("/item O10"), set(), button=False),
    "/changed": Cell(plain("/changed"), set(), button=False),
    "/changed O1": Cell(plain("/changed O1"), {"reviewer", "publisher"} | ADMINS, button=False),
    "/status": Cell(plain("/status"), set(), button=False),
    "/digest": Cell(plain("/digest"), set(), button=False),
    "/report": Cell(plain("/report"), set(), button=False),
    "/invite": Cell(plain("/invite"), set(), button=False),
    "/people": Cell(plain("/people"), set(), button=False),
    "/assign": Cell(plain("/assign"), set(), button=False),
    "/deactivate": Cell(plain("/deactivate"), set(), button=False),
    "/linkgroup": Cell(plain("/linkgroup"), set(), button=False, in_group=True),
    "/holidays": Cell(plain("/holidays"), set(), button=False),
    "/holidays add": Cell(
        no_office_days("/holidays add 2569-11-27 วันหยุดจังหวัด"), ADMINS, button=False
    ),
}
OTHER: dict[int, Office] = {}
_ids = itertools.count(1)


def expected(cell: Cell, actor: str, target: str) -> set[str]:
    """The offices whose records the cell changes."""
    if target == "A":
        return {"A"} if actor in cell.allowed else set()
    # another office's record: only a deployment admin reaches it (and a group serves one office)
    return {"B"} if actor == "deployment_admin" and cell.setup is not group_free_or_taken else set()


def raw_update(emu: BotApiEmulator, tg: int, cell: Cell, payload: str) -> dict[str, Any]:
    user = {"id": tg, "is_bot": False, "first_name": f"u{tg}", "language_code": "th"}
    chat = GROUP if cell.in_group else None
    if not cell.button:
        return emu.user_message(user, payload, chat=chat)
    chat = chat or {"id": tg, "type": "private", "first_name": user["first_name"]}
    message = {"message_id": 1, "date": 0, "chat": chat, "text": "…", "from": emu.bot_user()}
    query = {"id": str(next(_ids)), "from": user, "message": message, "chat_instance": "1",
             "data": payload}  # fmt: skip
    return emu.push_update({"callback_query": query})


async def test_one_office_can_never_touch_another(sqlite_db: Database) -> None:
    db = sqlite_db
    a, b = await two_offices(db)
    OTHER.update({1000: b, 2000: a})
    tg = {actor: a.tg(actor) for actor in ACTORS if actor in a.world.people}
    tg["stranger"] = STRANGER_TG
    assert tg["deployment_admin"] == DEPLOYMENT_ADMIN_TG
    errors: list[BaseException] = []

    async def record(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        errors.append(context.error or RuntimeError("?"))

    failures: list[str] = []
    with BotApiEmulator(clock=a.world.clock.monotonic) as emu:
        async with running_app(a.world, emu) as app:
            app.add_error_handler(record)
            cells = [(n, c, "A") for n, c in {**ALL_CHAIN, **OWN_ONLY}.items()]
            cells += [(n, c, "B") for n, c in ALL_CHAIN.items()]
            for (name, cell, target), actor in itertools.product(cells, ACTORS):
                office = a if target == "A" else b
                payload = await cell.setup(db, office)
                before = await snapshot(db)
                await process(app, raw_update(emu, tg[actor], cell, payload))
                got = changed_offices(before, await snapshot(db))
                names = {str(a.org_id): "A", str(b.org_id): "B", "*": "global"}
                got_named = {names[k] for k in got}
                want = expected(cell, actor, target)
                if got_named != want:
                    failures.append(f"{actor} × {name} on {target}: changed {got_named or '-'}, "
                                    f"expected {want or '-'}")  # fmt: skip
    assert errors == [], [repr(e) for e in errors]
    assert failures == []
    assert len(cells) * len(ACTORS) > 300


async def process(app: Application[Any, Any, Any, Any, Any, Any], raw: dict[str, Any]) -> None:
    await app.process_update(Update.de_json(raw, app.bot))


async def test_the_two_kinds_of_admin_are_explicit(sqlite_db: Database) -> None:
    """An office admin administers their office only; a deployment admin every office, by
    the setting alone (they are not made office admins, and lose it with the setting)."""
    a, b = await two_offices(sqlite_db)
    async with sqlite_db.transaction() as s:
        office_admin = await s.get(Person, a.pid("office_admin"))
        deployment = await s.get(Person, a.pid("deployment_admin"))
        assert office_admin is not None and deployment is not None
        ctx = a.world.ctx
        assert is_admin(ctx, office_admin) and is_admin(ctx, deployment)
        assert not deployment.is_admin  # nothing in the database makes them an admin
        office, everywhere = Scope.of(ctx, office_admin), Scope.of(ctx, deployment)
        assert office.administers(a.org_id) and not office.administers(b.org_id)
        assert not office.sees(b.org_id) and everywhere.administers(b.org_id)
        assert await office.colleague(s, b.pid("spare")) is None
        assert await everywhere.colleague(s, b.pid("spare")) is not None
        ctx.settings = ctx.settings.model_copy(update={"admin_telegram_ids": []})
        assert not is_admin(ctx, deployment) and not Scope.of(ctx, deployment).sees(b.org_id)


@pytest.mark.parametrize("key", ["office_admin", "deployment_admin"])
async def test_an_admin_sees_only_their_own_office_in_lists(sqlite_db: Database, key: str) -> None:
    a, _ = await two_offices(sqlite_db)
    with BotApiEmulator(clock=a.world.clock.monotonic) as emu:
        async with running_app(a.world, emu) as app:
            for text in ("/people", "/status", "/deactivate", "/tasks all"):
                emu.clear_calls()
                await process(app, emu.user_message({"id": a.tg(key), "is_bot": False,
                                                     "first_name": "x"}, text))  # fmt: skip
                said = " ".join(str(c.params) for c in emu.sent_messages(a.tg(key)))
                assert said and "2000" not in said and "อีกแห่ง" not in said, (text, said[:300])
