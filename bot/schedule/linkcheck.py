"""When an evidence link is checked next: weekly, and daily from 1 February to 30 April
(the OIT collection window and the month before it).  Pure: ``now`` is passed in.

Checks run at ``hour`` o'clock local time.  A weekly wait never runs past the start of
the daily season: a link checked on 28 January is checked again on 1 February.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAILY_FROM = (2, 1)  # 1 February
DAILY_TO = (4, 30)  # 30 April, inclusive
WEEK = 7


def daily_season(d: date) -> bool:
    return DAILY_FROM <= (d.month, d.day) <= DAILY_TO


def next_link_check(now: datetime, tz: ZoneInfo, hour: int) -> datetime:
    """The instant of the next scheduled check of a link checked at ``now``."""
    today = now.astimezone(tz).date()
    tomorrow = today + timedelta(days=1)
    if daily_season(tomorrow):
        day = tomorrow
    else:
        day = today + timedelta(days=WEEK)
        season = date(
            today.year if today < date(today.year, *DAILY_FROM) else today.year + 1, *DAILY_FROM
        )
        day = min(day, season)
    return datetime.combine(day, time(hour), tzinfo=tz)
