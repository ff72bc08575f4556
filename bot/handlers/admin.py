"""Admins: invite links, the roster, staff turnover, deactivation, group chats."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ChatType

from bot.domain.callbacks import Assign, Callback, Deactivate, Invite, LinkGroup, Step, encode
from bot.domain.fiscal import fiscal_year
from bot.domain.thai import BEYearError, ThaiDateError, parse_be_year, parse_date
from bot.handlers.common import Context, Turn, handler, when_text
from bot.handlers.menus import refresh_menu
from bot.services import onboarding
from bot.services.access import is_deployment_admin
from bot.services.holidays import (
    MAX_NAME,
    HolidayError,
    add_day_off,
    change_text,
    list_days_off,
    list_text,
    remove_day_off,
)
from bot.services.org import GroupTaken, current_catalogue, get_org, link_group
from bot.services.people import (
    RosterError,
    active_people,
    deactivate_colleague,
    hand_over,
    invite_candidates,
    roster,
)
from bot.store.models import Person

ADMIN_ROLE = "_admin"
MAX_PEOPLE_BUTTONS = 30


def _chat_type(turn: Turn) -> str | None:
    chat = turn.update.effective_chat
    return chat.type if chat else None


async def _role_buttons(
    turn: Turn, data: Callable[[str], Callback], *, with_admin: bool = False
) -> InlineKeyboardMarkup:
    cat = await current_catalogue(turn.session, turn.ctx, turn.person.org_id)
    buttons = [
        InlineKeyboardButton(r.name[:40], callback_data=encode(data(r.key))) for r in cat.roles
    ]
    if with_admin:
        label = turn.t("invite.admin_role")
        buttons.append(InlineKeyboardButton(label, callback_data=encode(data(ADMIN_ROLE))))
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


async def _role_label(turn: Turn, key: str) -> str | None:
    """The Thai name of a role of this office's catalogue (or of the admin pseudo-role)."""
    if key == ADMIN_ROLE:
        return turn.t("invite.admin_role")
    role = (await current_catalogue(turn.session, turn.ctx, turn.person.org_id)).find_role(key)
    return role.name if role is not None and role.key == key else None


def _people_buttons(people: list[Person], data: Callable[[int], Callback]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(p.name[:40], callback_data=encode(data(p.id)))]
            for p in people[:MAX_PEOPLE_BUTTONS]
        ]
    )


# -- /invite ----------------------------------------------------------------------------------------


@handler("admin")
async def invite(turn: Turn, context: Context) -> None:
    if _chat_type(turn) != ChatType.PRIVATE:
        turn.say(turn.t("private_only"))
        return
    kb = await _role_buttons(turn, lambda key: Invite(Step.ROLE, key), with_admin=True)
    turn.say(turn.t("invite.choose_role"), kb)


@handler("admin")
async def invite_button(turn: Turn, context: Context) -> None:
    pressed = turn.pressed(Invite)
    label = await _role_label(turn, pressed.role) if pressed else None
    if pressed is None or label is None:
        if pressed is not None:
            turn.alert(turn.t("stale_button"))
        return
    role_key, person_ref = pressed.role, pressed.person_id
    candidates = await invite_candidates(turn.session, turn.person.org_id)
    if pressed.step is Step.ROLE and candidates:
        kb = _people_buttons(candidates, lambda pid: Invite(Step.PERSON, role_key, pid))
        anyone = InlineKeyboardButton(
            turn.t("invite.anyone"), callback_data=encode(Invite(Step.PERSON, role_key, 0))
        )
        turn.say(
            turn.t("invite.choose_person"), InlineKeyboardMarkup([*kb.inline_keyboard, [anyone]])
        )
        return
    try:
        code, inv, target = await onboarding.invite_by_admin(
            turn.session,
            turn.ctx,
            turn.scope,
            turn.now,
            role_key=None if role_key == ADMIN_ROLE else role_key,
            person_id=person_ref,
            make_admin=role_key == ADMIN_ROLE,
        )
    except onboarding.InviteError:
        turn.alert(turn.t("stale_button"))
        return
    turn.say(
        turn.t(
            "invite.link",
            role=label,
            person=turn.t("invite.for", name=target.name) if target else "",
            link=onboarding.invite_link(context.bot.username, code),
            expires=when_text(turn.fmt, inv.expires_at, turn.ctx),
        )
    )


# -- /people, /assign, /deactivate --------------------------------------------------------------


@handler("admin")
async def people(turn: Turn, context: Context) -> None:
    s, fmt = turn.session, turn.fmt
    org = await get_org(s, turn.person.org_id)
    cat = await current_catalogue(s, turn.ctx, org.id)
    names = {r.key: r.name for r in cat.roles}
    lines = [fmt.t("people.header", org=org.name)]
    held: set[str] = set()
    for ln in await roster(s, org, turn.now):
        p = ln.person
        held |= set(ln.roles)
        status = (
            (fmt.t("people.deployment_admin") if is_deployment_admin(turn.ctx, p) else "")
            + (fmt.t("people.admin") if p.is_admin else "")
            + (fmt.t("people.inactive") if not p.active else "")
            + (fmt.t("people.not_joined") if p.telegram_user_id is None else "")
        )
        roles = ", ".join(names.get(k, k) for k in ln.roles) or fmt.t("people.no_roles")
        lines.append(fmt.t("people.line", id=p.id, name=p.name, roles=roles, status=status))
    free = [r.name for r in cat.roles if r.key not in held]
    if free:
        lines += ["", fmt.t("people.roles_header", roles=", ".join(free))]
    turn.say_lines(lines)


