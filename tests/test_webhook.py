"""Webhook mode and ``GET /health``, over real HTTP: the bot registers its URL and secret
with Telegram (the emulator), takes updates only with the secret, refuses and logs the
rest, and answers the health report of ``python -m bot health`` — never with the token."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram.ext import Application

from bot.app import build_application
from bot.cli import main
from bot.store.db import Database
from bot.telegram.context import set_app_context
from bot.web import SECRET_HEADER, serving_webhook
from tests.support.botapi import BotApiEmulator
from tests.support.telegram import free_port
from tests.support.world import World, make_world

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "7234567890:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"
SECRET = "webhook-Secret_0123456789"
PUBLIC = "https://bot.example.go.th/ita/telegram"
ADMIN = 777
App = Application[Any, Any, Any, Any, Any, Any]


def start_update(update_id: int, user_id: int) -> dict[str, Any]:
    """A private /start, as Telegram posts it."""
    user = {"id": user_id, "is_bot": False, "first_name": "แอดมิน", "language_code": "th"}
    message = {
        "message_id": update_id,
        "from": user,
        "chat": {"id": user_id, "type": "private", "first_name": "แอดมิน"},
        "date": int(time.time()),
        "text": "/start",
        "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
    }
    return {"update_id": update_id, "message": message}


@asynccontextmanager
async def webhook_bot(db: Database, emu: BotApiEmulator) -> AsyncIterator[tuple[World, App, str]]:
    """The application as ``run`` builds it, with its jobs, in webhook mode on a free port;
    yields the world, the app and the server's root URL."""
    world = await make_world(
        db,
        bot_token=emu.token,
        telegram_api_base_url=emu.base_url,
        database_url=db.url,
        admin_telegram_ids=[ADMIN],
        webhook_url=PUBLIC,
        webhook_secret=SECRET,
        listen_port=0,
    )
    app = build_application(world.ctx.settings, clock=world.clock, db=db)
    set_app_context(app, world.ctx)
    async with serving_webhook(app) as server:
        yield world, app, f"http://127.0.0.1:{server.port}"


def steady(report: dict[str, Any]) -> dict[str, Any]:
    """A report without the run counts (the JobQueue's own tick may run meanwhile)."""
    return {**report, "checks": [{**c, "runs": None} for c in report["checks"]]}


async def run_job(app: App, name: str) -> None:
    [job] = [j for j in app.job_queue.jobs() if j.name == name]  # type: ignore[union-attr]
    await job.callback(app.context_types.context.from_job(job, app))


