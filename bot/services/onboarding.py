"""Invites, registration and the first admin.

An invite code is a random token; only its SHA-256 is stored.  It works once (a
conditional UPDATE on ``used_at IS NULL`` decides a race) and expires after
``INVITE_TTL_DAYS``.  Anything else — no code, a used, expired or forged one —
changes nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.context import AppContext
from bot.services.people import add_person, assign_role
from bot.store import repo
from bot.store.models import Invite, Organisation, Person

ADMIN_DEACTIVATED = "admin:"


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def invite_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={code}"


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
    code = secrets.token_urlsafe(18)  # 24 characters of [A-Za-z0-9_-]: a valid /start payload
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
    reason: str  # "registered" | "bad_code" | "no_office"
    person: Person | None = None
    invite: Invite | None = None


async def redeem(
    session: AsyncSession, ctx: AppContext, user: TelegramUser, code: str, now: datetime
) -> Registration:
    """Register ``user`` with the invite's role; nothing changes unless the code is good."""
    if not code or len(code) > 64:
        return Registration(False, "bad_code")
    invite = await session.scalar(select(Invite).where(Invite.code_hash == code_hash(code)))
    if invite is None or invite.used_at is not None or invite.expires_at <= now:
        return Registration(False, "bad_code")
    org = await session.get(Organisation, invite.org_id)
    if org is None:
        return Registration(False, "no_office")
    person = await repo.person_by_telegram(session, user.id)
    if person is not None and person.org_id != org.id:
        return Registration(False, "bad_code")
    if person is None and invite.person_id is not None:
        roster = await session.get(Person, invite.person_id)
        if roster is not None and roster.telegram_user_id in (None, user.id):
            person = roster
    if person is None:
        person = await add_person(
            session,
            org,
            name=user.name,
            now=now,
            telegram_id=user.id,
            language=_lang(user.language),
        )
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
    person.updated_at = now
    if invite.make_admin:
        person.is_admin = True
    if invite.role_key:
        await assign_role(session, org, person, invite.role_key, now)
    await session.flush()
    return Registration(True, "registered", person, invite)


def _lang(code: str | None) -> str:
    return "en" if code and code.lower().startswith("en") else "th"


async def first_admin(
    session: AsyncSession, ctx: AppContext, user: TelegramUser, now: datetime
) -> Person | None:
    """A user named in ADMIN_TELEGRAM_IDS registers as an admin by just sending /start."""
    if user.id not in ctx.settings.admin_telegram_ids:
        return None
    org = await repo.default_org(session)
    if org is None:
        return None
    person = await repo.person_by_telegram(session, user.id)
    if person is None:
        person = await add_person(
            session,
            org,
            name=user.name,
            now=now,
            telegram_id=user.id,
            language=_lang(user.language),
            is_admin=True,
        )
    person.is_admin = True
    person.chat_id = user.chat_id
    return person


async def seen(session: AsyncSession, person: Person, chat_id: int, now: datetime) -> None:
    """A registered person wrote to us privately: keep their chat id, and undo a 'blocked'
    mark (they unblocked the bot) — but not an admin's deactivation."""
    if person.chat_id != chat_id:
        person.chat_id = chat_id
        person.updated_at = now
    if not person.active and not (person.inactive_reason or "").startswith(ADMIN_DEACTIVATED):
        person.active = True
        person.inactive_reason = None
        person.updated_at = now


class InviteError(ValueError):
    pass


async def invite_by_admin(
    session: AsyncSession,
    ctx: AppContext,
    admin: Person,
    now: datetime,
    *,
    role_key: str | None,
    person_id: int | None,
    make_admin: bool,
) -> tuple[str, Invite, Person | None]:
    """An admin's invite, optionally bound to a roster person who has not joined yet."""
    target: Person | None = None
    if person_id:
        target = await session.get(Person, person_id)
        if target is None or target.org_id != admin.org_id or target.telegram_user_id is not None:
            raise InviteError("that person cannot be invited")
    org = await session.get(Organisation, admin.org_id)
    if org is None:
        raise InviteError("no office")
    code, invite = await create_invite(
        session,
        ctx,
        org,
        now,
        role_key=role_key,
        person_id=target.id if target else None,
        make_admin=make_admin,
        created_by=admin.id,
    )
    return code, invite, target
