"""The bot token is a secret: a whole scenario at DEBUG — people joining and chatting,
reminders, Telegram failing sends (5xx, 429, timeouts), an error inside a handler,
Telegram going away — and the token is in no log line, no traceback, no exception's text
and no health report (the command's, and the HTTP endpoint's)."""

from __future__ import annotations

import asyncio
import logging
import traceback
from datetime import UTC, datetime

import httpx
import pytest
from telegram.ext import ContextTypes

from bot.cli import main
from bot.services.materialise import materialise
from bot.store.db import Database
from bot.web import WebServer
from tests.support.botapi import BotApiEmulator
from tests.support.chat import User, chat_harness, text_of
from tests.test_chat_scenario import ADMIN, ANALYST, invite, join

TOKEN = "7234567890:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"
SECRET_PART = TOKEN.split(":")[1]
STRANGER = User(4242, "ใครสักคน")


class Everything(logging.Handler):
    """Every record of every logger, formatted with its traceback, as a log file has it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


async def test_the_token_is_never_shown(
    sqlite_db: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.world import make_world

    logged = Everything()
    root = logging.getLogger()
    noisy = [logging.getLogger(n) for n in ("", "httpx", "httpcore", "telegram", "apscheduler")]
    levels = [lg.level for lg in noisy]
    root.addHandler(logged)
    for lg in noisy:
        lg.setLevel(logging.DEBUG)
    errors: list[BaseException] = []
    shown: list[str] = []  # health reports, exception texts

    async def record(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert context.error is not None
        errors.append(context.error)

    try:
        w = await make_world(
            sqlite_db,
            start=datetime(2026, 12, 16, 1, 0, tzinfo=UTC),
            admin_telegram_ids=[ADMIN.id],
            bot_token=TOKEN,
            database_url=sqlite_db.url,
            listen_port=0,
        )
        await materialise(w.ctx, w.clock.now())
        with BotApiEmulator(token=TOKEN, clock=w.clock.monotonic) as emu:
            async with chat_harness(w, emu) as h:
                h.app.add_error_handler(record)
                server = WebServer(h.app)
                await server.start()
                health_url = f"http://127.0.0.1:{server.port}/health"
                try:
                    await h.say(ADMIN, "/start")
                    await join(h, ANALYST, await invite(h, "นักวิเคราะห์นโยบายและแผน"))
                    assert "4242" in text_of(await h.say(STRANGER, "/start nonsense"))
                    # reminders, while Telegram fails some sends
                    emu.fail_next("5xx", method="sendMessage")
                    emu.fail_next("429", method="sendMessage", retry_after=1)
                    emu.fail_next("timeout", method="sendMessage")
                    w.clock.set(datetime(2026, 12, 16, 2, 0, tzinfo=UTC))
                    await h.tick()
                    w.clock.advance(minutes=5)
                    await h.deliver()
                    # a reply that fails inside a handler: the error handler logs the traceback
                    emu.fail_next("5xx", method="sendMessage", chat_id=ANALYST.id)
                    await h.say(ANALYST, "/tasks")
                    assert errors, "the failed reply reached the error handler"

                    code = await asyncio.to_thread(
                        main, ["health", "--json"], settings=w.ctx.settings, clock=w.clock
                    )
                    shown.append(capsys.readouterr().out)
                    async with httpx.AsyncClient(timeout=30) as http:
                        shown.append((await http.get(health_url)).text)
                        # Telegram goes away: polling fails, health says so
                        emu.stop()
                        for _ in range(100):
                            if any("getUpdates" in line or "NetworkError" in line
                                   for line in logged.lines[-50:] if "ERROR" in line or "WARNING" in line):  # fmt: skip
                                break
                            await asyncio.sleep(0.1)
                        reply = await http.get(health_url)
                        shown.append(reply.text)
                        assert reply.status_code == 503 and '"telegram"' in reply.text
                    await asyncio.to_thread(
                        main, ["health", "--wait", "2"], settings=w.ctx.settings, clock=w.clock
                    )
                    shown.append(capsys.readouterr().out)
                    assert "telegram: FAIL — unreachable" in shown[-1]
                finally:
                    await server.stop()
    finally:
        root.removeHandler(logged)
        for lg, level in zip(noisy, levels, strict=True):
            lg.setLevel(level)

    for exc in errors:
        shown += [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    everything = "\n".join(logged.lines + shown)
    assert "DEBUG telegram" in everything and "HTTP Request" in everything  # it was verbose
    assert "Traceback" in everything  # and tracebacks were logged
    assert code in (0, 1)
    assert TOKEN not in everything and SECRET_PART not in everything
