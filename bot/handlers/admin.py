"""Admins: invite links, the roster, staff turnover, deactivation, group chats."""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType

from bot.handlers.common import Context, app_ctx, current_person, fmt_for, when_text
from bot.handlers.staff import not_registered, reply
from bot.render import Fmt
from bot.services import onboarding
from bot.services.chain import is_admin
from bot.services.context import AppContext
from bot.services.org import current_catalogue, link_group
from bot.services.people import assign_role, deactivate, roster
from bot.store import repo
from bot.store.models import Organisation, Person

ADMIN_ROLE = "_admin"
INVITE_RE = re.compile(r"^inv:(r|p):([a-z_][a-z0-9_]{0,63})(?::([0-9]{1,18}))?$")
ASSIGN_RE = re.compile(r"^as:(r|p):([a-z][a-z0-9_]{0,63})(?::([0-9]{1,18}))?$")
DEACT_RE = re.compile(r"^da:([0-9]{1,18})$")
LINK_RE = re.compile(r"^lg:([a-z][a-z0-9_]{0,63})$")


async def _admin(
    s: AsyncSession, ctx: AppContext, update: Update, context: Context
) -> tuple[Person | None, Fmt]:
    """The speaking admin, or None after a polite refusal."""
    person = await current_person(s, ctx, update)
    if person is None:
        await not_registered(update, context)
        return None, fmt_for(ctx, None)
    fmt = fmt_for(ctx, person)
    if not is_admin(ctx, person):
        if update.callback_query:
            await update.callback_query.answer(fmt.t("admin_only"), show_alert=True)
        else:
            await reply(update, fmt.t("admin_only"))
        return None, fmt
    return person, fmt


async def _role_buttons(
    s: AsyncSession, ctx: AppContext, org_id: int, prefix: str, *, with_admin: bool = False
) -> InlineKeyboardMarkup:
    cat = await current_catalogue(s, ctx, org_id)
    buttons = [
        InlineKeyboardButton(r.name[:40], callback_data=f"{prefix}{r.key}") for r in cat.roles
    ]
    if with_admin:
        buttons.append(
            InlineKeyboardButton(
                fmt_for(ctx, None).t("invite.admin_role"), callback_data=f"{prefix}{ADMIN_ROLE}"
            )
        )
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


async def _role_name(
    s: AsyncSession, ctx: AppContext, org_id: int, key: str, fmt: Fmt
) -> str | None:
    if key == ADMIN_ROLE:
        return fmt.t("invite.admin_role")
    role = (await current_catalogue(s, ctx, org_id)).find_role(key)
    return role.name if role is not None and role.key == key else None


# -- /invite ------------------------------------------------------------------------------------


async def invite(update: Update, context: Context) -> None:
    ctx = app_ctx(context)
    chat = update.effective_chat
    async with ctx.db.transaction() as s:
        person, fmt = await _admin(s, ctx, update, context)
        if person is None:
            return
        if chat is None or chat.type != ChatType.PRIVATE:
            await reply(update, fmt.t("private_only"))
            return
        kb = await _role_buttons(s, ctx, person.org_id, "inv:r:", with_admin=True)
    await reply(update, fmt.t("invite.choose_role"), kb)


async def invite_button(update: Update, context: Context) -> None:
    ctx = app_ctx(context)
    query = update.callback_query
    if query is None:
        return
    m = INVITE_RE.match(query.data or "")
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        admin, fmt = await _admin(s, ctx, update, context)
        if admin is None:
            return
        if m is None:
            await query.answer(fmt.t("stale_button"), show_alert=True)
            return
        step, role_key, person_ref = m.group(1), m.group(2), m.group(3)
        role_label = await _role_name(s, ctx, admin.org_id, role_key, fmt)
        if role_label is None:
            await query.answer(fmt.t("stale_button"), show_alert=True)
            return
        roster_people = [
            p for p in await repo.people(s, admin.org_id) if p.telegram_user_id is None and p.active
        ]
        if step == "r" and roster_people:
            rows = [
                [InlineKeyboardButton(p.name[:40], callback_data=f"inv:p:{role_key}:{p.id}")]
                for p in roster_people[:20]
            ]
            rows.append(
                [InlineKeyboardButton(fmt.t("invite.anyone"), callback_data=f"inv:p:{role_key}:0")]
            )
            await query.answer()
            await reply(update, fmt.t("invite.choose_person"), InlineKeyboardMarkup(rows))
            return
        target: Person | None = None
        if person_ref and person_ref != "0":
            target = await s.get(Person, int(person_ref))
            if (
                target is None
                or target.org_id != admin.org_id
                or target.telegram_user_id is not None
            ):
                await query.answer(fmt.t("stale_button"), show_alert=True)
                return
        org = await s.get(Organisation, admin.org_id)
        assert org is not None
        code, inv = await onboarding.create_invite(
            s,
            ctx,
            org,
            now,
            role_key=None if role_key == ADMIN_ROLE else role_key,
            person_id=target.id if target else None,
            make_admin=role_key == ADMIN_ROLE,
            created_by=admin.id,
        )
        link = onboarding.invite_link(context.bot.username, code)
        text = fmt.t(
            "invite.link",
            role=role_label,
            person=fmt.t("invite.for", name=target.name) if target else "",
            link=link,
            expires=when_text(fmt, inv.expires_at, ctx),
        )
    await query.answer()
    await reply(update, text)


# -- /people, /assign, /deactivate ----------------------------------------------------------------


