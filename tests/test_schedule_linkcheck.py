"""The link checks' calendar: weekly, daily 1 Feb–30 Apr, at the configured hour."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.schedule.linkcheck import next_link_check

BKK = ZoneInfo("Asia/Bangkok")


@pytest.mark.parametrize(
    ("checked", "due"),
    [
        (datetime(2026, 11, 26, 10, 0, tzinfo=BKK), datetime(2026, 12, 3, 6, 0, tzinfo=BKK)),
        (datetime(2027, 1, 28, 6, 0, tzinfo=BKK), datetime(2027, 2, 1, 6, 0, tzinfo=BKK)),
        (datetime(2027, 1, 31, 6, 0, tzinfo=BKK), datetime(2027, 2, 1, 6, 0, tzinfo=BKK)),
        (datetime(2027, 2, 1, 6, 0, tzinfo=BKK), datetime(2027, 2, 2, 6, 0, tzinfo=BKK)),
        (datetime(2027, 4, 29, 6, 0, tzinfo=BKK), datetime(2027, 4, 30, 6, 0, tzinfo=BKK)),
        (datetime(2027, 4, 30, 6, 0, tzinfo=BKK), datetime(2027, 5, 7, 6, 0, tzinfo=BKK)),
        (datetime(2027, 12, 30, 6, 0, tzinfo=BKK), datetime(2028, 1, 6, 6, 0, tzinfo=BKK)),
    ],
)
def test_weekly_then_daily_in_the_season(checked: datetime, due: datetime) -> None:
    assert next_link_check(checked.astimezone(UTC), BKK, 6) == due


def test_a_check_late_at_night_utc_counts_by_the_bangkok_day() -> None:
    # 31 Jan 23:30 UTC is already 1 Feb in Bangkok: the next check is 2 Feb
    got = next_link_check(datetime(2027, 1, 31, 23, 30, tzinfo=UTC), BKK, 6)
    assert got == datetime(2027, 2, 2, 6, 0, tzinfo=BKK)
