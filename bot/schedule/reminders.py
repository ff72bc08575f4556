"""Reminder slots for one stage deadline.

Defaults (BRIEF.md, "Reminder etiquette"): 7 days and 1 day before the deadline
(calendar days; a non-working day moves back to the previous working day), on the
day, then every working day while overdue; after 3 working days overdue the item is
escalated to the head.  Every slot is at 09:00 in the office's time zone, and only on
working days.

The service layer stores the next slot of each open stage in an indexed column; these
functions say which slot that is, given ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.schedule.policy import SchedulePolicy
from bot.schedule.workdays import WorkCalendar


class SlotKind(StrEnum):
    LEAD = "lead"
    DUE = "due"
    OVERDUE = "overdue"


@dataclass(frozen=True, slots=True)
class Slot:
    at: datetime  # UTC
    day: date  # local date of the slot
    kind: SlotKind
    days_left: int  # calendar days from the slot's day to the deadline (negative: overdue)
    overdue_working_days: int  # 0 unless overdue

    def escalates(self, policy: SchedulePolicy) -> bool:
        return self.overdue_working_days >= policy.escalate_after


def slot_instant(day: date, policy: SchedulePolicy, tz: ZoneInfo) -> datetime:
    """The reminder time of ``day`` in ``tz``, as a UTC instant."""
    return datetime.combine(day, policy.reminder_time, tzinfo=tz).astimezone(UTC)


def lead_days(deadline: date, cal: WorkCalendar, policy: SchedulePolicy) -> list[date]:
    days = {
        cal.on_or_before(deadline - timedelta(days=n)) for n in policy.reminder_lead_days if n > 0
    }
    return sorted(d for d in days if d < deadline)


def _slot(
    deadline: date,
    day: date,
    kind: SlotKind,
    cal: WorkCalendar,
    policy: SchedulePolicy,
    tz: ZoneInfo,
) -> Slot:
    overdue = cal.between(deadline, day) if kind is SlotKind.OVERDUE else 0
    return Slot(slot_instant(day, policy, tz), day, kind, (deadline - day).days, overdue)


def first_slot_on_or_after(
    deadline: date, day: date, cal: WorkCalendar, policy: SchedulePolicy, tz: ZoneInfo
) -> Slot:
    deadline = cal.on_or_before(deadline)
    for ld in lead_days(deadline, cal, policy):
        if ld >= day:
            return _slot(deadline, ld, SlotKind.LEAD, cal, policy, tz)
    if deadline >= day:
        return _slot(deadline, deadline, SlotKind.DUE, cal, policy, tz)
    d = cal.on_or_after(max(day, deadline + timedelta(days=1)))
    return _slot(deadline, d, SlotKind.OVERDUE, cal, policy, tz)


def last_slot_on_or_before(
    deadline: date, day: date, cal: WorkCalendar, policy: SchedulePolicy, tz: ZoneInfo
) -> Slot | None:
    deadline = cal.on_or_before(deadline)
    if day >= deadline:
        d = cal.on_or_before(day)
        kind = SlotKind.OVERDUE if d > deadline else SlotKind.DUE
        return _slot(deadline, d, kind, cal, policy, tz)
    earlier = [ld for ld in lead_days(deadline, cal, policy) if ld <= day]
    return _slot(deadline, earlier[-1], SlotKind.LEAD, cal, policy, tz) if earlier else None


def next_slot(
    deadline: date, after: datetime, cal: WorkCalendar, policy: SchedulePolicy, tz: ZoneInfo
) -> Slot:
    """The first slot strictly after ``after`` (there always is one: overdue never ends)."""
    local = after.astimezone(tz)
    day = local.date()
    if local.timetz().replace(tzinfo=None) >= policy.reminder_time:
        day += timedelta(days=1)
    return first_slot_on_or_after(deadline, day, cal, policy, tz)


def next_reminder_time(
    after: datetime, cal: WorkCalendar, policy: SchedulePolicy, tz: ZoneInfo
) -> datetime:
    """The first reminder time (09:00 on a working day) strictly after ``after`` (UTC)."""
    local = after.astimezone(tz)
    day = local.date()
    if local.timetz().replace(tzinfo=None) >= policy.reminder_time:
        day += timedelta(days=1)
    return slot_instant(cal.on_or_after(day), policy, tz)


def reminder_slots(
    deadline: date, cal: WorkCalendar, policy: SchedulePolicy, tz: ZoneInfo, *, until: date
) -> list[Slot]:
    """Every slot of one stage deadline up to and including ``until`` (overdue never ends)."""
    out: list[Slot] = []
    day = date.min
    while True:
        s = first_slot_on_or_after(deadline, day, cal, policy, tz)
        if s.day > until:
            return out
        out.append(s)
        day = s.day + timedelta(days=1)


def is_civil_hour(now: datetime, policy: SchedulePolicy, tz: ZoneInfo) -> bool:
    """A weekday between the offices' opening and closing time (whatever the holidays)."""
    local = now.astimezone(tz)
    t = local.timetz().replace(tzinfo=None)
    return local.weekday() < 5 and policy.work_start <= t < policy.work_end


