"""Shared fixtures.  Database fixtures (SQLite and PostgreSQL) come from tests/support/db.py,
the Bot API emulator and the running Application from tests/support/telegram.py."""

import os

# Opt in to python-telegram-bot's future API (RetryAfter.retry_after as a timedelta), as
# `python -m bot` does; the old int form only warns.
os.environ.setdefault("PTB_TIMEDELTA", "1")

pytest_plugins = ["tests.support.db", "tests.support.telegram"]