@handler("admin")
async def assign(turn: Turn, context: Context) -> None:
    kb = await _role_buttons(turn, lambda key: Assign(Step.ROLE, key))
    turn.say(turn.t("assign.choose_role"), kb)


@handler("admin")
async def assign_button(turn: Turn, context: Context) -> None:
    """Staff turnover: the role moves to one person; its open stages follow the role."""
    pressed = turn.pressed(Assign)
    label = await _role_label(turn, pressed.role) if pressed else None
    if pressed is None or label is None:
        if pressed is not None:
            turn.alert(turn.t("stale_button"))
        return
    role_key = pressed.role
    if pressed.step is Step.ROLE:
        people = await active_people(turn.session, turn.person.org_id)
        kb = _people_buttons(people, lambda pid: Assign(Step.PERSON, role_key, pid))
        turn.say(turn.t("assign.choose_person", role=label), kb)
        return
    try:
        person_id = pressed.person_id or 0
        target = await hand_over(turn.session, turn.scope, role_key, person_id, turn.now)
    except RosterError:
        turn.alert(turn.t("stale_button"))
        return
    target_id, ctx = target.id, turn.ctx

    async def menu() -> None:
        await refresh_menu(context.bot, ctx, target_id)

    turn.after_commit(menu)
    turn.say(turn.t("assign.done", role=label, name=target.name))


@handler("admin")
async def deactivate_command(turn: Turn, context: Context) -> None:
    people = await active_people(turn.session, turn.person.org_id, besides=turn.person.id)
    turn.say(turn.t("deactivate.choose"), _people_buttons(people, Deactivate))


@handler("admin")
async def deactivate_button(turn: Turn, context: Context) -> None:
    pressed = turn.pressed(Deactivate)
    if pressed is None:
        return
    try:
        target = await deactivate_colleague(turn.session, turn.scope, pressed.person_id, turn.now)
    except RosterError as exc:
        turn.alert(turn.t("deactivate.self" if str(exc) == "self" else "stale_button"))
        return
    turn.say(turn.t("deactivate.done", name=target.name))


# -- /linkgroup ---------------------------------------------------------------------------------------


GROUPS = (ChatType.GROUP, ChatType.SUPERGROUP)


@handler("admin")
async def linkgroup(turn: Turn, context: Context) -> None:
    if _chat_type(turn) not in GROUPS:
        turn.say(turn.t("linkgroup.group_only"))
        return
    turn.say(turn.t("linkgroup.choose_role"), await _role_buttons(turn, LinkGroup))


@handler("admin")
async def linkgroup_button(turn: Turn, context: Context) -> None:
    pressed = turn.pressed(LinkGroup)
    label = await _role_label(turn, pressed.role) if pressed else None
    chat = turn.update.effective_chat
    if pressed is None or label is None or chat is None or chat.type not in GROUPS:
        if pressed is not None:
            turn.alert(turn.t("stale_button"))
        return
    try:
        await link_group(turn.session, turn.person.org_id, pressed.role, chat.id)
    except GroupTaken:
        turn.alert(turn.t("linkgroup.taken"))
        return
    turn.say(turn.t("linkgroup.done", role=label))


# -- /holidays ----------------------------------------------------------------------------------------

ADD_WORDS = ("add", "เพิ่ม")
REMOVE_WORDS = ("remove", "ลบ", "ยกเลิก")


@handler("admin")
async def holidays_command(turn: Turn, context: Context) -> None:
    """``/holidays [2570]``, ``/holidays add 2570-05-10 วันพืชมงคล``, ``/holidays remove DATE``."""
    args = list(context.args or [])
    verb = args[0].lower() if args else ""
    org = await get_org(turn.session, turn.person.org_id)
    try:
        if verb in ADD_WORDS + REMOVE_WORDS:
            if len(args) < 2:
                turn.say(turn.t("holidays.usage"))
                return
            day = _day(turn, args[1])
            if day is None:
                return
            if verb in ADD_WORDS:
                change = await add_day_off(
                    turn.session, turn.ctx, org, day, " ".join(args[2:]), turn.now,
                    actor_id=turn.person.id,
                )  # fmt: skip
            else:
                change = await remove_day_off(
                    turn.session, turn.ctx, org, day, turn.now, actor_id=turn.person.id
                )
            turn.say(change_text(turn.fmt, change))
            return
        if len(args) > 1:
            turn.say(turn.t("holidays.usage"))
            return
        fy = parse_be_year(args[0]) if args else fiscal_year(turn.today)
    except BEYearError as exc:
        turn.say(turn.t("be.suggest", text=exc.text[:20], suggestion=exc.suggestion[:20]))
        return
    except ThaiDateError:
        turn.say(turn.t("holidays.usage"))
        return
    except HolidayError as exc:
        turn.say(
            turn.t(
                f"holidays.err.{exc.reason}",
                day=turn.fmt.date(exc.day),
                name=exc.name,
                n=turn.fmt.num(MAX_NAME),
            )
        )
        return
    days = await list_days_off(turn.session, turn.ctx, org, fy)
    turn.say(list_text(turn.fmt, org.name, days) + "\n\n" + turn.t("holidays.usage"))


def _day(turn: Turn, text: str) -> date | None:
    """A typed date (BE or CE, Thai digits welcome), or a polite refusal."""
    try:
        return parse_date(text, ce_ok=True)
    except ThaiDateError:
        turn.say(turn.t("holidays.bad_date", text=text[:20]))
        return None
