"""`python -m bot run` as a real process, against the Bot API emulator.

* It migrates, materialises, publishes its menus, polls, answers, serves GET /health, and
  stops cleanly — logging at DEBUG without ever showing its token.
* It keeps its promises on its own: a reminder, composed ahead, leaves at its 09:00 slot and
  not before, a press on it is
  answered, and the reviewer hears at once.  That process is ``bot.cli.main`` run as
  ``python -m bot run`` runs it, with its JobQueue jobs; only its clock starts half a
  minute before the slot of the office's first reminder (:class:`~bot.clock.ShiftedClock`),
  so the test waits seconds, not a day."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bot.clock import FakeClock, ShiftedClock
from bot.domain.callbacks import StageAct, StageCall, encode
from bot.domain.enums import Stage
from tests.support.botapi import BotApiEmulator, Call
from tests.support.processes import FAST_SETTINGS
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


def test_a_shifted_clock_runs_at_the_real_pace_from_its_start() -> None:
    base = FakeClock(datetime(2026, 12, 1, 12, 0, tzinfo=UTC))
    clock = ShiftedClock(datetime(2027, 1, 4, 1, 59, 30, tzinfo=UTC), base)
    base.advance(45)
    assert clock.now() == datetime(2027, 1, 4, 2, 0, 15, tzinfo=UTC)
    assert clock.monotonic() == base.monotonic()
    with pytest.raises(ValueError):
        ShiftedClock(datetime(2027, 1, 4))


LEAD = timedelta(seconds=30)  # the process starts this long before the slot
PREPARER, REVIEWER = 5001, 5002


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def _first_reminder(db: Path) -> tuple[int, str, str, str, datetime]:
    """The open occurrence reminded first whose preparer and reviewer are both roles."""
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT id, code, prepare_role, collect_role, next_remind_at FROM occurrence"
            " WHERE status = 'open' AND stage = 'prepare' AND next_remind_at IS NOT NULL"
            " AND prepare_role IS NOT NULL AND collect_role IS NOT NULL"
            " AND prepare_role != collect_role ORDER BY next_remind_at, id LIMIT 1"
        ).fetchone()
    assert row is not None, "the shipped catalogue has a reminder to send"
    occ_id, code, prepare_role, collect_role, at = row
    return occ_id, code, prepare_role, collect_role, _utc(at)


def _reminder_times(db: Path) -> tuple[datetime, datetime]:
    """When the preparer's reminder was composed and handed to Telegram, by the bot's clock."""
    with sqlite3.connect(db) as conn:
        [(created, sent)] = conn.execute(
            "SELECT created_at, sent_at FROM outbox WHERE kind = 'reminder' AND chat_id = ?",
            (PREPARER,),
        ).fetchall()
    return _utc(created), _utc(sent)


def _utc(stored: str) -> datetime:
    at = datetime.fromisoformat(stored)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _done_button(reminder: Call, occ_id: int) -> str:
    wanted = encode(StageCall(StageAct.DONE, occ_id, Stage.PREPARE))
    rows = reminder.params.get("reply_markup", {}).get("inline_keyboard", [])
    found = [b["callback_data"] for row in rows for b in row]
    assert wanted in found, f"the reminder offers 'done' for occurrence {occ_id}: {rows}"
    return wanted


@pytest.mark.slow
def test_a_reminder_at_its_slot_a_press_and_the_reviewers_notice(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    env = dict(os.environ, DATABASE_URL=f"sqlite+aiosqlite:///{db}", **FAST_SETTINGS)
    for var in ("BOT_TOKEN", "DATABASE_SCHEMA", "WORKER_ID"):
        env.pop(var, None)
    _cli(env, "org", "init", "--name", "อบต.ทดสอบ")
    occ_id, code, prepare_role, collect_role, slot = _first_reminder(db)
    _cli(env, "people", "add", "--telegram-id", str(PREPARER), "--name", "ผู้จัดทำ",
         "--role", prepare_role)  # fmt: skip
    _cli(env, "people", "add", "--telegram-id", str(REVIEWER), "--name", "ผู้ตรวจ",
         "--role", collect_role)  # fmt: skip
    log = tmp_path / "bot.log"
    with BotApiEmulator() as emu, log.open("w") as err:
        env.update(BOT_TOKEN=emu.token, TELEGRAM_API_BASE_URL=emu.base_url, PTB_TIMEDELTA="1")
        start = (slot - LEAD).isoformat()
        proc = subprocess.Popen([sys.executable, "-m", "tests.support.shifted_main", start, "run"],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)  # fmt: skip
        try:
            emu.wait_for_calls(1, method="setMyCommands", timeout=60)
            [reminder] = emu.wait_for_calls(1, method="sendMessage", chat_id=PREPARER, timeout=90)
            pressed = time.monotonic()
            data = _done_button(reminder, occ_id)
            emu.user_press({"id": PREPARER, "is_bot": False, "first_name": "ผู้จัดทำ"},
                           reminder.result["message_id"], PREPARER, data)  # fmt: skip
            [notice] = emu.wait_for_calls(1, method="sendMessage", chat_id=REVIEWER, timeout=30)
            heard_after = time.monotonic() - pressed
            emu.wait_for_calls(1, method="answerCallbackQuery", timeout=30)
            # the presser's own confirmation: their chat's second after the reminder (the
            # reviewer's notice does not wait for it)
            emu.wait_for_calls(2, method="sendMessage", chat_id=PREPARER, timeout=30)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    logged = log.read_text(encoding="utf-8")
    assert proc.returncode == 0, logged[-3000:]
    composed, sent = _reminder_times(db)  # on the process's own clock
    # composed ahead of its slot (REMINDER_COMPOSE_AHEAD_SECONDS), held, and handed to
    # Telegram at the slot: not before it, and within seconds of it
    assert composed < slot <= sent < slot + timedelta(seconds=10), (slot, composed, sent)
    assert heard_after < 5, f"the reviewer heard {heard_after:.1f} s after the press"
    assert code in notice.params["text"], notice  # the reviewer is asked about that item
    told = [c for c in emu.sent_messages(PREPARER) if c is not reminder]
    told += emu.calls("editMessageText", chat_id=PREPARER)
    assert any(code in c.params.get("text", "") for c in told), "the presser is told"
    with sqlite3.connect(db) as conn:
        stage, status = conn.execute(
            "SELECT stage, status FROM occurrence WHERE id = ?", (occ_id,)
        ).fetchone()
    assert (stage, status) == (Stage.COLLECT, "open")  # the press moved it to the reviewer
    assert "Traceback" not in logged, logged[-3000:]
