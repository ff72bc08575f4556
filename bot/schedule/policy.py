"""The schedule policy: BRIEF.md's defaults, all of them overridable.

The global policy comes from settings (see :mod:`bot.config`); a catalogue item can
override any field for itself with its ``rule``.
"""

from __future__ import annotations

from datetime import time

from pydantic import BaseModel, ConfigDict, Field

from bot.catalogue.schema import Rule
from bot.domain import DueDate


class SchedulePolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # when each frequency falls due
    monthly_due_day: int = Field(default=10, ge=1, le=31)
    monthly_months_after: int = Field(default=1, ge=0, le=3)
    # a quarterly report (รายไตรมาส) is due on the 15th of the month after its quarter
    quarterly_due_day: int = Field(default=15, ge=1, le=31)
    quarterly_months_after: int = Field(default=1, ge=0, le=3)
    semiannual_due: tuple[DueDate, DueDate] = (
        DueDate(month=4, day=30),
        DueDate(month=10, day=31, fy_offset=1),
    )
    yearly_due: DueDate = DueDate(month=12, day=31)
    change_due_working_days: int = Field(default=3, ge=1, le=60)
    confirm_quarterly: bool = True

    # stage deadlines, in working days before the (shifted) due date
    prepare_offset: int = Field(default=5, ge=0, le=60)
    collect_offset: int = Field(default=2, ge=0, le=60)
    publish_offset: int = Field(default=0, ge=0, le=60)

    # reminder etiquette
    reminder_time: time = time(9, 0)
    reminder_lead_days: tuple[int, ...] = (7, 1)
    escalate_after: int = Field(default=3, ge=1, le=30, description="working days overdue")
    work_start: time = time(8, 30)
    work_end: time = time(16, 30)

    def with_rule(self, rule: Rule | None) -> SchedulePolicy:
        """This policy with an item's overrides applied."""
        if rule is None:
            return self
        changes = {k: v for k, v in rule.model_dump(exclude_none=True).items()}
        if not changes:
            return self
        return self.model_validate({**self.model_dump(), **changes})
