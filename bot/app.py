"""The composition root: ``build_application(settings)`` wires everything, once.

Nothing is built at import time.  Tests call it with their own settings (pointing at
the local Bot API emulator and a test database) and a fake clock.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder
from telegram.request import HTTPXRequest

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.handlers import register_handlers
from bot.jobs import register_jobs
from bot.logs import redact
from bot.runner import started
from bot.services.access import is_registered
from bot.services.context import AppContext
from bot.services.dispatch import Dispatcher
from bot.services.materialise import materialise
from bot.services.sender import Sender
from bot.store.db import Database
from bot.store.migrate import upgrade
from bot.telegram.context import CONTEXT_TYPES, app_context, set_app_context
from bot.telegram.outage import Outage, WatchedRequest
from bot.telegram.polling import PollingBot, UpdateLedger
from bot.telegram.ratelimit import TelegramRateLimiter
from bot.telegram.sharedlimit import SharedSlots
from bot.telegram.transport import TelegramTransport, transport_of
from bot.telegram.updates import ChatOrderedProcessor, SenderGate

log = logging.getLogger(__name__)

BOTFATHER_HELP = (
    "BOT_TOKEN is not set. Create a bot: open Telegram, talk to @BotFather, send /newbot and "
    "follow the steps; it answers with a token like 123456789:AA…. Put it in .env as "
    "BOT_TOKEN=… (see config/example.env)."
)


class MissingToken(RuntimeError):
    pass


def build_context(
    settings: Settings, clock: Clock | None = None, db: Database | None = None
) -> AppContext:
    return AppContext(
        settings=settings,
        clock=clock or SystemClock(),
        db=db or Database(settings.database_url, schema=settings.database_schema),
    )


def shared_slots(settings: Settings, ctx: AppContext) -> SharedSlots | None:
    """``RATE_LIMITER=database`` (the default): the limits hold for all the processes that
    send on this database together; ``memory``: this process paces only itself."""
    if settings.rate_limiter != "database":
        return None
    return SharedSlots(
        ctx.db,
        ctx.clock,
        global_per_second=settings.rate_global_per_second,
        private_per_second=settings.rate_private_per_second,
        group_per_minute=settings.rate_group_per_minute,
    )


def build_application(
    settings: Settings,
    *,
    clock: Clock | None = None,
    db: Database | None = None,
    with_jobs: bool = True,
    startup: bool = True,
) -> Application[Any, Any, Any, Any, Any, Any]:
    """The bot: handlers, jobs, rate limiter and store, from one Settings object."""
    if settings.bot_token is None or not settings.bot_token.get_secret_value().strip():
        raise MissingToken(BOTFATHER_HELP)
    token = settings.bot_token.get_secret_value()
    redact(token)  # before anything can log a URL that carries it
    ctx = build_context(settings, clock, db)
    ctx.holiday_rules  # noqa: B018 - a bad holiday table stops the start, naming its file and line
    polls = Outage("Telegram (getUpdates)")
    ledger = UpdateLedger()  # the long poll confirms only what the processor has handled
    bot = _bot(token, settings, ctx, polls, ledger)
    app = (
        ApplicationBuilder()
        .bot(bot)
        .concurrent_updates(
            ChatOrderedProcessor(
                SenderGate(
                    ctx.clock,
                    functools.partial(is_registered, ctx),
                    stranger_per_minute=settings.flood_stranger_per_minute,
                    staff_per_minute=settings.flood_staff_per_minute,
                ),
                workers=settings.update_workers,
                ledger=ledger,
            )
        )
        .context_types(CONTEXT_TYPES)
        .post_init(_post_init if startup else _no_op)
        .post_stop(_stopped)
        .post_shutdown(_post_shutdown)
        .build()
    )
    set_app_context(app, ctx)
    app.bot_data["poll_outage"] = polls
    app.bot_data["transport"] = TelegramTransport(app.bot)  # what the dispatchers send through
    register_handlers(app)
    if with_jobs:
        register_jobs(app, ctx)
    return app


def _bot(
    token: str, settings: Settings, ctx: AppContext, polls: Outage, ledger: UpdateLedger
) -> PollingBot:
    """The bot's HTTP side: its two connections to the Bot API (sends; the long poll, which
    tells ``polls`` when Telegram is away and confirms only what ``ledger`` says was
    handled) and the rate limiter every send goes through."""
    timeout = settings.request_timeout_seconds
    return PollingBot(
        token,
        base_url=settings.bot_api_url,
        base_file_url=settings.bot_file_url,
        request=HTTPXRequest(connection_pool_size=8, read_timeout=timeout, write_timeout=timeout),
        get_updates_request=WatchedRequest(polls, read_timeout=timeout + 30),
        rate_limiter=TelegramRateLimiter(
            ctx.clock,
            global_per_second=settings.rate_global_per_second,
            private_per_second=settings.rate_private_per_second,
            group_per_minute=settings.rate_group_per_minute,
            shared=shared_slots(settings, ctx),
        ),
        ledger=ledger,
    )


async def _no_op(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    return None


async def _post_init(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    ctx = app_context(app)
    await upgrade(ctx.db)
    stats = await materialise(ctx, ctx.clock.now())
    log.info("materialised on start: %s", stats)
    await Dispatcher(ctx, transport_of(app)).recover()
    from bot.handlers.menus import publish_command_menus

    await publish_command_menus(app.bot, ctx)
    await start_sender(app)
    started(app)


async def start_sender(app: Application[Any, Any, Any, Any, Any, Any]) -> Sender:
    """The continuously running sender (see bot.services.sender), kept in ``bot_data``."""
    sender = Sender(app_context(app), transport_of(app))
    await sender.start()
    app.bot_data["sender"] = sender
    return sender


async def _post_stop(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """A stop (SIGTERM, SIGINT): the sender finishes the message in hand and gives back its
    claims while the bot can still talk to Telegram (its HTTP client closes at shutdown)."""
    sender: Sender | None = app.bot_data.pop("sender", None)
    if sender is not None:
        await sender.stop()


async def _stopped(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """After a stop: the sender gives back its claims, and Telegram learns which updates
    were handled meanwhile (the Application finished them after polling stopped)."""
    await _post_stop(app)
    if isinstance(app.bot, PollingBot):
        try:
            await app.bot.confirm_handled()
        except TelegramError as exc:  # the next start fetches them again: handled once more
            log.warning("could not confirm the handled updates to Telegram: %s", exc)


async def _post_shutdown(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    ctx = app_context(app)
    await _post_stop(app)  # a start that failed half-way never stopped
    await ctx.db.dispose()
