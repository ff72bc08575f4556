"""Staff: my tasks, the chain's buttons and words, help, language, on-change items.

Every handler here has the same shape (see :func:`bot.handlers.common.handler`): parse
the update, call a service inside the turn's unit of work, queue the reply.
"""

from __future__ import annotations

import re
from datetime import timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.domain import Stage, TaskLine, code_key
from bot.domain.callbacks import (
    Language,
    LinkAct,
    LinkCall,
    MyList,
    ReportChange,
    StageAct,
    StageCall,
    encode,
)
from bot.domain.thai import normalise_digits
from bot.fmt import Fmt
from bot.handlers.common import (
    Context,
    Turn,
    handler,
    markup,
)
from bot.handlers.menus import refresh_menu
from bot.services import linkpublish
from bot.services.access import is_head
from bot.services.chain import URL_RE, Chain
from bot.services.outcome import Outcome
from bot.services.prompts import answer_prompt, clear_prompt, take_prompt
from bot.services.tasklist import render_reminders
from bot.services.views import (
    TASK_HORIZON_DAYS,
    changeable_items,
    my_tasks,
    open_stages,
)
from bot.store import repo

CODE_RE = re.compile(r"\b([OoMm][0-9]{1,2}(?:\.[0-9]{1,2})?)\b")


def codes_in(text: str) -> list[str]:
    """Item codes a person typed (``O10``, ``o๑๒``, ``M1.1``), upper case, Arabic digits."""
    return [c.upper() for c in CODE_RE.findall(normalise_digits(text))]


def code_arg(text: str) -> str:
    """One typed item code as the catalogue spells it."""
    return normalise_digits(text).strip().upper()


DONE_WORDS = re.compile(r"^\s*(เสร็จ(?:แล้ว)?|เรียบร้อย(?:แล้ว)?|done|ok|ส่งแล้ว)\b", re.IGNORECASE)
MAX_LISTED = 20


# -- /help, /lang, /cancel, unknown commands ----------------------------------------------------


@handler()
async def help_command(turn: Turn, context: Context) -> None:
    text = turn.t("help.staff")
    if await is_head(turn.session, turn.ctx, turn.person):
        text += turn.t("help.head")
    if turn.is_admin:
        text += turn.t("help.admin")
    turn.say(text)


def _set_language(turn: Turn, context: Context, choice: str) -> None:
    turn.person.language = choice
    person_id, ctx = turn.person.id, turn.ctx

    async def menu() -> None:
        await refresh_menu(context.bot, ctx, person_id)

    turn.after_commit(menu)
    turn.say(Fmt(lang=choice).t("lang.set"))


@handler()
async def lang(turn: Turn, context: Context) -> None:
    choice = (context.args[0].lower() if context.args else "")[:2]
    if choice in ("th", "en"):
        _set_language(turn, context, choice)
        return
    kb = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("ไทย", callback_data=encode(Language("th"))),
                InlineKeyboardButton("English", callback_data=encode(Language("en"))),
            ]
        ]
    )
    turn.say(turn.t("lang.choose"), kb)


@handler()
async def lang_button(turn: Turn, context: Context) -> None:
    pressed = turn.pressed(Language)
    if pressed is not None:
        _set_language(turn, context, pressed.lang)


@handler()
async def cancel(turn: Turn, context: Context) -> None:
    had = await clear_prompt(turn.session, turn.person)
    turn.say(turn.t("ask.cancelled" if had else "ask.nothing"))


@handler()
async def unknown_command(turn: Turn, context: Context) -> None:
    msg = turn.update.effective_message
    cmd = (msg.text or "").split()[0] if msg and msg.text else "?"
    turn.say(turn.t("unknown_command", cmd=cmd[:40]))


# -- /tasks, /item --------------------------------------------------------------------------------


def show_tasks(turn: Turn, lines: list[TaskLine], header: str) -> None:
    """A list of tasks with their buttons, in as many messages as it needs."""
    shown = lines[:MAX_LISTED]
    for part in render_reminders(turn.fmt, shown, turn.today, header=header):
        turn.say(part.text, markup(part.markup))
    if len(lines) > len(shown):
        turn.say(turn.t("rem.more", n=turn.fmt.num(len(lines) - len(shown))))


async def _my_list(turn: Turn, everything: bool) -> None:
    roles, lines = await my_tasks(
        turn.session, turn.ctx, turn.person, turn.now, everything=everything
    )
    if not roles:
        turn.say(turn.t("tasks.no_role"))
    elif not lines:
        turn.say(turn.t("tasks.none_all" if everything else "tasks.none"))
    elif everything:
        names = ", ".join(await repo.role_names(turn.session, roles))
        show_tasks(turn, lines, turn.t("tasks.header_all", roles=names, n=turn.fmt.num(len(lines))))
    else:
        show_tasks(turn, lines, turn.t("tasks.header", n=turn.fmt.num(len(lines))))


@handler()
async def tasks(turn: Turn, context: Context) -> None:
    args = context.args or []
    await _my_list(turn, everything=bool(args) and args[0].lower() in ("all", "ทั้งหมด"))


# -- acting on a stage: buttons, /done, replies, prompts ------------------------------------------


@handler()
async def button(turn: Turn, context: Context) -> None:
    """Every chain button: the data only names a record; rights are checked in the service."""
    pressed = turn.pressed(StageCall)
    if pressed is not None:
        turn.show(await _press(Chain(turn.session, turn.ctx, turn.person, turn.now), pressed))


@handler()
async def my_list_button(turn: Turn, context: Context) -> None:
    if turn.pressed(MyList) is not None:
        await _my_list(turn, everything=False)


