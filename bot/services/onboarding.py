"""Invites, registration and the first admin.

An invite code is a random token of :data:`INVITE_CODE_BYTES` bytes (144 bits: guessing
one is hopeless); only its SHA-256 is stored.  It works once (a conditional UPDATE on
``used_at IS NULL`` decides a race) and expires after ``INVITE_TTL_DAYS``.  Anything
else — no code, a used, expired or forged one — changes nothing but the sender's count
of failed attempts: after ``START_FAILURES_PER_HOUR`` of them in an hour, ``/start CODE``
is refused without even looking at the code.

A person an admin deactivated stays deactivated when they open an invite link, unless
that link was made for them after the deactivation; otherwise the admin is told.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.fmt import Fmt
from bot.services.access import Scope, is_admin
from bot.services.context import AppContext
from bot.services.org import current_catalogue
from bot.services.outbox import enqueue
from bot.services.people import add_person, assign_role, deactivated_by_admin
from bot.store import repo
from bot.store.db import insert_ignoring_conflicts
from bot.store.models import Invite, Organisation, Person, Role, StartAttempts

INVITE_CODE_BYTES = 18  # 24 characters of [A-Za-z0-9_-]: a valid /start payload
INVITE_CODE_BITS = 8 * INVITE_CODE_BYTES
MAX_CODE_LENGTH = 64  # Telegram's limit for a /start payload
START_WINDOW = timedelta(hours=1)


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def invite_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={code}"


def new_code() -> str:
    return secrets.token_urlsafe(INVITE_CODE_BYTES)


async def create_invite(
    session: AsyncSession,
    ctx: AppContext,
    org: Organisation,
    now: datetime,
    *,
    role_key: str | None,
    person_id: int | None = None,
    make_admin: bool = False,
    created_by: int | None = None,
) -> tuple[str, Invite]:
    code = new_code()
    invite = Invite(
        org_id=org.id,
        code_hash=code_hash(code),
        role_key=role_key,
        person_id=person_id,
        make_admin=make_admin,
        created_by=created_by,
        created_at=now,
        expires_at=now + timedelta(days=ctx.settings.invite_ttl_days),
    )
    session.add(invite)
    await session.flush()
    return code, invite


@dataclass(frozen=True)
class TelegramUser:
    id: int
    name: str
    language: str | None
    chat_id: int


@dataclass
class Registration:
    ok: bool
    # "registered" | "bad_code" | "no_office" | "too_many" | "other_office" | "not_for_you"
    # | "deactivated" (the person stays inactive; their admin was told)
    reason: str
    person: Person | None = None
    invite: Invite | None = None


# -- failed attempts ----------------------------------------------------------------------------


async def _throttled(session: AsyncSession, ctx: AppContext, user_id: int, now: datetime) -> bool:
    row = await session.get(StartAttempts, user_id, populate_existing=True)
    return (
        row is not None
        and row.window_started_at > now - START_WINDOW
        and row.failures >= ctx.settings.start_failures_per_hour
    )


async def _failed(session: AsyncSession, user_id: int, now: datetime) -> None:
    """Count one failed attempt (a fresh window once the last one is over an hour old)."""
    await session.execute(
        insert_ignoring_conflicts(session, StartAttempts, ["telegram_user_id"]).values(
            telegram_user_id=user_id, window_started_at=now, failures=0
        )
    )
    stale = StartAttempts.window_started_at <= now - START_WINDOW
    await session.execute(
        update(StartAttempts)
        .where(StartAttempts.telegram_user_id == user_id)
        .values(
            failures=case((stale, 1), else_=StartAttempts.failures + 1),
            window_started_at=case((stale, now), else_=StartAttempts.window_started_at),
        )
        .execution_options(synchronize_session=False)
    )


# -- redeeming ------------------------------------------------------------------------------------


async def redeem(
    session: AsyncSession, ctx: AppContext, user: TelegramUser, code: str, now: datetime
) -> Registration:
    """Register ``user`` with the invite's role; nothing changes unless the code is good."""
    if await _throttled(session, ctx, user.id, now):
        return Registration(False, "too_many")
    invite = (
        await session.scalar(select(Invite).where(Invite.code_hash == code_hash(code)))
        if code and len(code) <= MAX_CODE_LENGTH
        else None
    )
    if invite is None or invite.used_at is not None or invite.expires_at <= now:
        await _failed(session, user.id, now)
        return Registration(False, "bad_code")
    org = await session.get(Organisation, invite.org_id)
    if org is None:
        return Registration(False, "no_office")
    person = await repo.person_by_telegram(session, user.id)
    if person is not None and person.org_id != org.id:
        return Registration(False, "other_office", person)
    if invite.person_id is not None:  # a personal invite: only that person
        bound = await session.get(Person, invite.person_id)
        if (
            bound is None
            or bound.org_id != org.id
            or (person is not None and person.id != bound.id)
        ):
            return Registration(False, "not_for_you", person)
        person = bound
    if person is not None and deactivated_by_admin(person) and not _made_after(invite, person):
        await _tell_admins_of_rejoin(session, ctx, invite, person, now)
        return Registration(False, "deactivated", person, invite)
    if person is None:
        person = await _register(session, org, user, now)
    claimed = await session.execute(
        update(Invite)
        .where(Invite.id == invite.id, Invite.used_at.is_(None))
        .values(used_at=now, used_by=person.id)
    )
    if int(claimed.rowcount) != 1:  # type: ignore[attr-defined]
        return Registration(False, "bad_code")
    person.telegram_user_id = user.id
    person.chat_id = user.chat_id
    person.active = True
    person.inactive_reason = None
    person.deactivated_at = None
    person.updated_at = now
    if invite.make_admin:
        person.is_admin = True
    if invite.role_key:
        await assign_role(session, org, person, invite.role_key, now)
    await session.flush()
    return Registration(True, "registered", person, invite)


