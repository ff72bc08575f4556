"""``python -m tests.support.shifted_main START ARGS…``: ``python -m bot ARGS…`` whose clock
starts at START (ISO 8601 with an offset) and runs at the real pace from there.

The same ``bot.cli.main`` the console script runs, with the same settings from the
environment; only the clock is injected (:class:`~bot.clock.ShiftedClock`), so a real
process can be started a few seconds before a reminder's 09:00 slot."""

from __future__ import annotations

import sys
from datetime import datetime

from bot.cli import main
from bot.clock import ShiftedClock


def run(argv: list[str]) -> int:
    start = datetime.fromisoformat(argv[0])
    return main(argv[1:], clock=ShiftedClock(start))


if __name__ == "__main__":
    raise SystemExit(run(sys.argv[1:]))
