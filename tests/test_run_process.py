"""`python -m bot run` as a real process: it migrates, materialises, publishes its menus,
polls the Bot API emulator, answers, serves GET /health, and stops cleanly — logging at
DEBUG without ever showing its token."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.botapi import BotApiEmulator
from tests.support.telegram import free_port

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_run_serves_updates_until_stopped(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    env = dict(os.environ, DATABASE_URL=db_url)
    env.pop("BOT_TOKEN", None)
    init = subprocess.run([sys.executable, "-m", "bot", "org", "init", "--name", "อบต.ทดสอบ"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert init.returncode == 0, init.stderr
    token = "7234567890:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"
    log = tmp_path / "bot.log"
    port = free_port()
    with BotApiEmulator(token=token) as emu, log.open("w") as err:
        env.update(
            BOT_TOKEN=emu.token,
            TELEGRAM_API_BASE_URL=emu.base_url,
            ADMIN_TELEGRAM_IDS="777",
            LOG_LEVEL="DEBUG",
            LISTEN_PORT=str(port),  # polling, and GET /health on this port
        )
        proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=err, text=True)  # fmt: skip
        try:
            emu.wait_for_calls(1, method="setMyCommands", timeout=60)
            emu.user_message({"id": 4242, "is_bot": False, "first_name": "ใครสักคน"}, "/start")
            [reply] = emu.wait_for_calls(1, method="sendMessage", chat_id=4242, timeout=60)
            assert "4242" in reply.params["text"]  # not registered: shown their id for the admin
            emu.user_message({"id": 777, "is_bot": False, "first_name": "แอดมิน"}, "/start")
            [welcome] = emu.wait_for_calls(1, method="sendMessage", chat_id=777, timeout=60)
            assert "ผู้ดูแลระบบ" in welcome.params["text"]
            health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=30)
            assert health.status_code in (200, 503), health.text
            assert {c["name"] for c in health.json()["checks"]} >= {
                "database",
                "telegram",
                "outbox",
            }
            assert token.split(":")[1] not in health.text
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)
    logged = log.read_text(encoding="utf-8")
    assert proc.returncode == 0, logged[-3000:]
    assert emu.commands()[0]["command"] == "tasks"
    # DEBUG logs every Bot API URL (PTB's "Set Bot API URL", httpx's requests): redacted
    assert "Set Bot API URL" in logged and "HTTP Request" in logged and "DEBUG" in logged
    assert token not in logged and token.split(":")[1] not in logged
