"""The bot's HTTP side: Telegram's webhook (when ``WEBHOOK_URL`` is set) and ``GET /health``.

Webhook mode: on start the bot registers ``WEBHOOK_URL`` with Telegram together with a
secret token (``WEBHOOK_SECRET``, or a random one for this run); Telegram sends that token
in the ``X-Telegram-Bot-Api-Secret-Token`` header of every update it posts.  A request
without it, or with another, is refused (403) and logged in one line; an accepted update
goes to the Application's update queue, as a polled one would.  While the Application is
not running (starting, stopping) updates are answered 503, so Telegram keeps and resends
them: none is acknowledged and then dropped.

``GET /health`` answers the report of ``python -m bot health`` (:mod:`bot.services.health`)
as JSON: 200 when healthy, 503 when not.  The token is never in it.

When polling, the same server (health only) runs if ``LISTEN_PORT`` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import secrets
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from aiohttp import web
from telegram import Update

from bot.config import HEALTH_PATH, Settings
from bot.logs import redact
from bot.services.context import AppContext
from bot.telegram.context import app_context

log = logging.getLogger(__name__)

App = Any  # telegram.ext.Application[...]
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 1024 * 1024  # an update is a few kB; a megabyte is not Telegram


class ServeError(RuntimeError):
    """The bot cannot serve as configured; ``str()`` is the line for the operator."""


def webhook_secret(settings: Settings) -> str:
    """WEBHOOK_SECRET, or a new random token (Telegram's alphabet) for this run."""
    if settings.webhook_secret is not None:
        return settings.webhook_secret.get_secret_value()
    return secrets.token_urlsafe(48)


class WebServer:
    """``GET /health`` always; ``POST <WEBHOOK_URL's path>`` when ``secret`` is given."""

    def __init__(self, app: App, *, secret: str | None = None) -> None:
        self.app = app
        self.ctx: AppContext = app_context(app)
        self.secret = secret
        self.port: int | None = None
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        settings = self.ctx.settings
        web_app = web.Application(client_max_size=MAX_UPDATE_BYTES)
        web_app.router.add_get(HEALTH_PATH, self._health)
        if self.secret is not None:
            web_app.router.add_post(settings.webhook_path, self._receive)
        self._runner = web.AppRunner(web_app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, settings.listen_address, settings.http_port or 0)
        try:
            await site.start()
        except OSError as exc:
            await self.stop()
            raise ServeError(
                f"LISTEN_ADDRESS/LISTEN_PORT {settings.listen_address}:{settings.http_port}: "
                f"cannot listen there ({exc.strerror or exc}) — another process holds the port, "
                "or choose another address or port"
            ) from None
        self.port = int(self._runner.addresses[0][1])
        what = f"webhook at {settings.webhook_path} and " if self.secret is not None else ""
        log.info("serving %s%s on %s:%d", what, HEALTH_PATH, settings.listen_address, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _receive(self, request: web.Request) -> web.Response:
        assert self.secret is not None
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            log.warning(
                "webhook: refused a request from %s %s the secret token",
                request.remote,
                "with a wrong" if given else "without",
            )
            return web.Response(status=403, text="forbidden")
        try:
            update = Update.de_json(await request.json(), self.app.bot)
        except Exception as exc:  # Telegram's own header, but not an update
            log.warning("webhook: a request that is not an update (%s)", type(exc).__name__)
            return web.Response(status=400, text="not an update")
        if not self.app.running:
            return web.Response(status=503, text="starting or stopping; send it again")
        self.app.update_queue.put_nowait(update)  # no await: no stop can slip in between
        return web.Response(status=200)

    async def _health(self, request: web.Request) -> web.Response:
        ok, report = await health_report(self.ctx, self.app.bot)
        return web.Response(status=200 if ok else 503, text=report, content_type="application/json")


async def health_report(ctx: AppContext, bot: Any) -> tuple[bool, str]:
    """``python -m bot health --json``'s report, from the running bot."""
    from bot.services.health import check_health, telegram_check
    from bot.telegram.whoami import scrub

    health = await check_health(
        ctx.clock.now(),
        ctx.db,
        lambda: telegram_check(bot.get_me, lambda t: scrub(t, ctx.settings)),
        outbox_max_age=timedelta(seconds=ctx.settings.health_outbox_max_age_seconds),
    )
    text = json.dumps(health.as_dict(), ensure_ascii=False, indent=2)
    return health.ok, scrub(text, ctx.settings)


@asynccontextmanager
async def serving_webhook(app: App) -> AsyncIterator[WebServer]:
    """The bot in webhook mode, as ``run_polling`` runs it in polling mode: initialise, its
    start-up (migrations, menus), the HTTP server, ``setWebhook``, the Application and its
    jobs; on leaving, the same in reverse."""
    ctx = app_context(app)
    settings = ctx.settings
    assert settings.webhook_url is not None
    secret = webhook_secret(settings)
    redact(secret)  # PTB logs setWebhook's parameters at DEBUG
    server = WebServer(app, secret=secret)
    try:
        async with app:  # initialize … shutdown
            if app.post_init:
                await app.post_init(app)
            await server.start()
            try:
                await register_webhook(app, settings.webhook_url, secret)
                log.info("webhook set: Telegram posts updates to %s", settings.webhook_url)
                await app.start()
                try:
                    yield server
                finally:
                    await app.stop()
                    if app.post_stop:
                        await app.post_stop(app)
            finally:
                await server.stop()
    finally:
        if app.post_shutdown:
            await app.post_shutdown(app)


async def register_webhook(app: App, url: str, secret: str) -> None:
    from telegram.error import TelegramError

    from bot.telegram.whoami import scrub

    try:
        await app.bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
    except TelegramError as exc:
        raise ServeError(
            f"WEBHOOK_URL {url}: Telegram did not take the webhook "
            f"({scrub(str(exc), app_context(app).settings)}) — it must be a public HTTPS "
            "address on port 443, 80, 88 or 8443"
        ) from None


def run_webhook(app: App) -> None:
    """``python -m bot run`` with WEBHOOK_URL: serve until SIGINT or SIGTERM."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):  # not on Windows
                loop.add_signal_handler(sig, stop.set)
        async with serving_webhook(app):
            await stop.wait()

    asyncio.run(main())


def serve_health_while_polling(app: App) -> None:
    """With LISTEN_PORT set, ``run_polling`` also serves ``GET /health``: the server starts
    after the bot's start-up and stops at its shutdown."""
    server = WebServer(app)
    started, ended = app.post_init, app.post_shutdown

    async def post_init(application: App) -> None:
        if started:
            await started(application)
        await server.start()

    async def post_shutdown(application: App) -> None:
        await server.stop()
        if ended:
            await ended(application)

    app.post_init, app.post_shutdown = post_init, post_shutdown
