"""Bad input, at volume: random updates from hypothesis through the Application as
``python -m bot run`` builds it — random text, commands with garbage arguments, forged and
oversized button data, strange Unicode, 4,096-character messages, presses from people who
are not registered and from another office.

Each batch must end with no unhandled exception (the error handler is never reached),
no change anybody was not entitled to make (the database compared before and after) and
nothing stored that was not meant to be (every value fits its column).

Under CI the two tests send 10,000 updates between them (the ``ci`` profile below); a
developer's run sends a tenth.  The two offices are built once per module, into an SQLite
file each batch starts from a copy of.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import String, or_, select
from telegram import Update
from telegram.ext import ContextTypes

from bot.clock import FakeClock
from bot.services.access import is_admin
from bot.services.context import AppContext
from bot.store.db import Database
from bot.store.models import Base, Occurrence, Person, RoleAssignment, StageEvent
from tests.support.botapi import BotApiEmulator
from tests.support.offices import DEPLOYMENT_ADMIN_TG, changed_offices, snapshot, two_offices
from tests.support.telegram import running_app
from tests.support.world import World

BATCH = 100
# examples (batches) per test: 2 tests x 50 x 100 = 10,000 updates under CI
settings.register_profile("fuzz-ci", max_examples=50)
settings.register_profile("fuzz-dev", max_examples=5)
PROFILE = settings.get_profile("fuzz-ci" if os.environ.get("CI") else "fuzz-dev")

COMMANDS = ["start", "help", "tasks", "done", "item", "changed", "status", "invite", "people", "assign",
            "deactivate", "linkgroup", "holidays", "lang", "cancel", "report", "digest", "nonsense",
            "start@ita_duty_test_bot", "done@other_bot", "ＤＯＮＥ"]  # fmt: skip
WORDS = ["O10", "O12", "O23", "O1", "O99", "M1.1", "all", "en", "th", "xx", "2570Q1", "2570H1", "2570",
         "2026Q1", "-1", "0", "99999999999999999999", "๒๕๗๐", "https://a.go.th/x", "javascript:alert(1)",
         "เสร็จ", "done", "add", "remove", "2570-12-05", "๕ ธ.ค. ๒๕๖๙", "31/02/2570", "@someone",
         "นิติกร", "policy_analyst", "head", '"', "'; DROP TABLE person; --", "%s%n", "{0}", "<b>x</b>", ""]  # fmt: skip
STRANGE = ["\u200b", "\u200d", "\u202e", "\u2066", "\ufeff", "\u0000", "\u0007", "\ue000", "\U0001f600",
           "\U0001f1f9\U0001f1ed", "ก\u0e31\u0e49\u0e49\u0e49", "e\u0301", "Ａ", "１２", "๑๒", "\u3000", "\r\n",
           "\t", "\\", "\u00ad", "ﷺ", "\U00010348", "\u0e3f"]  # fmt: skip
STAGES = ["prepare", "collect", "publish", "confirm", "done", "x", ""]
PREFIXES = ["d", "b", "p", "n", "z", "cc", "cu", "l", "ch", "lang", "inv:r", "inv:p", "inv", "as:r",
            "as:p", "as", "da", "lg", "hd", "x"]  # fmt: skip
STRANGERS = [4242, 5555, 777000, 1, 2**40]
GROUPS = [{"id": -5000, "type": "supergroup", "title": "กลุ่มงาน ITA"},
          {"id": -6000, "type": "group", "title": "อื่น"}]  # fmt: skip

words = st.one_of(st.sampled_from(WORDS), st.sampled_from(STRANGE), st.text(max_size=12))
garbage = st.lists(words, max_size=5).map(" ".join)
strange_text = st.lists(st.one_of(st.sampled_from(STRANGE), st.text(max_size=3)), max_size=20).map(
    "".join
)
long_text = st.builds(
    lambda head, fill: (head + fill * 4096)[:4096],
    st.sampled_from(["", "/done O10 ", "/changed ", "/holidays add 2570-12-05 ", "เสร็จ "]),
    st.sampled_from(["ก", "x", "๑", "\U0001f600", "e\u0301", " "]),
)  # fmt: skip
texts = st.one_of(
    st.builds(lambda c, a: f"/{c} {a}".strip(), st.sampled_from(COMMANDS), garbage),
    st.builds(lambda w, a: f"{w} {a}", st.sampled_from(["เสร็จ", "done", "ok", "ยกเลิก"]), garbage),
    st.text(max_size=60),
    strange_text,
    long_text,
)


def forged(ids: list[int]) -> st.SearchStrategy[str]:
    """Button data: well-formed with real or made-up ids, truncated, oversized or random."""
    some_id = st.one_of(st.sampled_from(ids), st.integers(-2, 10**6), st.just(2**63))
    return st.one_of(
        st.builds(lambda p, i, s: f"{p}:{i}:{s}", st.sampled_from(PREFIXES), some_id, st.sampled_from(STAGES)),
        st.builds(lambda p, i, v: f"{p}:{i}:{v}", st.sampled_from(PREFIXES), some_id, st.integers(-1, 99)),
        st.builds(lambda p, w: f"{p}:{w}", st.sampled_from(PREFIXES), words),
        st.builds(lambda p, n: f"{p}:" + "9" * n, st.sampled_from(PREFIXES), st.integers(60, 300)),
        st.text(max_size=64),
        st.text(min_size=65, max_size=400),  # more than Telegram's 64 bytes
    )  # fmt: skip


@dataclass(frozen=True)
class Cast:
    """Who the batch's updates come from, and which records their buttons may name."""

    users: list[int]  # send anything
    pressers: list[int]  # only press buttons (of the records in ids)
    ids: list[int]  # occurrence and person ids to forge buttons with


