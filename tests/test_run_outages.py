"""`python -m bot run` through outages, as a real process: Telegram or the database away at
start is one log line and retries with backoff (no crash, no traceback); failed polls while
running are one line when they begin, one when they end; APScheduler's per-run lines are
DEBUG only."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.runner import MAX_BACKOFF_SECONDS, backoff, unreachable
from bot.telegram.outage import Outage
from tests.support.botapi import BotApiEmulator

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "7234567890:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"


def bot_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ, DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    env.pop("BOT_TOKEN", None)
    env.update(extra)
    return env


def start(env: dict[str, str], log: Path) -> subprocess.Popen[str]:
    with log.open("w") as err:
        return subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=err, text=True)  # fmt: skip


def stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)


def wait_for_line(log: Path, text: str, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while text not in log.read_text(encoding="utf-8"):
        if time.monotonic() > end:
            raise AssertionError(f"{text!r} not logged:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


def test_backoff_reaches_a_minute_and_stays() -> None:
    assert [backoff(n) for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert backoff(7) == backoff(50) == MAX_BACKOFF_SECONDS == 60
    assert unreachable(ConnectionRefusedError()) and not unreachable(ValueError())


def test_a_database_that_half_works_is_one_outage(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A read-only file still answers reads: successes between the failed writes do not end
    the outage; the first success that no failure follows within the settle time does."""
    now = [1000.0]
    monkeypatch.setattr("bot.telegram.outage.time.monotonic", lambda: now[0])
    outage = Outage("database", settle_seconds=15)
    with caplog.at_level(logging.WARNING, logger="bot.telegram.outage"):
        for _ in range(20):  # 80 s of a write failing every 4 s, a read working between
            outage.failed(OSError("attempt to write a readonly database"))
            now[0] += 2
            outage.ok()
            now[0] += 2
        assert outage.ongoing
        now[0] += 15
        outage.ok()
    assert not outage.ongoing and outage.outages == 1
    lines = [r.getMessage() for r in caplog.records]
    told = [line.split(" (")[0] for line in lines]
    assert told == ["database unreachable", "database reachable again after 20 failed tries"]


@pytest.mark.slow
def test_telegram_away_at_start_and_while_polling(tmp_path: Path) -> None:
    log = tmp_path / "bot.log"
    with BotApiEmulator(token=TOKEN) as emu:
        env = bot_env(tmp_path, BOT_TOKEN=emu.token, TELEGRAM_API_BASE_URL=emu.base_url)
        emu.fail_next("5xx", method="getMe", count=3)  # the start fails three times
        proc = start(env, log)
        try:
            emu.wait_for_calls(1, method="setMyCommands", timeout=90)
            wait_for_line(log, "reachable again after 3 failed tries")
            emu.fail_next("5xx", method="getUpdates", count=3)
            wait_for_line(log, "Telegram (getUpdates) reachable again after 3 failed tries")
            emu.user_message({"id": 4242, "is_bot": False, "first_name": "ใครสักคน"}, "/start")
            emu.wait_for_calls(1, method="sendMessage", chat_id=4242, timeout=60)
        finally:
            stop(proc)
    logged = log.read_text(encoding="utf-8")
    assert proc.returncode == 0, logged[-3000:]
    assert "Traceback" not in logged, logged[-3000:]
    assert (
        logged.count("start: Telegram or the database unreachable (NetworkError: Bad Gateway)") == 1
    )
    assert logged.count("Telegram (getUpdates) unreachable") == 1
    assert "Running job" not in logged and "executed successfully" not in logged
    # a quiet log: APScheduler says one line per periodic job at each start attempt
    # (4 jobs since issue 14's link_check), the migrations one each, then the outages
    assert len(logged.splitlines()) < 45, logged


@pytest.mark.slow
def test_database_away_at_start_is_retried_without_a_traceback(tmp_path: Path) -> None:
    log = tmp_path / "bot.log"
    with BotApiEmulator(token=TOKEN) as emu:
        env = bot_env(tmp_path, BOT_TOKEN=emu.token, TELEGRAM_API_BASE_URL=emu.base_url,
                      DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1:9/test")  # fmt: skip
        proc = start(env, log)
        try:
            wait_for_line(log, "start: Telegram or the database unreachable")
            time.sleep(4)  # tries at 1 s and 2 s more: still running, still one line
            assert proc.poll() is None
        finally:
            stop(proc)
    logged = log.read_text(encoding="utf-8")
    assert "Traceback" not in logged, logged[-3000:]
    assert logged.count("unreachable") == 1, logged
    assert proc.returncode == 0, logged[-3000:]
