"""The Bot API emulator in a process of its own, as Telegram is to the bot.

In the bench's own process the emulator's HTTP handling takes the same interpreter lock
as the bot it measures; in a child process it takes a core of its own, so what the bench
measures is the bot.  The child reports what reached it when asked: the arrival instant
(``time.monotonic``, the same clock in both processes on Linux) and chat of every
``sendMessage`` it answered 200.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.connection import Connection
from types import TracebackType


def _serve(token: str, conn: Connection) -> None:
    from tests.support.botapi import BotApiEmulator

    with BotApiEmulator(token) as emu:
        conn.send(emu.base_url)
        try:
            conn.recv()  # "report"
        except EOFError:  # the bench ended without asking
            return
        conn.send([(c.at, c.chat_id) for c in emu.sent_messages() if c.ok])


class EmulatorProcess:
    """``with EmulatorProcess(token) as emu:`` … ``emu.base_url`` … ``emu.arrivals()``."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.base_url = ""
        self._conn: Connection | None = None
        self._proc: multiprocessing.process.BaseProcess | None = None

    def __enter__(self) -> EmulatorProcess:
        ctx = multiprocessing.get_context("spawn")
        ours, theirs = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(self.token, theirs), daemon=True)
        self._proc.start()
        if not ours.poll(60):
            raise RuntimeError("the Bot API emulator's process did not start")
        self.base_url = ours.recv()
        self._conn = ours
        return self

    def arrivals(self) -> list[tuple[float, int | None]]:
        """(arrival, chat) of every message answered 200, once; the child then stops."""
        if self._conn is None:
            raise RuntimeError("already reported")
        self._conn.send("report")
        got: list[tuple[float, int | None]] = self._conn.recv()
        self._conn.close()
        self._conn = None
        return got

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._conn is not None:
            self._conn.close()  # the child's recv() ends; it stops
        if self._proc is not None:
            self._proc.join(15)
            if self._proc.is_alive():
                self._proc.kill()
