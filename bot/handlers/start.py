"""/start: registering by invite link, the deployment admin's first visit, the welcome.

The one handler that also serves people who are not registered yet, so it opens its
unit of work itself instead of going through :func:`bot.handlers.common.handler`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.constants import ChatType

from bot.fmt import Fmt
from bot.handlers.common import Context, Outgoing, tg_user
from bot.handlers.confirmations import Confirmation, already_handled
from bot.handlers.menus import refresh_menu
from bot.services import onboarding
from bot.services.access import is_admin
from bot.services.context import AppContext
from bot.services.org import get_org
from bot.services.views import my_tasks
from bot.store import repo
from bot.store.models import Person


async def start(update: Update, context: Context) -> None:
    ctx = context.ctx
    user, chat = tg_user(update), update.effective_chat
    if user is None or chat is None:
        return
    out = Outgoing()
    anyone = Fmt.of(ctx.settings)
    if chat.type != ChatType.PRIVATE:
        out.messages.append((anyone.t("private_only"), None))
        await out.send(update)
        return
    code = context.args[0] if context.args else ""
    now = ctx.clock.now()
    welcome_id: int | None = None
    joined = False
    async with ctx.db.transaction() as s:
        # joined in a process that died before Telegram was told: its welcome is queued
        redelivered = bool(code) and await already_handled(s, update)
        if redelivered:
            code = ""
        person = await repo.person_by_telegram(s, user.id)
        if code:
            reg = await onboarding.redeem(s, ctx, user, code, now)
            if reg.ok:
                person = reg.person
                joined = True
            else:
                out.messages.append((_refusal(ctx, reg, user.id), None))
        if person is None and not out.messages:
            person = await onboarding.first_admin(s, ctx, user, now)
        if person is None:
            if not out.messages:
                out.messages.append((anyone.t("start.no_access", tg_id=user.id), None))
        else:
            await onboarding.seen(s, person, chat.id, now)
            if not person.active:
                if not out.messages:
                    out.messages.append((Fmt.of(ctx.settings, person.language).t("inactive"), None))
            elif not out.messages:
                welcome_id = person.id
                if not redelivered:  # a redelivered join's welcome is in the outbox already
                    await _say_welcome(ctx, s, update, out, person, now, joined=joined)
    if welcome_id is not None:
        await refresh_menu(context.bot, ctx, welcome_id)
    await out.send(update)


async def _say_welcome(
    ctx: AppContext,
    s: AsyncSession,
    update: Update,
    out: Outgoing,
    person: Person,
    now: datetime,
    *,
    joined: bool,
) -> None:
    """The welcome; after a registration it is the person's confirmation of it, so it goes
    in the outbox with the registration (see :meth:`Outgoing.keep`)."""
    welcome = await _welcome(ctx, s, person, now)
    if joined:
        out.confirmations.append(Confirmation(welcome))
        await out.keep(s, update, person, now)
    else:
        out.messages.append((welcome, None))


REFUSALS = {
    "too_many": "start.too_many",
    "no_office": "start.no_office",
    "other_office": "start.other_office",
    "not_for_you": "start.not_for_you",
    "deactivated": "start.deactivated",
}


def _refusal(ctx: AppContext, reg: onboarding.Registration, tg_id: int) -> str:
    """Why ``/start CODE`` did not register anyone; strangers also learn how to get in."""
    key = REFUSALS.get(reg.reason, "start.bad_code")
    if reg.person is not None:
        return Fmt.of(ctx.settings, reg.person.language).t(key)
    anyone = Fmt.of(ctx.settings)
    return anyone.t(key) + "\n\n" + anyone.t("start.no_access", tg_id=tg_id)


async def _welcome(ctx: AppContext, s: AsyncSession, person: Person, now: datetime) -> str:
    fmt = Fmt.of(ctx.settings, person.language)
    roles, lines = await my_tasks(s, ctx, person, now, everything=False)
    if not roles and is_admin(ctx, person):
        org = await get_org(s, person.org_id)
        return fmt.t("start.welcome_admin", name=person.name, org=org.name)
    today = now.astimezone(ctx.tz).date()
    overdue = sum(1 for ln in lines if ln.due < today)
    due = (
        fmt.t("start.due", n=fmt.num(len(lines)), overdue=fmt.num(overdue))
        if lines
        else fmt.t("start.due_none")
    )
    names = await repo.role_names(s, roles)
    return fmt.t("start.welcome", name=person.name, roles=", ".join(names) or "-", due=due)