async def _press(chain: Chain, call: StageCall) -> Outcome:
    """What a stage's button does (a button for another stage's action names no record)."""
    act, occ_id, stage = call.act, call.occurrence_id, call.stage
    if act is StageAct.DONE:
        return await chain.done(occ_id, stage)
    if act is StageAct.PUBLISH and stage is Stage.PUBLISH:
        return await chain.done(occ_id, Stage.PUBLISH)
    if act is StageAct.BACK and stage is Stage.COLLECT:
        return await chain.send_back(occ_id, None)
    if act is StageAct.NOT_APPLICABLE:
        return await chain.not_applicable(occ_id, stage, None)
    if act is StageAct.SNOOZE:
        return await chain.snooze(occ_id, stage)
    if act in (StageAct.CURRENT, StageAct.UPDATED) and stage is Stage.CONFIRM:
        return await chain.confirm(occ_id, updated=act is StageAct.UPDATED)
    return Outcome(False, "act.not_found")


@handler()
async def link_button(turn: Turn, context: Context) -> None:
    """ "Check again" / "keep this link" under a publish-time link warning."""
    pressed = turn.pressed(LinkCall)
    if pressed is None:
        return
    chain = Chain(turn.session, turn.ctx, turn.person, turn.now)
    act = linkpublish.retry if pressed.act is LinkAct.RETRY else linkpublish.keep
    turn.show(await act(chain, pressed.occurrence_id))


@handler()
async def done_command(turn: Turn, context: Context) -> None:
    """``/done O10`` (``/done O10 https://…`` for the publish stage)."""
    text = " ".join(context.args or [])
    codes = codes_in(text)
    if not codes:
        turn.say(turn.t("done.usage"))
        return
    await _done_codes(turn, codes, text, candidates=None)


async def _done_codes(
    turn: Turn, codes: list[str], text: str, candidates: list[int] | None
) -> None:
    """Mark each named item done.  Among its open periods, the one in play (overdue or due
    within the task horizon) is meant; when that is still several, ask — never guess."""
    url_match = URL_RE.search(text)
    url = url_match.group(0) if url_match else None
    chain = Chain(turn.session, turn.ctx, turn.person, turn.now)
    roles = None if turn.is_admin else await repo.roles_of(turn.session, turn.person.id, turn.now)
    pending = await open_stages(
        turn.session, turn.ctx, turn.person.org_id, roles, turn.now, horizon_days=None
    )
    horizon = turn.today + timedelta(days=TASK_HORIZON_DAYS)
    for code in dict.fromkeys(codes):
        mine = [
            ln
            for ln in pending
            if ln.code == code and (candidates is None or ln.occurrence_id in candidates)
        ]
        if len(mine) > 1:
            mine = [ln for ln in mine if ln.due <= horizon] or mine
        if not mine:
            turn.show(Outcome(False, "done.none", {"code": code}))
        elif len(mine) > 1:
            show_tasks(turn, mine, turn.t("done.which", code=code))
        else:
            ln = mine[0]
            turn.show(
                await chain.done(
                    ln.occurrence_id, ln.stage, url=url if ln.stage == "publish" else None
                )
            )


@handler()
async def text_message(turn: Turn, context: Context) -> None:
    """Free text in a private chat: a reply to a reminder, or the answer the bot asked for."""
    msg = turn.update.effective_message
    if msg is None or not msg.text:
        return
    text = msg.text.strip()
    is_done = bool(DONE_WORDS.match(text))
    if msg.reply_to_message is not None and is_done:
        items = await repo.message_items(turn.session, msg.chat_id, msg.reply_to_message.message_id)
        if items:
            await _reply_to_reminder(turn, items, text)
            return
    prompt = await take_prompt(turn.session, turn.person, turn.now)
    if is_done and codes_in(text):
        await _done_codes(turn, codes_in(text), text, None)
    elif prompt is not None:
        turn.show(
            await answer_prompt(Chain(turn.session, turn.ctx, turn.person, turn.now), prompt, text)
        )
    else:
        turn.show(Outcome(False, "reply.not_understood"))


async def _reply_to_reminder(turn: Turn, items: list[int], text: str) -> None:
    listed = sorted(await repo.codes_of(turn.session, items), key=code_key)
    codes = codes_in(text)
    if not codes:
        if len(listed) != 1:
            turn.show(
                Outcome(
                    False,
                    "reply.which",
                    {"codes": ", ".join(listed), "example": listed[0] if listed else "O1"},
                )
            )
            return
        codes = listed
    for code in codes:
        if code not in listed:
            turn.show(Outcome(False, "reply.not_in", {"code": code}))
    wanted = [c for c in codes if c in listed]
    if wanted:
        await _done_codes(turn, wanted, text, items)


# -- on-change items -------------------------------------------------------------------------------


@handler()
async def changed(turn: Turn, context: Context) -> None:
    """``/changed``: choose an on-change item to report a change (an occurrence opens)."""
    if context.args:
        turn.show(
            await Chain(turn.session, turn.ctx, turn.person, turn.now).open_change(
                code_arg(context.args[0])
            )
        )
        return
    items = await changeable_items(
        turn.session, turn.ctx, turn.person, turn.now, admin=turn.is_admin
    )
    if not items:
        turn.say(turn.t("changed.none"))
        return
    rows = [
        [InlineKeyboardButton(f"{code} {title}"[:60], callback_data=encode(ReportChange(code)))]
        for code, title in items
    ]
    turn.say(
        turn.t("changed.choose", n=turn.fmt.num(turn.ctx.policy.change_due_working_days)),
        InlineKeyboardMarkup(rows),
    )


@handler()
async def changed_button(turn: Turn, context: Context) -> None:
    pressed = turn.pressed(ReportChange)
    if pressed is not None:
        chain = Chain(turn.session, turn.ctx, turn.person, turn.now)
        turn.show(await chain.open_change(pressed.code))