@dataclass
class Template:
    path: Path
    start: Any
    settings: Any
    org_a: Any
    before: dict[str, set[tuple[Any, ...]]]
    registered: set[int]
    staff_a: list[int]  # registered people of office A (office admin included)
    staff_b: list[int]
    ids_a: list[int]
    ids_b: list[int]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    where = tmp_path_factory.mktemp("fuzz") / "offices.db"

    async def build() -> Template:
        db = Database(f"sqlite+aiosqlite:///{where}")
        from bot.store.migrate import upgrade

        await upgrade(db)
        a, b = await two_offices(db)
        async with db.transaction() as s:
            occ = dict((await s.execute(select(Occurrence.id, Occurrence.org_id))).all())
            people = list(await s.scalars(select(Person)))
        before = await snapshot(db)
        await db.dispose()  # the last connection closes: the WAL is folded into the file

        def tg(org_id: int) -> list[int]:
            return [p.telegram_user_id for p in people if p.org_id == org_id and p.telegram_user_id and p.telegram_user_id != DEPLOYMENT_ADMIN_TG]  # fmt: skip

        def ids(org_id: int) -> list[int]:
            return [i for i, o in occ.items() if o == org_id][:300] + [p.id for p in people if p.org_id == org_id]  # fmt: skip

        registered = {p.telegram_user_id for p in people if p.telegram_user_id}
        return Template(where, a.world.clock.now(), a.world.ctx.settings, a.world.org, before, registered,
                        tg(a.org_id), tg(b.org_id), ids(a.org_id), ids(b.org_id))  # fmt: skip

    yield asyncio.run(build())


_ids = itertools.count(1)


def build_update(emu: BotApiEmulator, user_id: int, kind: str, text: str, data: str, chat: int) -> dict[str, Any]:  # fmt: skip
    user = {"id": user_id, "is_bot": False, "first_name": f"u{user_id}", "language_code": "th"}
    group = GROUPS[chat - 1] if chat else None
    if kind == "message":
        return emu.user_message(user, text, chat=group)
    where: dict[str, Any] = group or {
        "id": user_id,
        "type": "private",
        "first_name": user["first_name"],
    }
    if kind == "edited":
        msg = {"message_id": 10**6 + next(_ids), "date": 0, "edit_date": 1, "chat": where, "from": user, "text": text}  # fmt: skip
        return emu.push_update({"edited_message": msg})
    mine = emu.sent_messages(where["id"])
    message = mine[-1].result if mine else {"message_id": 1, "date": 0, "chat": where, "text": "…",
                                            "from": emu.bot_user()}  # fmt: skip
    query = {"id": str(next(_ids)), "from": user, "message": message, "chat_instance": "1", "data": data}  # fmt: skip
    return emu.push_update({"callback_query": query})


def updates(cast: Cast) -> st.SearchStrategy[list[tuple[int, str, str, str, int]]]:
    chats = st.sampled_from([0, 0, 0, 1, 2])  # private chat, or a group
    kinds = st.sampled_from(["message", "message", "press", "press", "edited"])
    one = st.tuples(st.sampled_from(cast.users), kinds, texts, forged(cast.ids), chats)
    if cast.pressers:
        press = st.tuples(st.sampled_from(cast.pressers), st.just("press"), st.just(""), forged(cast.ids), chats)  # fmt: skip
        one = st.one_of(one, press)
    return st.lists(one, min_size=BATCH, max_size=BATCH)