def _made_after(invite: Invite, person: Person) -> bool:
    """The invite was made for this person after an admin deactivated them."""
    return (
        invite.person_id == person.id
        and person.deactivated_at is not None
        and invite.created_at > person.deactivated_at
    )


async def _tell_admins_of_rejoin(
    session: AsyncSession, ctx: AppContext, invite: Invite, person: Person, now: datetime
) -> None:
    """The invite's maker (or, if they cannot be reached, the office's admins) learns that a
    deactivated person tried to come back, and how to let them."""
    creator = await session.get(Person, invite.created_by) if invite.created_by else None
    admins = [creator] if creator is not None and creator.reachable else []
    if not admins:
        admins = [
            p
            for p in await repo.people(session, invite.org_id)
            if p.reachable and is_admin(ctx, p) and p.id != person.id
        ]
    role = await session.get(Role, invite.role_key) if invite.role_key else None
    for admin in admins:
        fmt = Fmt.of(ctx.settings, admin.language)
        await enqueue(
            session,
            org_id=invite.org_id,
            person_id=admin.id,
            chat_id=admin.chat_id or 0,
            kind="notice",
            dedupe_key=f"rejoin:{invite.id}:{person.id}:{admin.id}:{now.date().isoformat()}",
            text=fmt.t(
                "rejoin.admin",
                name=person.name,
                role=role.name if role else fmt.t("invite.admin_role"),
            ),
            now=now,
        )


def _lang(code: str | None) -> str:
    return "en" if code and code.lower().startswith("en") else "th"


async def _register(
    session: AsyncSession, org: Organisation, user: TelegramUser, now: datetime
) -> Person:
    """A Telegram user not yet on the roster, added under the name Telegram gives."""
    return await add_person(
        session, org, name=user.name, now=now, telegram_id=user.id, language=_lang(user.language)
    )


async def first_admin(
    session: AsyncSession, ctx: AppContext, user: TelegramUser, now: datetime
) -> Person | None:
    """A user named in ADMIN_TELEGRAM_IDS (a deployment admin) registers by just sending
    /start, in the default office.  Their rights come from the setting alone: they are not
    made an office admin as well."""
    if user.id not in ctx.settings.admin_telegram_ids:
        return None
    org = await repo.default_org(session)
    if org is None:
        return None
    person = await repo.person_by_telegram(session, user.id)
    if person is None:
        person = await _register(session, org, user, now)
    person.chat_id = user.chat_id
    return person


async def seen(session: AsyncSession, person: Person, chat_id: int, now: datetime) -> None:
    """A registered person wrote to us privately: keep their chat id, and undo a 'blocked'
    mark (they unblocked the bot) — but not an admin's deactivation."""
    if person.chat_id != chat_id:
        person.chat_id = chat_id
        person.updated_at = now
    if not person.active and not deactivated_by_admin(person):
        person.active = True
        person.inactive_reason = None
        person.updated_at = now


class InviteError(ValueError):
    pass


async def invite_by_admin(
    session: AsyncSession,
    ctx: AppContext,
    scope: Scope,
    now: datetime,
    *,
    role_key: str | None,
    person_id: int | None,
    make_admin: bool,
) -> tuple[str, Invite, Person | None]:
    """An admin's invite, in their office (or the office of the person it is for), optionally
    bound to a roster person who has not joined yet or whom an admin deactivated."""
    target: Person | None = None
    if person_id:
        target = await scope.colleague(session, person_id)
        if target is None or (
            target.telegram_user_id is not None and not deactivated_by_admin(target)
        ):
            raise InviteError("that person cannot be invited")
    org = await session.get(Organisation, target.org_id if target else scope.person.org_id)
    if org is None or not scope.administers(org.id):
        raise InviteError("no office")
    if role_key is not None:
        role = (await current_catalogue(session, ctx, org.id)).find_role(role_key)
        if role is None or role.key != role_key:
            raise InviteError("no such role in that office")
    code, invite = await create_invite(
        session,
        ctx,
        org,
        now,
        role_key=role_key,
        person_id=target.id if target else None,
        make_admin=make_admin,
        created_by=scope.person.id,
    )
    return code, invite, target
