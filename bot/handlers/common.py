"""What every handler shares: one unit of work per update, who is speaking, and replies
that leave only after the unit of work has committed.

A handler is written as ``async def tasks(turn: Turn, context: Context)`` and wrapped by
:func:`handler`, which PTB sees with its usual ``(update, context)`` signature.  The
wrapper opens the transaction, finds the registered person (politely refusing anyone
else), checks the role the handler needs, runs it, commits — and only then sends what
the handler queued.  No network I/O happens while the database is locked, and nothing
is said about a change that did not commit.

The person's own confirmation of a change (a service's successful :class:`Outcome`) is
not sent from here: it goes in the outbox with the change
(:mod:`bot.handlers.confirmations`).  Only the callback query's answer, which is
ephemeral, is still given directly.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType

from bot.domain.callbacks import BadCallback, Callback, decode
from bot.domain.thai import digits
from bot.fmt import Fmt
from bot.handlers.confirmations import (
    LATER,
    Confirmation,
    already_handled,
    queue_confirmation,
)
from bot.services.access import Scope, is_admin, is_head
from bot.services.context import AppContext
from bot.services.onboarding import TelegramUser, seen
from bot.services.outbox import Attachment
from bot.services.outcome import Outcome
from bot.services.tasklist import keyboard
from bot.store import repo
from bot.store.models import Person
from bot.telegram.context import BotContext
from bot.textfit import ANSWER_LIMIT, CAPTION_LIMIT, fit, split_lines

Context = BotContext
Pressed = TypeVar("Pressed", bound=Callback)
Markup = InlineKeyboardMarkup | ForceReply


def tg_user(update: Update) -> TelegramUser | None:
    u, chat = update.effective_user, update.effective_chat
    if u is None or chat is None:
        return None
    return TelegramUser(
        id=u.id, name=u.full_name or str(u.id), language=u.language_code, chat_id=chat.id
    )


async def current_person(session: AsyncSession, ctx: AppContext, update: Update) -> Person | None:
    """The registered, active person behind an update (refreshing their private chat id)."""
    user = tg_user(update)
    if user is None:
        return None
    person = await repo.person_by_telegram(session, user.id)
    if person is None:
        return None
    chat = update.effective_chat
    if chat is not None and chat.type == "private":
        await seen(session, person, chat.id, ctx.clock.now())
    return person if person.active else None


def markup(data: dict[str, Any] | None) -> InlineKeyboardMarkup | None:
    if not data or not data.get("inline_keyboard"):
        return None
    return InlineKeyboardMarkup.de_json(data, None)


def when_text(fmt: Fmt, value: datetime, ctx: AppContext) -> str:
    local = value.astimezone(ctx.tz)
    return f"{fmt.date(local.date())} {digits(local.strftime('%H:%M'), fmt.thai_digits and fmt.lang == 'th')}"


def render_params(fmt: Fmt, ctx: AppContext, params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in params.items():
        if isinstance(v, datetime):
            out[k] = when_text(fmt, v, ctx)
        elif isinstance(v, date):
            out[k] = fmt.date(v)
        elif k == "stage" and isinstance(v, str):
            out[k] = fmt.stage(v)
        elif k == "status" and isinstance(v, str):
            out[k] = fmt.t(f"status.{v}", stage="") if v != "open" else v
        elif k == "period" and isinstance(v, str):
            out[k] = fmt.period(v)
        elif k == "name" and v is None:
            out[k] = fmt.t("act.system")
        elif k == "why" and isinstance(v, tuple):  # a reason given as (text key, its params)
            key, why = v
            out[k] = fmt.t(key, **render_params(fmt, ctx, why))
        elif isinstance(v, int) and not isinstance(v, bool):
            out[k] = fmt.num(v)
        else:
            out[k] = v
    return out


def render_outcome(fmt: Fmt, ctx: AppContext, outcome: Outcome) -> str:
    return fmt.t(outcome.key, **render_params(fmt, ctx, outcome.params))


# -- one turn of the conversation ---------------------------------------------------------------


@dataclass
class Outgoing:
    """What the bot will say once the unit of work has committed (every text made to fit
    Telegram's limits by :func:`bot.textfit.fit`); confirmations of a change go in the
    outbox with the change itself."""

    messages: list[tuple[str, Markup | None]] = field(default_factory=list)
    confirmations: list[Confirmation] = field(default_factory=list)
    files: list[Attachment] = field(default_factory=list)
    answer: tuple[str | None, bool] | None = None  # the callback query's popup, once
    later: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def keep(
        self, session: AsyncSession, update: Update, person: Person, now: datetime
    ) -> None:
        """Queue the confirmations in the turn's transaction, each once per update (a
        re-delivered update finds its key taken); one whose update names nothing lasting
        is sent directly after the commit, as before."""
        for n, c in enumerate(self.confirmations):
            if not await queue_confirmation(session, update, person, c, n, now):
                self.messages.append((c.text, markup(c.reply_markup)))
        self.confirmations.clear()

    async def send(self, update: Update) -> None:
        query = update.callback_query
        if query is not None:
            text, alert = self.answer or (None, False)
            await query.answer(fit(text, ANSWER_LIMIT) if text else None, show_alert=alert)
        for job in self.later:
            await job()
        msg = update.effective_message
        if msg is None:
            return
        for text, kb in self.messages:
            await msg.reply_text(fit(text), reply_markup=kb, disable_web_page_preview=True)
        for f in self.files:
            caption = fit(f.caption, CAPTION_LIMIT) if f.caption else None
            if f.kind == "photo":
                await msg.reply_photo(photo=f.content, filename=f.filename, caption=caption)
            else:
                await msg.reply_document(document=f.content, filename=f.filename, caption=caption)


@dataclass
class Turn:
    """One update from a registered person, inside one unit of work."""

    update: Update
    ctx: AppContext
    session: AsyncSession
    person: Person
    fmt: Fmt
    now: datetime
    out: Outgoing = field(default_factory=Outgoing)
    committed: bool = False  # set once the unit of work has committed

    @property
    def today(self) -> date:
        return self.now.astimezone(self.ctx.tz).date()

    @property
    def is_admin(self) -> bool:
        """An admin of their own office (an office admin or a deployment admin)."""
        return is_admin(self.ctx, self.person)

    @property
    def scope(self) -> Scope:
        """The offices this person may touch: every lookup by id goes through it."""
        return Scope.of(self.ctx, self.person)

    def say(self, text: str, kb: Markup | None = None) -> None:
        self.out.messages.append((text, kb))

    def say_lines(self, lines: list[str]) -> None:
        """A long listing, in as many messages as it needs."""
        for text in split_lines(lines):
            self.say(text)

    def t(self, key: str, /, **kwargs: object) -> str:
        return self.fmt.t(key, **kwargs)

    def alert(self, text: str) -> None:
        """A refusal: a popup on a pressed button, a message otherwise."""
        if self.update.callback_query is not None:
            self.out.answer = (text, True)
        else:
            self.say(text)

    def pressed(self, kind: type[Pressed]) -> Pressed | None:
        """The pressed button's value if it is a ``kind``; otherwise ``None``, and the
        presser learns the button is out of date (forged or stale data changes nothing)."""
        query = self.update.callback_query
        try:
            value: Callback | None = decode(query.data if query else None)
        except BadCallback:
            value = None
        if not isinstance(value, kind):
            self.alert(self.t("stale_button"))
            return None
        return value

    def show(self, outcome: Outcome) -> None:
        """Render a service's outcome: a question waits for free text; refusals pop up.
        An outcome whose work goes on after the commit (``then``) is shown when it ends."""
        if outcome.then is not None:
            then = outcome.then

            async def finish() -> None:
                self.show(await then(self._confirm_later))

            self.after_commit(finish)
            return
        if outcome.confirmed:
            return
        text = render_outcome(self.fmt, self.ctx, outcome)
        if outcome.buttons:
            rows = [
                [InlineKeyboardButton(self.fmt.t(k), callback_data=d)] for k, d in outcome.buttons
            ]
            self.say(text, InlineKeyboardMarkup(rows))
            return
        if outcome.prompt:
            self.say(
                text, ForceReply(selective=True, input_field_placeholder=outcome.params.get("code"))
            )
            return
        if not outcome.ok and self.update.callback_query is not None and self.out.answer is None:
            self.out.answer = (text, True)
        kb = keyboard(self.fmt, outcome.follow_up, with_list=False) if outcome.follow_up else None
        if outcome.ok and not self.committed:
            org = outcome.occurrence.org_id if outcome.occurrence else None
            self.confirm(text, kb, [ln.occurrence_id for ln in outcome.follow_up], org)
        else:
            self.say(text, markup(kb))

    async def _confirm_later(self, session: AsyncSession, outcome: Outcome) -> bool:
        """The confirmation of work that commits after the turn, queued in its transaction."""
        kb = keyboard(self.fmt, outcome.follow_up, with_list=False) if outcome.follow_up else None
        c = Confirmation(
            render_outcome(self.fmt, self.ctx, outcome),
            kb,
            tuple(ln.occurrence_id for ln in outcome.follow_up),
            outcome.occurrence.org_id if outcome.occurrence else None,
        )
        return await queue_confirmation(
            session, self.update, self.person, c, LATER, self.ctx.clock.now()
        )

    def confirm(
        self,
        text: str,
        kb: dict[str, Any] | None = None,
        items: list[int] | None = None,
        org_id: int | None = None,
    ) -> None:
        """The person's own confirmation of what changed: it goes in the outbox with the
        change, so that a crash after the commit does not lose it."""
        self.out.confirmations.append(Confirmation(text, kb, tuple(items or ()), org_id))

    def attach(self, files: list[Attachment]) -> None:
        self.out.files.extend(files)

    def after_commit(self, job: Callable[[], Awaitable[None]]) -> None:
        self.out.later.append(job)


Need = Literal["staff", "head", "admin"]
TurnHandler = Callable[[Turn, Context], Awaitable[None]]
PTBHandler = Callable[[Update, Context], Coroutine[Any, Any, None]]


def not_registered_text(ctx: AppContext, update: Update) -> str:
    user = tg_user(update)
    return Fmt.of(ctx.settings).t("not_registered", tg_id=user.id if user else "?")


def refuse_stranger(ctx: AppContext, update: Update, out: Outgoing) -> None:
    """Someone who is not registered (or deactivated).  In their private chat they learn how
    to get access, with their Telegram id for the admin; in a group their id is never
    posted: a pressed button gets a short popup that only they see, anything else silence."""
    chat = update.effective_chat
    if chat is not None and chat.type == ChatType.PRIVATE:
        out.messages.append((not_registered_text(ctx, update), None))
    elif update.callback_query is not None:
        out.answer = (Fmt.of(ctx.settings).t("not_registered_short"), True)


def handler(need: Need = "staff") -> Callable[[TurnHandler], PTBHandler]:
    """Wrap ``fn(turn, context)`` as a PTB handler for registered people (and heads/admins)."""

    def wrap(fn: TurnHandler) -> PTBHandler:
        @functools.wraps(fn)
        async def run(update: Update, context: Context) -> None:
            ctx = context.ctx
            out = Outgoing()
            turn: Turn | None = None
            async with ctx.db.transaction() as s:
                person = await current_person(s, ctx, update)
                if person is None:
                    refuse_stranger(ctx, update, out)
                elif await already_handled(s, update):
                    pass  # committed by a process that died before confirming the update
                else:
                    turn = Turn(
                        update,
                        ctx,
                        s,
                        person,
                        Fmt.of(ctx.settings, person.language),
                        ctx.clock.now(),
                        out,
                    )
                    if need == "admin" and not turn.is_admin:
                        turn.alert(turn.t("admin_only"))
                    elif need == "head" and not await is_head(s, ctx, person):
                        turn.alert(turn.t("head_only"))
                    else:
                        await fn(turn, context)
                    await out.keep(s, update, person, turn.now)
            if turn is not None:
                turn.committed = True
            await out.send(update)

        return run

    return wrap
