"""One-time invite links, for a role or for an admin."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from bot.cli.base import (
    in_context,
    write_err,
    write_out,
)
from bot.cli.errors import CliError
from bot.config import Settings
from bot.services.context import AppContext

if TYPE_CHECKING:
    pass


async def _bot_username(settings: Settings) -> str:
    """The bot's @username for links: BOT_USERNAME, or asked of the Bot API with BOT_TOKEN."""
    if settings.bot_username:
        return settings.bot_username.lstrip("@")
    from telegram.error import TelegramError

    from bot.telegram.whoami import NoToken, scrub, whoami

    try:
        me = await whoami(settings)
    except NoToken:
        raise CliError(
            "invite links need the bot's @username: set BOT_USERNAME in .env (or BOT_TOKEN, "
            "and it is asked of Telegram)"
        ) from None
    except (TelegramError, OSError) as exc:
        raise CliError(
            f"could not ask Telegram for the bot's username ({scrub(str(exc), settings)}) — "
            "set BOT_USERNAME in .env, or check BOT_TOKEN and the network"
        ) from None
    if not me.username:
        raise CliError("Telegram gave no username for this bot — set BOT_USERNAME in .env")
    return me.username


async def _make_invite(args: argparse.Namespace, ctx: AppContext, *, admin: bool) -> int:
    from bot.services import onboarding
    from bot.services.org import current_catalogue, get_org
    from bot.services.people import find_person, resolve_role

    username = await _bot_username(ctx.settings)  # first: no invite without a link to it
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        org = await get_org(s)
        role = (
            resolve_role(await current_catalogue(s, ctx, org.id), args.role) if args.role else None
        )
        person = await find_person(s, org, args.person) if args.person else None
        code, inv = await onboarding.create_invite(
            s,
            ctx,
            org,
            now,
            role_key=role.key if role else None,
            person_id=person.id if person else None,
            make_admin=admin,
        )
        expires = inv.expires_at.astimezone(ctx.settings.tz).strftime("%Y-%m-%d %H:%M")
    what = "admin" if admin else (role.name if role else "?")
    if person:
        what += f" for {person.name}"
    link = onboarding.invite_link(username, code)
    write_out(f"{link}\n")
    write_err(f"invite for {what}; works once, expires {expires} ({ctx.settings.timezone})")
    return 0


@in_context()
async def cmd_admin_invite(args: argparse.Namespace, ctx: AppContext) -> int:
    return await _make_invite(args, ctx, admin=True)


@in_context()
async def cmd_invite(args: argparse.Namespace, ctx: AppContext) -> int:
    return await _make_invite(args, ctx, admin=False)
