"""Composing ahead of a slot (pure): the horizon the tick composes as of, and how long a
message composed ahead is held."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.schedule.policy import SchedulePolicy
from bot.schedule.reminders import compose_horizon, held_until, reminder_of

BKK = ZoneInfo("Asia/Bangkok")
POLICY = SchedulePolicy()  # civil hours 08:30-16:30, slots at 09:00
FIVE = timedelta(minutes=5)


def bkk(day: int, hour: int, minute: int) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=BKK)


def test_the_horizon_is_the_days_slot_when_it_is_near_enough() -> None:
    assert compose_horizon(bkk(16, 8, 56), FIVE, POLICY, BKK) == bkk(16, 9, 0)
    assert compose_horizon(bkk(16, 8, 55), FIVE, POLICY, BKK) == bkk(16, 9, 0)
    assert compose_horizon(bkk(16, 8, 54), FIVE, POLICY, BKK) == bkk(16, 8, 54)  # 6 min away
    assert compose_horizon(bkk(16, 9, 0), FIVE, POLICY, BKK) == bkk(16, 9, 0)  # the slot: now
    assert compose_horizon(bkk(16, 9, 30), FIVE, POLICY, BKK) == bkk(16, 9, 30)  # after it
    assert compose_horizon(bkk(16, 16, 28), FIVE, POLICY, BKK) == bkk(16, 16, 28)
    assert compose_horizon(bkk(16, 8, 56), timedelta(0), POLICY, BKK) == bkk(16, 8, 56)


def test_nothing_is_composed_outside_civil_hours_even_when_the_horizon_is_inside() -> None:
    assert compose_horizon(bkk(16, 8, 27), timedelta(hours=1), POLICY, BKK) is None
    assert compose_horizon(bkk(16, 20, 0), FIVE, POLICY, BKK) is None
    assert compose_horizon(bkk(19, 9, 0), FIVE, POLICY, BKK) is None  # a Saturday


def test_a_message_waits_for_the_latest_slot_it_covers_if_it_is_still_to_come() -> None:
    now = bkk(16, 8, 56).astimezone(UTC)
    slot, yesterday = bkk(16, 9, 0), bkk(15, 9, 0)
    assert held_until([slot], now) == slot
    assert held_until([yesterday, slot], now) == slot  # a caught-up stage goes with it
    assert held_until([yesterday], now) is None  # due already: at once
    assert held_until([], now) is None


def test_a_catch_up_before_the_days_slot_is_that_days_reminder_with_its_own_key() -> None:
    after, key = reminder_of(bkk(16, 8, 30).astimezone(UTC), POLICY, BKK)
    assert after == bkk(16, 9, 0)  # its stages' next slots come after today's
    assert key == "2026-12-16T083000"
    at_slot, slot_key = reminder_of(bkk(16, 9, 0).astimezone(UTC), POLICY, BKK)
    assert (at_slot, slot_key) == (bkk(16, 9, 0), "2026-12-16")
    later = bkk(16, 10, 15).astimezone(UTC)  # a catch-up after the slot joins it
    assert reminder_of(later, POLICY, BKK) == (later, "2026-12-16")
    assert key != slot_key
