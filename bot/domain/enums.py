"""The domain's closed sets of words, one definition each (stored in the database as their
values, so a value here is never renamed without a migration)."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class FrequencyKind(StrEnum):
    """How often a catalogue item falls due."""

    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    SEMIANNUAL = "semiannual"
    YEARLY = "yearly"
    AT_LEAST_YEARLY = "at_least_yearly"
    ON_CHANGE = "on_change"


YEARLY_KINDS = (FrequencyKind.YEARLY, FrequencyKind.AT_LEAST_YEARLY)


class Stage(StrEnum):
    """A step of an occurrence's chain (``confirm`` is an on-change item's quarterly check)."""

    PREPARE = "prepare"
    COLLECT = "collect"
    PUBLISH = "publish"
    CONFIRM = "confirm"


CHAIN = (Stage.PREPARE, Stage.COLLECT, Stage.PUBLISH)
FINISHED = "done"  # an occurrence's stage once its chain is over (not a Stage: nobody acts on it)


class Kind(StrEnum):
    """What an occurrence is."""

    PERIODIC = "periodic"  # a regular report: prepare → collect → publish
    CONFIRM = "confirm"  # quarterly "still current?" for an on-change item
    CHANGE = "change"  # opened by a reported change of an on-change item
    ACTIVITY = "activity"  # a measure's one-off activity


class OccStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    NOT_APPLICABLE = "not_applicable"
    BEFORE_TRACKING = "before_tracking"
    CANCELLED = "cancelled"


class OutboxPriority(IntEnum):
    """Which rows the dispatcher claims first: what a person's action caused, then the rest."""

    INTERACTIVE = 0  # a colleague's press, an accepted invite: wanted at once
    BULK = 1  # reminders, escalations, digests, reports: at the full rate, after those


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Action(StrEnum):
    """What a stage event records somebody did."""

    DONE = "done"
    APPROVE = "approve"
    PUBLISH = "publish"
    NOT_APPLICABLE = "not_applicable"
    CONFIRM_CURRENT = "confirm_current"
    CONFIRM_UPDATED = "confirm_updated"
    SEND_BACK = "send_back"
    SNOOZE = "snooze"
    REPORT_CHANGE = "report_change"
    RESCHEDULED = "rescheduled"  # the system moved its deadlines (a changed holiday, say)
    WITHDRAWN = "withdrawn"  # the system closed it: the item left the catalogue


COMPLETING = (
    Action.DONE,
    Action.APPROVE,
    Action.PUBLISH,
    Action.NOT_APPLICABLE,
    Action.CONFIRM_CURRENT,
    Action.CONFIRM_UPDATED,
    Action.SEND_BACK,
)  # the actions that end a stage (the answer to a second press names who did it)
WITH_NOTE = (Action.SEND_BACK, Action.NOT_APPLICABLE)  # the actions whose note is a reason
QUIET = (Action.SNOOZE, Action.RESCHEDULED)  # what no digest reports as somebody's progress


class LinkState(StrEnum):
    """What an evidence link's last check found (``evidence_link.state``)."""

    UNCHECKED = "unchecked"  # not checked yet
    LIVE = "live"
    DEAD = "dead"


class LinkTrigger(StrEnum):
    """Why a link was checked (``link_check.trigger``, in the office's proof sheet)."""

    PUBLISH = "publish"  # when it was published, before the publisher is thanked
    RETRY = "retry"  # the publisher pressed "check again"
    SCHEDULED = "scheduled"  # the link-check job's round


class RoleKind(StrEnum):
    POSITION = "position"
    UNIT = "unit"
    HEAD = "head"  # who receives the digests and the reports