def compose_horizon(
    now: datetime, ahead: timedelta, policy: SchedulePolicy, tz: ZoneInfo
) -> datetime | None:
    """The time the tick composes reminders as of: today's slot (09:00) when it is at most
    ``ahead`` away, so that its messages are in the outbox before it and only wait for it
    (composed as of the slot, they are the rows a tick at the slot would write); else
    ``now``; ``None`` outside civil hours (nothing is composed).

    A message composed ahead is held until the latest slot it covers (:func:`held_until`),
    so nothing leaves before its slot."""
    if not is_civil_hour(now, policy, tz):
        return None
    slot = slot_instant(now.astimezone(tz).date(), policy, tz)
    if now < slot <= now + ahead and is_civil_hour(slot, policy, tz):
        return slot
    return now


def reminder_of(now: datetime, policy: SchedulePolicy, tz: ZoneInfo) -> tuple[datetime, str]:
    """Which day's reminder a message composed at ``now`` is: the instant its stages' next
    slots are counted after, and its slot's key.  At or after the day's slot, the slot itself
    (its date).  Before it (a catch-up after downtime, in civil hours before 09:00), the
    catch-up is that day's reminder: its stages wait for a slot after today's, so nobody is
    reminded of a stage twice in a day, and its key is its own, so it never takes the key of
    the slot's message about the day's other stages."""
    local = now.astimezone(tz)
    slot = slot_instant(local.date(), policy, tz)
    if now < slot:
        return slot, f"{local.date().isoformat()}T{local:%H%M%S}"
    return now, local.date().isoformat()


def held_until(slots: list[datetime], now: datetime) -> datetime | None:
    """When a message about stages due at ``slots`` may leave: the latest of them, if that is
    after ``now`` (composed ahead of its slot); ``None``: at once."""
    latest = max(slots, default=None)
    return latest if latest is not None and latest > now else None


def is_working_time(now: datetime, cal: WorkCalendar, policy: SchedulePolicy, tz: ZoneInfo) -> bool:
    """Civil hours: a working day, between the office's opening and closing time."""
    local = now.astimezone(tz)
    t = local.timetz().replace(tzinfo=None)
    return cal.is_working_day(local.date()) and policy.work_start <= t < policy.work_end


def next_working_time(
    now: datetime, cal: WorkCalendar, policy: SchedulePolicy, tz: ZoneInfo
) -> datetime:
    """``now`` if within civil hours, else when the office next opens (UTC)."""
    if is_working_time(now, cal, policy, tz):
        return now
    local = now.astimezone(tz)
    day = local.date()
    if not (cal.is_working_day(day) and local.timetz().replace(tzinfo=None) < policy.work_start):
        day = cal.next_working_day(day)
    return datetime.combine(day, policy.work_start, tzinfo=tz).astimezone(UTC)
