"""``python -m bot run``: start the bot, and keep trying while Telegram or the database is away.

When a start fails because a service cannot be reached (a network error, a refused
connection, a database that does not answer), one line says so, and the start is tried
again with backoff (1 s, 2 s, 4 s … at most a minute apart) until it succeeds.  Anything
else (a wrong token, a broken setting) stops at once, as before.  Once running, failed
polls reach the error handler without an update, which counts them in the ``getUpdates``
:class:`~bot.telegram.outage.Outage` (a line when the outage begins, a counter, a line when
it ends); the sender reports its own.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from telegram.error import BadRequest, NetworkError

from bot.clock import Clock
from bot.config import Settings
from bot.store.db import unavailable as database_unavailable
from bot.telegram.outage import Outage

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 60.0


def unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says a service cannot be reached now (worth trying again)."""
    if isinstance(exc, NetworkError):
        return not isinstance(exc, BadRequest)
    return database_unavailable(exc)


def _not_a_failed_start(record: logging.LogRecord) -> bool:
    """PTB logs a failed start with its traceback before raising it; we say it in one line."""
    return not (record.getMessage().startswith("Network Retry Loop (Bootstrap") and record.exc_info)


def backoff(tries: int) -> float:
    return min(2.0 ** max(tries - 1, 0), MAX_BACKOFF_SECONDS)


def run_bot(
    settings: Settings, clock: Clock, *, sleep: Callable[[float], None] = time.sleep
) -> int:
    """Poll (or serve the webhook) until stopped; a start that cannot reach a service is
    tried again."""
    from bot.app import build_application
    from bot.web import ALLOWED_UPDATES, run_webhook, serve_health_while_polling

    start = Outage("start: Telegram or the database")
    logging.getLogger("telegram.ext").addFilter(_not_a_failed_start)
    while True:
        app = build_application(settings, clock=clock)
        app.bot_data["start_outage"] = start
        try:
            if settings.webhook_url:
                run_webhook(app)
                return 0
            if settings.http_port is not None:
                serve_health_while_polling(app)
            app.run_polling(allowed_updates=ALLOWED_UPDATES, close_loop=False)
            return 0
        except Exception as exc:
            if not unreachable(exc):
                raise
            start.failed(exc)
        try:
            sleep(backoff(start.failures))
        except KeyboardInterrupt:
            return 0


def started(app: Any) -> None:
    """Called at the end of the start-up: an outage at start is over."""
    outage: Outage | None = app.bot_data.get("start_outage")
    if outage is not None:
        outage.ok()
