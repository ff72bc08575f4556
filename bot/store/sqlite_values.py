"""Values in the form SQLite's columns hold them, for statements given to the driver as they
are (``exec_driver_sql``) on hot paths: what :class:`bot.store.models.base.UTCDateTime` and
SQLAlchemy's SQLite ``DATETIME`` / ``DATE`` would bind, without their per-value processing.
A comparison in SQL (``WHERE next_remind_at = ?``) matches only the exact stored text, so
these must stay in step with them (tests/test_sqlite_values.py checks it)."""

from __future__ import annotations

from datetime import UTC, date, datetime


def stored_ts(value: datetime | None) -> str | None:
    """A timezone-aware timestamp as a ``UTCDateTime`` column stores it on SQLite."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def stored_date(value: date | None) -> str | None:
    """A date as a ``Date`` column stores it on SQLite."""
    return None if value is None else value.strftime("%Y-%m-%d")
