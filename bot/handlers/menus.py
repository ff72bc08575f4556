"""The command menus (setMyCommands): Thai descriptions; heads and admins see more."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError

from bot.fmt import Fmt
from bot.services.access import is_admin, is_head
from bot.services.context import AppContext
from bot.store import repo
from bot.store.models import Person
from bot.texts import LANGS

log = logging.getLogger(__name__)

STAFF_COMMANDS: tuple[str, ...] = (
    "tasks", "done", "item", "oit", "changed", "lang", "cancel", "help",
)  # fmt: skip
HEAD_COMMANDS: tuple[str, ...] = ("status", "digest", "report")
ADMIN_COMMANDS: tuple[str, ...] = (
    "invite",
    "people",
    "assign",
    "deactivate",
    "linkgroup",
    "holidays",
)


def _commands(lang: str, names: tuple[str, ...]) -> list[BotCommand]:
    fmt = Fmt(lang=lang)
    return [BotCommand(n, fmt.t(f"cmd.{n}")) for n in names]


async def publish_command_menus(bot: Bot, ctx: AppContext) -> None:
    """Thai (and English) menus: staff by default; heads, admins and English readers get
    theirs per chat (everyone else keeps the default, so a big office costs a few calls)."""
    for lang in LANGS:
        code = "" if lang == "th" else lang
        await bot.set_my_commands(
            _commands(lang, STAFF_COMMANDS),
            scope=BotCommandScopeDefault(),
            language_code=code or None,
        )
    async with ctx.db.transaction() as s:
        ids = await repo.people_with_own_menu(s, ctx.settings.admin_telegram_ids)
    for pid in ids:
        await refresh_menu(bot, ctx, pid)


async def refresh_menu(bot: Bot, ctx: AppContext, person_id: int) -> None:
    """A head's or admin's private chat shows their extra commands, in their language."""
    async with ctx.db.transaction() as s:
        person = await s.get(Person, person_id)
        if person is None or person.chat_id is None:
            return
        names: tuple[str, ...] = STAFF_COMMANDS
        if await is_head(s, ctx, person):
            names = names + HEAD_COMMANDS
        if is_admin(ctx, person):
            names = names + ADMIN_COMMANDS
        chat_id, lang = person.chat_id, person.language
    if names == STAFF_COMMANDS and lang == "th":
        try:
            await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id))
        except TelegramError:
            log.info("no per-chat menu to delete for %s", chat_id)
        return
    try:
        await bot.set_my_commands(_commands(lang, names), scope=BotCommandScopeChat(chat_id))
    except TelegramError as exc:
        log.warning("could not set the menu of chat %s: %s", chat_id, exc)
