"""The real ``python -m bot run`` / ``python -m bot dispatch`` as subprocesses, against the Bot
API emulator and a test database, for the reliability tests: start, SIGKILL at a random
moment, stop with a signal, read the log.

    with BotApiEmulator() as emu:
        target = Target.of(db)                      # the db fixture's SQLite file or schema
        proc = BotProcess.start("dispatch", target, emu, log_dir=tmp_path)
        emu.wait_for_calls(10, method="sendMessage", timeout=60)
        proc.kill()                                  # kill -9
        assert proc.stop() == 0                      # or: SIGTERM, and its exit code

Settings are fast ones (short request timeout, ticks every second, the highest rate the
settings allow); pass more as keyword arguments (``REQUEST_TIMEOUT_SECONDS="2"``).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.store.db import Database
from tests.support.botapi import BotApiEmulator

ROOT = Path(__file__).resolve().parents[2]

#: Settings that make a bot under test quick to start, retry and give up on a held request.
FAST_SETTINGS = {
    "REQUEST_TIMEOUT_SECONDS": "1",
    "TICK_SECONDS": "1",
    "RATE_GLOBAL_PER_SECOND": "30",
    "LOG_LEVEL": "INFO",
}


@dataclass(frozen=True)
class Target:
    """Where a bot process keeps its data: a database URL and, on PostgreSQL, a schema."""

    url: str
    schema: str | None = None

    @classmethod
    def of(cls, db: Database, *, url: str | None = None) -> Target:
        """The database of the ``db`` fixture (``url``: connect as another role)."""
        schema = db.test_handle if db.dialect == "postgresql" else None  # type: ignore[attr-defined]
        return cls(url or db.url, schema)


def bot_env(target: Target, emu: BotApiEmulator, **settings: str) -> dict[str, str]:
    env = dict(os.environ)
    for var in ("BOT_TOKEN", "DATABASE_SCHEMA", "WORKER_ID"):
        env.pop(var, None)
    env.update(
        BOT_TOKEN=emu.token,
        TELEGRAM_API_BASE_URL=emu.base_url,
        DATABASE_URL=target.url,
        PTB_TIMEDELTA="1",
        PYTHONUNBUFFERED="1",
        **FAST_SETTINGS,
    )
    if target.schema:
        env["DATABASE_SCHEMA"] = target.schema
    env.update(settings)
    return env


class BotProcess:
    """One ``python -m bot <command>`` process; its stderr goes to a log file."""

    def __init__(self, proc: subprocess.Popen[bytes], log: Path) -> None:
        self.proc = proc
        self.log_path = log

    @classmethod
    def start(
        cls,
        command: str,
        target: Target,
        emu: BotApiEmulator,
        *args: str,
        log_dir: Path,
        **settings: str,
    ) -> BotProcess:
        log_dir.mkdir(parents=True, exist_ok=True)
        n = len(list(log_dir.glob(f"{command}-*.log")))
        log = log_dir / f"{command}-{n}.log"
        with log.open("wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "bot", command, *args],
                cwd=ROOT,
                env=bot_env(target, emu, **settings),
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        return cls(proc, log)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> int:
        """``kill -9``: no handler runs, nothing is released."""
        self.proc.send_signal(signal.SIGKILL)
        return self.proc.wait(timeout=30)

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Send ``sig`` and wait for the exit code (a process still running is killed)."""
        if self.alive:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout=timeout)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def __enter__(self) -> BotProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.alive:
            self.kill()


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``predicate`` (a state outside this process: a subprocess, a database) until true."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout} s")
        time.sleep(0.05)


def sends(emu: BotApiEmulator, chats: set[int]) -> int:
    """Messages that reached ``chats`` so far (an answer lost after the send included)."""
    return sum(1 for c in emu.sent_messages() if c.chat_id in chats)


def kill_at_random_moments(
    start: Callable[[], BotProcess],
    emu: BotApiEmulator,
    chats: set[int],
    *,
    kills: int,
    rng: random.Random,
    most_between: int = 12,
    timeout: float = 60.0,
) -> list[BotProcess]:
    """Start a bot, let it deliver a random 1..``most_between`` more messages to ``chats``,
    wait a random instant more (inside a send, a commit or a claim), ``kill -9`` it; ``kills``
    times.  Returns the killed processes (their logs)."""
    killed: list[BotProcess] = []
    for _ in range(kills):
        proc = start()
        target = sends(emu, chats) + rng.randint(1, most_between)
        try:
            wait_until(
                lambda p=proc, n=target: sends(emu, chats) >= n or not p.alive,  # type: ignore[misc]
                timeout,
                f"{target} sends before a kill",
            )
            time.sleep(rng.uniform(0, 0.05))
        finally:
            proc.kill()
        killed.append(proc)
        assert proc.proc.returncode == -signal.SIGKILL, proc.log()[-3000:]
    return killed


def arrivals(emu: BotApiEmulator, chats: set[int]) -> Counter[int]:
    """How many times each of ``chats`` got a message."""
    return Counter(c.chat_id for c in emu.sent_messages() if c.chat_id in chats)