async def run_batch(t: Template, batch: list[tuple[int, str, str, str, int]], tmp: Path) -> tuple[World, Database]:  # fmt: skip
    """The batch on a fresh copy of the offices; returns the world and its (open) database."""
    shutil.copyfile(t.path, tmp / "bot.db")
    db = Database(f"sqlite+aiosqlite:///{tmp / 'bot.db'}")
    clock = FakeClock(t.start)
    world = World(ctx=AppContext(settings=t.settings, clock=clock, db=db), clock=clock, org=t.org_a)
    errors: list[BaseException] = []

    async def record(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert context.error is not None
        errors.append(context.error)

    with BotApiEmulator() as emu:
        # generous HTTP timeouts: a loaded machine must not pass for a bug
        async with running_app(world, emu, request_timeout_seconds=60) as app:
            app.add_error_handler(record)
            for user_id, kind, text, data, chat in batch:
                raw = build_update(emu, user_id, kind, text, data, chat)
                await app.process_update(Update.de_json(raw, app.bot))
                clock.advance(minutes=7)
    assert errors == [], [repr(e) for e in errors]
    return world, db


async def stored_fits_its_columns(db: Database) -> None:
    """Nothing stored that was not meant to be: SQLite does not enforce String(n), so a
    value longer than its column (which PostgreSQL refuses) is a handler storing raw input."""
    async with db.transaction() as s:
        for table in Base.metadata.sorted_tables:
            sized = [c for c in table.columns if isinstance(c.type, String) and c.type.length]
            limits = [c.type.length for c in sized if isinstance(c.type, String)]
            for row in (await s.execute(select(*sized))).all() if sized else []:
                for col, limit, value in zip(sized, limits, row, strict=True):
                    assert value is None or len(value) <= (limit or 0), (table.name, col.name, value[:80])  # fmt: skip


def profile(**kw: Any) -> settings:
    return settings(PROFILE, deadline=None, derandomize=bool(os.environ.get("CI")),
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], **kw)  # fmt: skip


@pytest.fixture(scope="module")
def outsiders(template: Template) -> Cast:
    """Strangers, and office B's people pressing buttons that name office A's records."""
    return Cast(STRANGERS, template.staff_b, template.ids_a)


@pytest.fixture(scope="module")
def insiders(template: Template) -> Cast:
    """Office A's people, every role and its office admin, naming anyone's records."""
    return Cast(template.staff_a + STRANGERS[:1], [], template.ids_a + template.ids_b)


def test_outsiders_change_nothing(template: Template, outsiders: Cast) -> None:
    @profile()
    @given(batch=updates(outsiders))
    def check(batch: list[tuple[int, str, str, str, int]]) -> None:
        async def go() -> None:
            with tempfile.TemporaryDirectory() as tmp:
                _, db = await run_batch(template, batch, Path(tmp))
                try:
                    after = await snapshot(db)
                    await stored_fits_its_columns(db)
                finally:
                    await db.dispose()
            # A's records are untouched; B's people changed none of theirs by pressing A's
            # buttons; the only rows that may appear are failed /start attempts (throttling)
            assert changed_offices(template.before, after) <= {"*"}
            new = after.get("*", set()) - template.before.get("*", set())
            gone = template.before.get("*", set()) - after.get("*", set())
            assert gone == set() and {row[0] for row in new} <= {"start_attempts"}, new

        asyncio.run(go())

    check()


def test_insiders_change_only_what_they_may(template: Template, insiders: Cast) -> None:
    @profile()
    @given(batch=updates(insiders))
    def check(batch: list[tuple[int, str, str, str, int]]) -> None:
        async def go() -> None:
            with tempfile.TemporaryDirectory() as tmp:
                world, db = await run_batch(template, batch, Path(tmp))
                try:
                    after = await snapshot(db)
                    await stored_fits_its_columns(db)
                    await stage_events_by_role_holders(world, db)
                    async with db.transaction() as s:
                        registered = set(await s.scalars(select(Person.telegram_user_id)))
                finally:
                    await db.dispose()
            # office B is out of A's people's reach, whatever ids their buttons carry
            assert changed_offices(template.before, after) <= {"*", str(template.org_a.id)}
            assert registered - {None} <= template.registered  # nobody got in without an invite

        asyncio.run(go())

    check()


async def stage_events_by_role_holders(world: World, db: Database) -> None:
    """Every step recorded was taken by someone of the occurrence's office who held the
    stage's role at that moment, or by an admin of that office."""
    async with db.transaction() as s:
        events = list(await s.scalars(select(StageEvent).where(StageEvent.actor_id.is_not(None))))
        for ev in events:
            actor = await s.get(Person, ev.actor_id)
            occ = await s.get(Occurrence, ev.occurrence_id)
            assert actor is not None and occ is not None
            assert actor.org_id == occ.org_id or actor.telegram_user_id == DEPLOYMENT_ADMIN_TG
            if is_admin(world.ctx, actor) or ev.stage is None:
                continue
            held = await s.scalar(
                select(RoleAssignment.id).where(
                    RoleAssignment.person_id == actor.id, RoleAssignment.role_key == occ.role_for(ev.stage),
                    RoleAssignment.valid_from <= ev.at,
                    or_(RoleAssignment.valid_to.is_(None), RoleAssignment.valid_to > ev.at),
                )
            )  # fmt: skip
            assert held is not None, f"{actor.name} did {ev.action} on {occ.code} {ev.stage} without the role"  # fmt: skip
