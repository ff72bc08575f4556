"""Admins: invite links, the roster, staff turnover, deactivation, group chats."""

from __future__ import annotations

import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ChatType

from bot.handlers.common import Context, Turn, handler, when_text
from bot.handlers.menus import refresh_menu
from bot.services import onboarding
from bot.services.chain import is_admin
from bot.services.org import current_catalogue, link_group
from bot.services.people import assign_role, deactivate, roster
from bot.store import repo
from bot.store.models import Organisation, Person

ADMIN_ROLE = "_admin"
INVITE_RE = re.compile(r"^inv:(r|p):([a-z_][a-z0-9_]{0,63})(?::([0-9]{1,18}))?$")
ASSIGN_RE = re.compile(r"^as:(r|p):([a-z][a-z0-9_]{0,63})(?::([0-9]{1,18}))?$")
DEACT_RE = re.compile(r"^da:([0-9]{1,18})$")
LINK_RE = re.compile(r"^lg:([a-z][a-z0-9_]{0,63})$")
MAX_PEOPLE_BUTTONS = 30


def _data(turn: Turn) -> str:
    query = turn.update.callback_query
    return (query.data or "") if query else ""


def _chat_type(turn: Turn) -> str | None:
    chat = turn.update.effective_chat
    return chat.type if chat else None


async def _role_buttons(
    turn: Turn, prefix: str, *, with_admin: bool = False
) -> InlineKeyboardMarkup:
    cat = await current_catalogue(turn.session, turn.ctx, turn.person.org_id)
    buttons = [
        InlineKeyboardButton(r.name[:40], callback_data=f"{prefix}{r.key}") for r in cat.roles
    ]
    if with_admin:
        buttons.append(
            InlineKeyboardButton(turn.t("invite.admin_role"), callback_data=f"{prefix}{ADMIN_ROLE}")
        )
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


async def _role_label(turn: Turn, key: str) -> str | None:
    """The Thai name of a role of this office's catalogue (or of the admin pseudo-role)."""
    if key == ADMIN_ROLE:
        return turn.t("invite.admin_role")
    role = (await current_catalogue(turn.session, turn.ctx, turn.person.org_id)).find_role(key)
    return role.name if role is not None and role.key == key else None


def _people_buttons(people: list[Person], prefix: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(p.name[:40], callback_data=f"{prefix}{p.id}")]
            for p in people[:MAX_PEOPLE_BUTTONS]
        ]
    )


# -- /invite ----------------------------------------------------------------------------------------


@handler("admin")
async def invite(turn: Turn, context: Context) -> None:
    if _chat_type(turn) != ChatType.PRIVATE:
        turn.say(turn.t("private_only"))
        return
    turn.say(turn.t("invite.choose_role"), await _role_buttons(turn, "inv:r:", with_admin=True))


@handler("admin")
async def invite_button(turn: Turn, context: Context) -> None:
    m = INVITE_RE.match(_data(turn))
    label = await _role_label(turn, m.group(2)) if m else None
    if m is None or label is None:
        turn.alert(turn.t("stale_button"))
        return
    step, role_key, person_ref = m.group(1), m.group(2), m.group(3)
    s = turn.session
    not_joined = [
        p
        for p in await repo.people(s, turn.person.org_id)
        if p.telegram_user_id is None and p.active
    ]
    if step == "r" and not_joined:
        kb = _people_buttons(not_joined, f"inv:p:{role_key}:")
        kb = InlineKeyboardMarkup(
            [
                *kb.inline_keyboard,
                [
                    InlineKeyboardButton(
                        turn.t("invite.anyone"), callback_data=f"inv:p:{role_key}:0"
                    )
                ],
            ]
        )
        turn.say(turn.t("invite.choose_person"), kb)
        return
    target: Person | None = None
    if person_ref and person_ref != "0":
        target = await s.get(Person, int(person_ref))
        if (
            target is None
            or target.org_id != turn.person.org_id
            or target.telegram_user_id is not None
        ):
            turn.alert(turn.t("stale_button"))
            return
    org = await s.get(Organisation, turn.person.org_id)
    assert org is not None
    code, inv = await onboarding.create_invite(
        s, turn.ctx, org, turn.now,
        role_key=None if role_key == ADMIN_ROLE else role_key,
        person_id=target.id if target else None,
        make_admin=role_key == ADMIN_ROLE,
        created_by=turn.person.id,
    )  # fmt: skip
    turn.say(
        turn.t(
            "invite.link", role=label, person=turn.t("invite.for", name=target.name) if target else "",
            link=onboarding.invite_link(context.bot.username, code), expires=when_text(turn.fmt, inv.expires_at, turn.ctx),
        )
    )  # fmt: skip


