"""What every handler shares: the context, who is speaking, and rendering replies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.render import Fmt
from bot.schedule.thai import digits
from bot.services.chain import Outcome, is_admin
from bot.services.context import AppContext
from bot.services.onboarding import TelegramUser, seen
from bot.services.reminders import head_keys
from bot.store import repo
from bot.store.models import Person

Context = ContextTypes.DEFAULT_TYPE


def app_ctx(context: Context) -> AppContext:
    ctx: AppContext = context.application.bot_data["ctx"]
    return ctx


def tg_user(update: Update) -> TelegramUser | None:
    u, chat = update.effective_user, update.effective_chat
    if u is None or chat is None:
        return None
    return TelegramUser(
        id=u.id, name=u.full_name or str(u.id), language=u.language_code, chat_id=chat.id
    )


def fmt_for(ctx: AppContext, person: Person | None) -> Fmt:
    """The person's language; Thai (the configured default) for everyone else."""
    lang = person.language if person is not None else ctx.settings.default_language
    return Fmt(lang=lang, thai_digits=ctx.settings.thai_digits)


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


async def is_head(session: AsyncSession, ctx: AppContext, person: Person) -> bool:
    if is_admin(ctx, person):
        return True
    heads = set(await head_keys(session))
    return bool(heads & set(await repo.roles_of(session, person.id, ctx.clock.now())))


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
        else:
            out[k] = v
    return out


def render_outcome(fmt: Fmt, ctx: AppContext, outcome: Outcome) -> str:
    return fmt.t(outcome.key, **render_params(fmt, ctx, outcome.params))
