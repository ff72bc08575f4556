"""Staff: registering, my tasks, and the chain's buttons and words.

Every handler has the same shape: look up who is speaking, open one unit of work,
call a service, render its outcome.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType

from bot.handlers.common import (
    Context,
    app_ctx,
    current_person,
    fmt_for,
    is_head,
    markup,
    render_outcome,
    tg_user,
    when_text,
)
from bot.render import MAX_BUTTON_ITEMS, Fmt, TaskLine, keyboard, render_reminder
from bot.schedule.fiscal import fiscal_year, fy_month_date
from bot.schedule.thai import format_month
from bot.services import onboarding
from bot.services.chain import (
    URL_RE,
    Chain,
    Outcome,
    answer_prompt,
    clear_prompt,
    is_admin,
    take_prompt,
)
from bot.services.context import AppContext
from bot.services.org import catalogue_for
from bot.services.views import (
    TASK_HORIZON_DAYS,
    changeable_items,
    item_history,
    my_tasks,
    open_stages,
)
from bot.store import repo
from bot.store.models import Occurrence, Outbox, Person, Role

CODE_RE = re.compile(r"\b([OoMm][0-9]{1,2}(?:\.[0-9]{1,2})?)\b")
DONE_WORDS = re.compile(r"^\s*(เสร็จ(?:แล้ว)?|เรียบร้อย(?:แล้ว)?|done|ok|ส่งแล้ว)\b", re.IGNORECASE)
CALLBACK_RE = re.compile(r"^(d|b|p|n|z|cc|cu):([0-9]{1,18}):(prepare|collect|publish|confirm)$")


async def reply(
    update: Update, text: str, reply_markup: InlineKeyboardMarkup | ForceReply | None = None
) -> None:
    msg = update.effective_message
    if msg is not None:
        await msg.reply_text(text, reply_markup=reply_markup, disable_web_page_preview=True)


async def not_registered(update: Update, context: Context) -> None:
    ctx = app_ctx(context)
    user = tg_user(update)
    await reply(update, fmt_for(ctx, None).t("not_registered", tg_id=user.id if user else "?"))


# -- /start, /help, /lang, /cancel ------------------------------------------------------------


async def start(update: Update, context: Context) -> None:
    ctx = app_ctx(context)
    user = tg_user(update)
    chat = update.effective_chat
    if user is None or chat is None:
        return
    if chat.type != ChatType.PRIVATE:
        await reply(update, fmt_for(ctx, None).t("private_only"))
        return
    code = context.args[0] if context.args else ""
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        person = await repo.person_by_telegram(s, user.id)
        if code:
            reg = await onboarding.redeem(s, ctx, user, code, now)
            if reg.ok:
                person = reg.person
            elif person is None:
                fmt = fmt_for(ctx, None)
                key = "start.no_office" if reg.reason == "no_office" else "start.bad_code"
                await reply(update, fmt.t(key) + "\n\n" + fmt.t("start.no_access", tg_id=user.id))
                return
            else:
                await reply(update, fmt_for(ctx, person).t("start.bad_code"))
        if person is None:
            person = await onboarding.first_admin(s, ctx, user, now)
        if person is None:
            await reply(update, fmt_for(ctx, None).t("start.no_access", tg_id=user.id))
            return
        await onboarding.seen(s, person, chat.id, now)
        if not person.active:
            await reply(update, fmt_for(ctx, person).t("inactive"))
            return
        fmt = fmt_for(ctx, person)
        roles, lines = await my_tasks(s, ctx, person, now, everything=False)
        names = await _role_names(s, roles)
        org = await repo.default_org(s) if person.is_admin else None
        person_id = person.id
    from bot.handlers.commands import refresh_menu

    await refresh_menu(context.bot, ctx, person_id)
    today = now.astimezone(ctx.tz).date()
    if not roles and org is not None:
        await reply(update, fmt.t("start.welcome_admin", name=person.name, org=org.name))
        return
    overdue = sum(1 for ln in lines if ln.due < today)
    due = (
        fmt.t("start.due", n=fmt.num(len(lines)), overdue=fmt.num(overdue))
        if lines
        else fmt.t("start.due_none")
    )
    await reply(
        update, fmt.t("start.welcome", name=person.name, roles=", ".join(names) or "-", due=due)
    )


async def _role_names(session: AsyncSession, keys: list[str]) -> list[str]:
    out = []
    for k in keys:
        r = await session.get(Role, k)
        out.append(r.name if r else k)
    return out


async def help_command(update: Update, context: Context) -> None:
    ctx = app_ctx(context)
    async with ctx.db.transaction() as s:
        person = await current_person(s, ctx, update)
        if person is None:
            await not_registered(update, context)
            return
        fmt = fmt_for(ctx, person)
        text = fmt.t("help.staff")
        if await is_head(s, ctx, person):
            text += fmt.t("help.head")
        if is_admin(ctx, person):
            text += fmt.t("help.admin")
    await reply(update, text)


async def lang(update: Update, context: Context) -> None:
    ctx = app_ctx(context)
    async with ctx.db.transaction() as s:
        person = await current_person(s, ctx, update)
        if person is None:
            await not_registered(update, context)
            return
        choice = (context.args[0].lower() if context.args else "")[:2]
        if choice not in ("th", "en"):
            kb = InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton("ไทย", callback_data="lang:th"),
                        InlineKeyboardButton("English", callback_data="lang:en"),
                    ]
                ]
            )
            await reply(update, fmt_for(ctx, person).t("lang.choose"), kb)
            return
        person.language = choice
        person_id = person.id
    from bot.handlers.commands import refresh_menu

    await refresh_menu(context.bot, ctx, person_id)
    await reply(update, Fmt(lang=choice).t("lang.set"))


async def cancel(update: Update, context: Context) -> None:
    ctx = app_ctx(context)
    async with ctx.db.transaction() as s:
        person = await current_person(s, ctx, update)
        if person is None:
            await not_registered(update, context)
            return
        had = await clear_prompt(s, person)
        text = fmt_for(ctx, person).t("ask.cancelled" if had else "ask.nothing")
    await reply(update, text)


async def unknown_command(update: Update, context: Context) -> None:
    ctx = app_ctx(context)
    msg = update.effective_message
    cmd = (msg.text or "").split()[0] if msg and msg.text else "?"
    async with ctx.db.transaction() as s:
        person = await current_person(s, ctx, update)
    if person is None:
        await not_registered(update, context)
        return
    await reply(update, fmt_for(ctx, person).t("unknown_command", cmd=cmd[:40]))


# -- /tasks, /item ------------------------------------------------------------------------------


def task_message(
    fmt: Fmt, lines: list[TaskLine], header: str, today: date
) -> tuple[str, InlineKeyboardMarkup | None]:
    shown = lines[:20]
    text, kb = render_reminder(fmt, shown, today, header=header)
    if len(lines) > len(shown):
        text += "\n" + fmt.t("rem.more", n=fmt.num(len(lines) - len(shown)))
    return text, markup(kb)


async def tasks(update: Update, context: Context) -> None:
    ctx = app_ctx(context)
    args = context.args or []
    everything = bool(args) and args[0].lower() in ("all", "ทั้งหมด")
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        person = await current_person(s, ctx, update)
        if person is None:
            await not_registered(update, context)
            return
        fmt = fmt_for(ctx, person)
        roles, lines = await my_tasks(s, ctx, person, now, everything=everything)
        names = await _role_names(s, roles)
    if not roles:
        await reply(update, fmt.t("tasks.no_role"))
        return
    if not lines:
        await reply(update, fmt.t("tasks.none_all" if everything else "tasks.none"))
        return
    header = (
        fmt.t("tasks.header_all", roles=", ".join(names), n=fmt.num(len(lines)))
        if everything
        else fmt.t("tasks.header", n=fmt.num(len(lines)))
    )
    text, kb = task_message(fmt, lines, header, now.astimezone(ctx.tz).date())
    await reply(update, text, kb)


async def item(update: Update, context: Context) -> None:
    ctx = app_ctx(context)
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        person = await current_person(s, ctx, update)
        if person is None:
            await not_registered(update, context)
            return
        fmt = fmt_for(ctx, person)
        if not context.args:
            await reply(update, fmt.t("item.usage"))
            return
        code = context.args[0].strip().upper()
        fy = fiscal_year(now.astimezone(ctx.tz).date())
        cat = await catalogue_for(s, ctx, person.org_id, fy)
        if cat is None or (cat.item(code) is None and cat.activity(code) is None):
            await reply(
                update, fmt.t("item.unknown", code=code[:12], n=len(cat.items) if cat else 43)
            )
            return
        hist = await item_history(s, person.org_id, code, fy)
        role_names = {r.key: r.name for r in cat.roles}
        it, act = cat.item(code), cat.activity(code)
        if it is not None:
            lines = [
                fmt.t(
                    "item.header",
                    code=code,
                    title=it.title,
                    freq=it.frequency.phrase,
                    prepare=role_names[it.prepare],
                    collect=role_names[it.collect],
                    publish=role_names[it.publish],
                )
            ]
        else:
            assert act is not None
            d = fy_month_date(fy, act.due.month, 1, act.due.fy_offset)
            lines = [
                fmt.t(
                    "item.header_activity",
                    code=code,
                    title=act.title,
                    role=role_names[act.responsible],
                    due=format_month(d.year, d.month, thai_digits=fmt.thai_digits),
                    q=fmt.num(act.report_quarter),
                )
            ]
        if not hist.occurrences:
            lines += ["", fmt.t("item.none", code=code)]
        for occ in hist.occurrences:
            status = (
                fmt.t("status.open", stage=fmt.stage(occ.stage))
                if occ.status == "open"
                else fmt.t(f"status.{occ.status}")
            )
            lines += [
                "",
                fmt.t(
                    "item.occ",
                    period=fmt.period(occ.period_key),
                    status=status,
                    due=fmt.date(occ.due_date),
                ),
            ]
            if occ.evidence_url:
                lines.append(fmt.t("item.url", url=occ.evidence_url))
            for ev in hist.events.get(occ.id, []):
                note = (
                    f" — {ev.note}"
                    if ev.note and ev.action in ("send_back", "not_applicable")
                    else ""
                )
                if ev.evidence_url:
                    note = f" — {ev.evidence_url}"
                who = ev.actor.name if ev.actor is not None else fmt.t("act.system")
                lines.append(
                    fmt.t(
                        "item.event",
                        when=when_text(fmt, ev.at, ctx),
                        name=who,
                        action=fmt.t(f"action.{ev.action}"),
                        note=note,
                    )
                )
    text = "\n".join(lines)
    await reply(update, text[:4000])


# -- acting on a stage: buttons, /done, replies, prompts ------------------------------------------


async def _respond(update: Update, ctx_fmt: Fmt, ctx: AppContext, outcome: Outcome) -> None:
    text = render_outcome(ctx_fmt, ctx, outcome)
    if outcome.prompt:
        await reply(
            update,
            text,
            ForceReply(selective=True, input_field_placeholder=outcome.params.get("code")),
        )
        return
    kb = (
        markup(keyboard(ctx_fmt, outcome.follow_up, with_list=False)) if outcome.follow_up else None
    )
    await reply(update, text, kb)


async def button(update: Update, context: Context) -> None:
    """Every chain button: the data only names a record; rights are checked in the service."""
    ctx = app_ctx(context)
    query = update.callback_query
    if query is None:
        return
    data = query.data or ""
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        person = await current_person(s, ctx, update)
        if person is None:
            await query.answer()
            await not_registered(update, context)
            return
        fmt = fmt_for(ctx, person)
        if data == "l:mine":
            roles, lines = await my_tasks(s, ctx, person, now, everything=False)
            await query.answer()
            if not lines:
                await reply(update, fmt.t("tasks.none" if roles else "tasks.no_role"))
                return
            text, kb = task_message(
                fmt,
                lines,
                fmt.t("tasks.header", n=fmt.num(len(lines))),
                now.astimezone(ctx.tz).date(),
            )
            await reply(update, text, kb)
            return
        m = CALLBACK_RE.match(data)
        if not m:
            await query.answer(fmt.t("stale_button"), show_alert=True)
            return
        action, occ_id, stage = m.group(1), int(m.group(2)), m.group(3)
        chain = Chain(s, ctx, person, now)
        if action == "d":
            outcome = await chain.done(occ_id, stage)
        elif action == "p":
            outcome = (
                await chain.done(occ_id, "publish")
                if stage == "publish"
                else Outcome(False, "act.not_found")
            )
        elif action == "b":
            outcome = (
                await chain.send_back(occ_id, None)
                if stage == "collect"
                else Outcome(False, "act.not_found")
            )
        elif action == "n":
            outcome = await chain.not_applicable(occ_id, stage, None)
        elif action == "z":
            outcome = await chain.snooze(occ_id, stage)
        else:
            outcome = (
                await chain.confirm(occ_id, updated=action == "cu")
                if stage == "confirm"
                else Outcome(False, "act.not_found")
            )
    text = render_outcome(fmt, ctx, outcome)
    await query.answer(
        text[:190] if not outcome.ok else None, show_alert=not outcome.ok and not outcome.prompt
    )
    await _respond(update, fmt, ctx, outcome)


async def done_command(update: Update, context: Context) -> None:
    """``/done O10`` (``/done O10 https://…`` for the publish stage)."""
    ctx = app_ctx(context)
    async with ctx.db.transaction() as s:
        person = await current_person(s, ctx, update)
        if person is None:
            await not_registered(update, context)
            return
        fmt = fmt_for(ctx, person)
        text = " ".join(context.args or [])
        codes = [c.upper() for c in CODE_RE.findall(text)]
        if not codes:
            await reply(update, fmt.t("done.usage"))
            return
        outcomes = await _done_codes(
            s, ctx, person, codes, text, candidates=None, fmt=fmt, update=update
        )
    for outcome in outcomes:
        await _respond(update, fmt, ctx, outcome)


async def _done_codes(
    s: AsyncSession,
    ctx: AppContext,
    person: Person,
    codes: list[str],
    text: str,
    candidates: list[int] | None,
    fmt: Fmt,
    update: Update,
) -> list[Outcome]:
    """Mark each named item done; an item with several open periods gets a question, not a guess."""
    now = ctx.clock.now()
    url_match = URL_RE.search(text)
    url = url_match.group(0) if url_match else None
    chain = Chain(s, ctx, person, now)
    roles: list[str] | None = (
        None if is_admin(ctx, person) else await repo.roles_of(s, person.id, now)
    )
    pending = await open_stages(s, ctx, person.org_id, roles, now, horizon_days=None)
    outcomes: list[Outcome] = []
    for code in dict.fromkeys(codes):
        mine = [
            ln
            for ln in pending
            if ln.code == code and (candidates is None or ln.occurrence_id in candidates)
        ]
        if len(mine) > 1:  # prefer what is in play: overdue or due within the task horizon
            horizon = now.astimezone(ctx.tz).date() + timedelta(days=TASK_HORIZON_DAYS)
            mine = [ln for ln in mine if ln.due <= horizon] or mine
        if not mine:
            outcomes.append(Outcome(False, "done.none", {"code": code}))
            continue
        if len(mine) > 1:
            today = now.astimezone(ctx.tz).date()
            text_, kb = render_reminder(
                fmt, mine[:MAX_BUTTON_ITEMS], today, header=fmt.t("done.which", code=code)
            )
            await reply(update, text_, markup(kb))
            continue
        ln = mine[0]
        if ln.stage == "publish":
            outcomes.append(await chain.done(ln.occurrence_id, "publish", url=url))
        else:
            outcomes.append(await chain.done(ln.occurrence_id, ln.stage))
    return outcomes


async def text_message(update: Update, context: Context) -> None:
    """Free text in a private chat: a reply to a reminder, or the answer the bot asked for."""
    ctx = app_ctx(context)
    msg = update.effective_message
    if msg is None or not msg.text:
        return
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        person = await current_person(s, ctx, update)
        if person is None:
            await not_registered(update, context)
            return
        fmt = fmt_for(ctx, person)
        text = msg.text.strip()
        is_done = bool(DONE_WORDS.match(text))
        reminder_items: list[int] | None = None
        if msg.reply_to_message is not None and is_done:
            reminder = await s.scalar(
                select(Outbox).where(
                    Outbox.chat_id == msg.chat_id,
                    Outbox.telegram_message_id == msg.reply_to_message.message_id,
                )
            )
            if reminder is not None and reminder.items:
                reminder_items = [int(i) for i in reminder.items]
        if reminder_items is not None:
            outcomes = await _reply_to_reminder(s, ctx, person, reminder_items, text, fmt, update)
        else:
            prompt = await take_prompt(s, person, now)
            if prompt is not None and not is_done:
                outcomes = [await answer_prompt(Chain(s, ctx, person, now), prompt, text)]
            elif is_done and CODE_RE.search(text):
                codes = [c.upper() for c in CODE_RE.findall(text)]
                outcomes = await _done_codes(s, ctx, person, codes, text, None, fmt, update)
            elif prompt is not None:
                outcomes = [await answer_prompt(Chain(s, ctx, person, now), prompt, text)]
            else:
                outcomes = [Outcome(False, "reply.not_understood")]
    for outcome in outcomes:
        await _respond(update, fmt, ctx, outcome)


async def _reply_to_reminder(
    s: AsyncSession,
    ctx: AppContext,
    person: Person,
    items: list[int],
    text: str,
    fmt: Fmt,
    update: Update,
) -> list[Outcome]:
    occs = list(await s.scalars(select(Occurrence).where(Occurrence.id.in_(items))))
    listed = sorted({o.code for o in occs}, key=lambda c: (c[0], float(c[1:].split(".")[0])))
    codes = [c.upper() for c in CODE_RE.findall(text)]
    if not codes:
        if len(listed) == 1:
            codes = listed
        else:
            return [
                Outcome(
                    False,
                    "reply.which",
                    {"codes": ", ".join(listed), "example": listed[0] if listed else "O1"},
                )
            ]
    out: list[Outcome] = []
    for code in codes:
        if code not in listed:
            out.append(Outcome(False, "reply.not_in", {"code": code}))
    wanted = [c for c in codes if c in listed]
    if wanted:
        out += await _done_codes(s, ctx, person, wanted, text, items, fmt, update)
    return out


async def lang_button(update: Update, context: Context) -> None:
    ctx = app_ctx(context)
    query = update.callback_query
    if query is None:
        return
    choice = (query.data or "").removeprefix("lang:")
    async with ctx.db.transaction() as s:
        person = await current_person(s, ctx, update)
        if person is None or choice not in ("th", "en"):
            await query.answer()
            if person is None:
                await not_registered(update, context)
            return
        person.language = choice
        person_id = person.id
    from bot.handlers.commands import refresh_menu

    await refresh_menu(context.bot, ctx, person_id)
    await query.answer()
    await reply(update, Fmt(lang=choice).t("lang.set"))


# -- on-change items -------------------------------------------------------------------------


async def changed(update: Update, context: Context) -> None:
    """``/changed``: choose an on-change item to report a change (an occurrence opens)."""
    ctx = app_ctx(context)
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        person = await current_person(s, ctx, update)
        if person is None:
            await not_registered(update, context)
            return
        fmt = fmt_for(ctx, person)
        if context.args:
            outcome = await Chain(s, ctx, person, now).open_change(context.args[0].strip().upper())
            await _respond(update, fmt, ctx, outcome)
            return
        items = await changeable_items(s, ctx, person, now, admin=is_admin(ctx, person))
    if not items:
        await reply(update, fmt.t("changed.none"))
        return
    rows = [
        [InlineKeyboardButton(f"{code} {title}"[:60], callback_data=f"ch:{code}")]
        for code, title in items
    ]
    await reply(
        update,
        fmt.t("changed.choose", n=fmt.num(ctx.policy.change_due_working_days)),
        InlineKeyboardMarkup(rows),
    )


async def changed_button(update: Update, context: Context) -> None:
    ctx = app_ctx(context)
    query = update.callback_query
    if query is None:
        return
    code = (query.data or "").removeprefix("ch:")
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        person = await current_person(s, ctx, update)
        if person is None:
            await query.answer()
            await not_registered(update, context)
            return
        fmt = fmt_for(ctx, person)
        outcome = (
            await Chain(s, ctx, person, now).open_change(code)
            if re.fullmatch(r"O[0-9]{1,2}", code)
            else Outcome(False, "act.not_found")
        )
    await query.answer()
    await _respond(update, fmt, ctx, outcome)