# -- /people, /assign, /deactivate --------------------------------------------------------------


@handler("admin")
async def people(turn: Turn, context: Context) -> None:
    s, fmt = turn.session, turn.fmt
    org = await s.get(Organisation, turn.person.org_id)
    assert org is not None
    cat = await current_catalogue(s, turn.ctx, org.id)
    names = {r.key: r.name for r in cat.roles}
    lines = [fmt.t("people.header", org=org.name)]
    held: set[str] = set()
    for ln in await roster(s, org, turn.now):
        p = ln.person
        held |= set(ln.roles)
        status = (
            (fmt.t("people.admin") if is_admin(turn.ctx, p) else "")
            + (fmt.t("people.inactive") if not p.active else "")
            + (fmt.t("people.not_joined") if p.telegram_user_id is None else "")
        )
        roles = ", ".join(names.get(k, k) for k in ln.roles) or fmt.t("people.no_roles")
        lines.append(fmt.t("people.line", id=p.id, name=p.name, roles=roles, status=status))
    free = [r.name for r in cat.roles if r.key not in held]
    if free:
        lines += ["", fmt.t("people.roles_header", roles=", ".join(free))]
    turn.say("\n".join(lines)[:4000])


@handler("admin")
async def assign(turn: Turn, context: Context) -> None:
    turn.say(turn.t("assign.choose_role"), await _role_buttons(turn, "as:r:"))


@handler("admin")
async def assign_button(turn: Turn, context: Context) -> None:
    """Staff turnover: the role moves to one person; its open stages follow the role."""
    m = ASSIGN_RE.match(_data(turn))
    label = await _role_label(turn, m.group(2)) if m else None
    if m is None or label is None:
        turn.alert(turn.t("stale_button"))
        return
    s, role_key = turn.session, m.group(2)
    if m.group(1) == "r":
        active = [p for p in await repo.people(s, turn.person.org_id) if p.active]
        turn.say(
            turn.t("assign.choose_person", role=label), _people_buttons(active, f"as:p:{role_key}:")
        )
        return
    target = await s.get(Person, int(m.group(3) or 0))
    org = await s.get(Organisation, turn.person.org_id)
    if target is None or org is None or target.org_id != org.id or not target.active:
        turn.alert(turn.t("stale_button"))
        return
    await assign_role(s, org, target, role_key, turn.now, replace=True)
    target_id, ctx = target.id, turn.ctx

    async def menu() -> None:
        await refresh_menu(context.bot, ctx, target_id)

    turn.after_commit(menu)
    turn.say(turn.t("assign.done", role=label, name=target.name))


@handler("admin")
async def deactivate_command(turn: Turn, context: Context) -> None:
    active = [
        p
        for p in await repo.people(turn.session, turn.person.org_id)
        if p.active and p.id != turn.person.id
    ]
    turn.say(turn.t("deactivate.choose"), _people_buttons(active, "da:"))


@handler("admin")
async def deactivate_button(turn: Turn, context: Context) -> None:
    m = DEACT_RE.match(_data(turn))
    target = await turn.session.get(Person, int(m.group(1))) if m else None
    if target is None or target.org_id != turn.person.org_id:
        turn.alert(turn.t("stale_button"))
    elif target.id == turn.person.id:
        turn.alert(turn.t("deactivate.self"))
    else:
        await deactivate(turn.session, target, turn.now, f"deactivated by {turn.person.name}")
        turn.say(turn.t("deactivate.done", name=target.name))


# -- /linkgroup ---------------------------------------------------------------------------------------


GROUPS = (ChatType.GROUP, ChatType.SUPERGROUP)


@handler("admin")
async def linkgroup(turn: Turn, context: Context) -> None:
    if _chat_type(turn) not in GROUPS:
        turn.say(turn.t("linkgroup.group_only"))
        return
    turn.say(turn.t("linkgroup.choose_role"), await _role_buttons(turn, "lg:"))


@handler("admin")
async def linkgroup_button(turn: Turn, context: Context) -> None:
    m = LINK_RE.match(_data(turn))
    label = await _role_label(turn, m.group(1)) if m else None
    chat = turn.update.effective_chat
    if m is None or label is None or chat is None or chat.type not in GROUPS:
        turn.alert(turn.t("stale_button"))
        return
    await link_group(turn.session, turn.person.org_id, m.group(1), chat.id)
    turn.say(turn.t("linkgroup.done", role=label))