async def test_webhook_takes_updates_only_with_the_secret(
    sqlite_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with BotApiEmulator(token=TOKEN) as emu:
        async with webhook_bot(sqlite_db, emu) as (_, _, root), httpx.AsyncClient() as http:
            [hook] = emu.calls("setWebhook")
            assert hook.params["url"] == PUBLIC and hook.params["secret_token"] == SECRET
            assert set(hook.params["allowed_updates"]) == {"message", "callback_query", "my_chat_member"}  # fmt: skip
            url = f"{root}/ita/telegram"  # the public URL's path

            refused = []
            for headers in ({}, {SECRET_HEADER: "guess"}, {SECRET_HEADER: SECRET + "x"}):
                caplog.clear()
                r = await http.post(url, json=start_update(1, ADMIN), headers=headers)
                refused.append(r.status_code)
                lines = [r.getMessage() for r in caplog.records if "webhook" in r.getMessage()]
                assert len(lines) == 1 and lines[0].startswith("webhook: refused a request from 127.0.0.1"), lines  # fmt: skip
            assert refused == [403, 403, 403]
            assert (await http.get(url)).status_code == 405  # only POST, and only there
            assert (await http.post(f"{root}/", json={}, headers={SECRET_HEADER: SECRET})).status_code == 404  # fmt: skip
            r = await http.post(url, content=b"{not json", headers={SECRET_HEADER: SECRET})
            assert r.status_code == 400
            await asyncio.sleep(0.3)  # what a refused update would have caused, had it been taken
            assert emu.sent_messages(ADMIN) == []

            r = await http.post(url, json=start_update(2, ADMIN), headers={SECRET_HEADER: SECRET})
            assert r.status_code == 200
            [welcome] = await emu.await_calls(1, method="sendMessage", chat_id=ADMIN, timeout=30)
            assert "ผู้ดูแลระบบ" in welcome.params["text"]

    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert TOKEN not in logged and TOKEN.split(":")[1] not in logged
    assert SECRET not in logged


async def test_health_over_http_is_the_command_s_report(
    sqlite_db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    with BotApiEmulator(token=TOKEN, bot_username="bangsaipa_ita_bot") as emu:
        async with webhook_bot(sqlite_db, emu) as (world, app, root), httpx.AsyncClient() as http:
            r = await http.get(f"{root}/health")
            assert r.status_code == 503 and r.headers["content-type"].startswith("application/json")
            report = r.json()
            assert report["ok"] is False
            checks = {c["name"]: c for c in report["checks"]}
            assert checks["jobs"]["ok"] is False and checks["database"]["ok"] is True
            assert checks["telegram"]["detail"] == "@bangsaipa_ita_bot answers"

            await run_job(app, "tick")
            r = await http.get(f"{root}/health")
            assert r.status_code == 200, r.text
            served = r.json()
            assert served["ok"] is True and TOKEN.split(":")[1] not in r.text

            # the command's --json report, on the same database at the same moment
            code = await asyncio.to_thread(
                main, ["health", "--json"], settings=world.ctx.settings, clock=world.clock
            )
            printed = json.loads(capsys.readouterr().out)
            assert code == 0 and steady(printed) == steady(served)

            # Telegram gone: unhealthy, and the error's text does not carry the token
            emu.stop()
            r = await http.get(f"{root}/health")
            assert r.status_code == 503
            assert {c["name"]: c["ok"] for c in r.json()["checks"]}["telegram"] is False
            assert TOKEN.split(":")[1] not in r.text


@pytest.mark.slow
def test_run_serves_a_webhook_until_stopped(tmp_path: Path) -> None:
    """``python -m bot run`` with WEBHOOK_URL, as a real process, logging at DEBUG."""
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_SCHEMA")}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    port = free_port()
    log = tmp_path / "bot.log"
    with BotApiEmulator(token=TOKEN) as emu, log.open("w") as err:
        env.update(BOT_TOKEN=emu.token, TELEGRAM_API_BASE_URL=emu.base_url, ADMIN_TELEGRAM_IDS=str(ADMIN),
                   LOG_LEVEL="DEBUG", WEBHOOK_URL=PUBLIC, WEBHOOK_SECRET=SECRET, LISTEN_PORT=str(port))  # fmt: skip
        proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=err, text=True)  # fmt: skip
        try:
            emu.wait_for_calls(1, method="setWebhook", timeout=60)
            url = f"http://127.0.0.1:{port}/ita/telegram"
            with httpx.Client(timeout=30) as http:
                assert http.post(url, json=start_update(1, ADMIN)).status_code == 403
                for _ in range(100):  # setWebhook comes before the Application starts
                    r = http.post(url, json=start_update(2, ADMIN), headers={SECRET_HEADER: SECRET})
                    if r.status_code != 503:
                        break
                    time.sleep(0.1)
                assert r.status_code == 200
                [welcome] = emu.wait_for_calls(1, method="sendMessage", chat_id=ADMIN, timeout=60)
                assert "ผู้ดูแลระบบ" in welcome.params["text"]
                health = http.get(f"http://127.0.0.1:{port}/health")
                assert health.status_code in (200, 503) and "checks" in health.json()
                assert TOKEN.split(":")[1] not in health.text
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    logged = log.read_text(encoding="utf-8")
    assert proc.returncode == 0, logged[-3000:]
    assert emu.calls("getUpdates") == []  # no polling in webhook mode
    assert [line for line in logged.splitlines() if "webhook: refused" in line] == [
        next(line for line in logged.splitlines() if "webhook: refused" in line)
    ]
    assert "DEBUG" in logged and TOKEN not in logged and TOKEN.split(":")[1] not in logged
    assert SECRET not in logged


def test_a_port_taken_or_a_refused_webhook_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.config import Settings

    with BotApiEmulator(token=TOKEN) as emu, socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        base: dict[str, Any] = {"bot_token": TOKEN, "telegram_api_base_url": emu.base_url, "webhook_url": PUBLIC,
                "database_url": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"}  # fmt: skip
        busy = Settings(_env_file=None, listen_port=taken.getsockname()[1], **base)
        assert main(["run"], settings=busy) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: LISTEN_ADDRESS/LISTEN_PORT 127.0.0.1:") and err.count("\n") == 1, err  # fmt: skip
        emu.fail_next("chat_not_found", method="setWebhook")
        refused = Settings(_env_file=None, listen_port=0, **base)
        assert main(["run"], settings=refused) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"error: WEBHOOK_URL {PUBLIC}: Telegram did not take") and err.count("\n") == 1, err  # fmt: skip
        assert TOKEN.split(":")[1] not in err