async def people(update: Update, context: Context) -> None:
    ctx = app_ctx(context)
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        admin, fmt = await _admin(s, ctx, update, context)
        if admin is None:
            return
        org = await s.get(Organisation, admin.org_id)
        assert org is not None
        cat = await current_catalogue(s, ctx, org.id)
        names = {r.key: r.name for r in cat.roles}
        lines = [fmt.t("people.header", org=org.name)]
        held: set[str] = set()
        for ln in await roster(s, org, now):
            p = ln.person
            held |= set(ln.roles)
            status = (
                (fmt.t("people.admin") if is_admin(ctx, p) else "")
                + (fmt.t("people.inactive") if not p.active else "")
                + (fmt.t("people.not_joined") if p.telegram_user_id is None else "")
            )
            roles = ", ".join(names.get(k, k) for k in ln.roles) or fmt.t("people.no_roles")
            lines.append(fmt.t("people.line", id=p.id, name=p.name, roles=roles, status=status))
        free = [r.name for r in cat.roles if r.key not in held]
        if free:
            lines += ["", fmt.t("people.roles_header", roles=", ".join(free))]
    await reply(update, "\n".join(lines)[:4000])


async def assign(update: Update, context: Context) -> None:
    ctx = app_ctx(context)
    async with ctx.db.transaction() as s:
        admin, fmt = await _admin(s, ctx, update, context)
        if admin is None:
            return
        kb = await _role_buttons(s, ctx, admin.org_id, "as:r:")
    await reply(update, fmt.t("assign.choose_role"), kb)


async def assign_button(update: Update, context: Context) -> None:
    ctx = app_ctx(context)
    query = update.callback_query
    if query is None:
        return
    m = ASSIGN_RE.match(query.data or "")
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        admin, fmt = await _admin(s, ctx, update, context)
        if admin is None:
            return
        role_label = await _role_name(s, ctx, admin.org_id, m.group(2), fmt) if m else None
        if m is None or role_label is None:
            await query.answer(fmt.t("stale_button"), show_alert=True)
            return
        role_key = m.group(2)
        if m.group(1) == "r":
            rows = [
                [InlineKeyboardButton(p.name[:40], callback_data=f"as:p:{role_key}:{p.id}")]
                for p in await repo.people(s, admin.org_id)
                if p.active
            ][:30]
            await query.answer()
            await reply(
                update, fmt.t("assign.choose_person", role=role_label), InlineKeyboardMarkup(rows)
            )
            return
        target = await s.get(Person, int(m.group(3) or 0))
        org = await s.get(Organisation, admin.org_id)
        if target is None or org is None or target.org_id != org.id or not target.active:
            await query.answer(fmt.t("stale_button"), show_alert=True)
            return
        await assign_role(s, org, target, role_key, now, replace=True)
        target_id, text = target.id, fmt.t("assign.done", role=role_label, name=target.name)
    from bot.handlers.commands import refresh_menu

    await refresh_menu(context.bot, ctx, target_id)
    await query.answer()
    await reply(update, text)


async def deactivate_command(update: Update, context: Context) -> None:
    ctx = app_ctx(context)
    async with ctx.db.transaction() as s:
        admin, fmt = await _admin(s, ctx, update, context)
        if admin is None:
            return
        rows = [
            [InlineKeyboardButton(p.name[:40], callback_data=f"da:{p.id}")]
            for p in await repo.people(s, admin.org_id)
            if p.active and p.id != admin.id
        ][:30]
    await reply(update, fmt.t("deactivate.choose"), InlineKeyboardMarkup(rows))


async def deactivate_button(update: Update, context: Context) -> None:
    ctx = app_ctx(context)
    query = update.callback_query
    if query is None:
        return
    m = DEACT_RE.match(query.data or "")
    async with ctx.db.transaction() as s:
        admin, fmt = await _admin(s, ctx, update, context)
        if admin is None:
            return
        target = await s.get(Person, int(m.group(1))) if m else None
        if target is None or target.org_id != admin.org_id:
            await query.answer(fmt.t("stale_button"), show_alert=True)
            return
        if target.id == admin.id:
            await query.answer(fmt.t("deactivate.self"), show_alert=True)
            return
        await deactivate(s, target, ctx.clock.now(), f"deactivated by {admin.name}")
        text = fmt.t("deactivate.done", name=target.name)
    await query.answer()
    await reply(update, text)


# -- /linkgroup -------------------------------------------------------------------------------------


async def linkgroup(update: Update, context: Context) -> None:
    ctx = app_ctx(context)
    chat = update.effective_chat
    async with ctx.db.transaction() as s:
        admin, fmt = await _admin(s, ctx, update, context)
        if admin is None:
            return
        if chat is None or chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
            await reply(update, fmt.t("linkgroup.group_only"))
            return
        kb = await _role_buttons(s, ctx, admin.org_id, "lg:")
    await reply(update, fmt.t("linkgroup.choose_role"), kb)


async def linkgroup_button(update: Update, context: Context) -> None:
    ctx = app_ctx(context)
    query = update.callback_query
    chat = update.effective_chat
    if query is None or chat is None:
        return
    m = LINK_RE.match(query.data or "")
    async with ctx.db.transaction() as s:
        admin, fmt = await _admin(s, ctx, update, context)
        if admin is None:
            return
        role_label = await _role_name(s, ctx, admin.org_id, m.group(1), fmt) if m else None
        if (
            m is None
            or role_label is None
            or chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP)
        ):
            await query.answer(fmt.t("stale_button"), show_alert=True)
            return
        await link_group(s, admin.org_id, m.group(1), chat.id)
        text = fmt.t("linkgroup.done", role=role_label)
    await query.answer()
    await reply(update, text)
