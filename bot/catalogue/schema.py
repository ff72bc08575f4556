"""The catalogue's shape, validated with pydantic.  Pure data: no file access here.

A catalogue is one ITA edition's list of OIT items (``O1``..``O43`` in the 2564–2565
numbering) and the office's measures, with every date kept relative to the fiscal
year (month and day), so one catalogue can be applied to any fiscal year.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.domain import YEARLY_KINDS, DueDate, FrequencyKind, RoleKind, Stage

ROLE_KEY = r"^[a-z][a-z0-9_]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MonthRef(_Strict):
    """A month relative to a fiscal year (the measures' กำหนดเสร็จ)."""

    month: int = Field(ge=1, le=12)
    fy_offset: int = Field(default=0, ge=0, le=1)


class Role(_Strict):
    key: str = Field(pattern=ROLE_KEY)
    name: str = Field(min_length=1, description="Thai display name")
    short: str | None = Field(default=None, description="abbreviation used in the source document")
    kind: RoleKind = RoleKind.POSITION
    aliases: tuple[str, ...] = ()

    def names(self) -> tuple[str, ...]:
        return (self.key, self.name, *((self.short,) if self.short else ()), *self.aliases)


class Frequency(_Strict):
    kind: FrequencyKind
    phrase: str = Field(default="", description="the source's Thai wording")


class Rule(_Strict):
    """Per-item overrides of the schedule policy; anything left out uses the global setting."""

    monthly_due_day: int | None = Field(default=None, ge=1, le=31)
    monthly_months_after: int | None = Field(default=None, ge=0, le=3)
    quarterly_due_day: int | None = Field(default=None, ge=1, le=31)
    quarterly_months_after: int | None = Field(default=None, ge=0, le=3)
    semiannual_due: tuple[DueDate, DueDate] | None = None
    yearly_due: DueDate | None = None
    change_due_working_days: int | None = Field(default=None, ge=1, le=60)
    confirm_quarterly: bool | None = None
    prepare_offset: int | None = Field(default=None, ge=0, le=60)
    collect_offset: int | None = Field(default=None, ge=0, le=60)
    publish_offset: int | None = Field(default=None, ge=0, le=60)


ReportsOn = Literal["current_fy", "previous_fy"]


def default_reports_on(title: str, kind: FrequencyKind) -> ReportsOn:
    """An annual *results* report (รายงานผล…ประจำปี) due after its year reports on the
    fiscal year just ended; a plan (แผน…ประจำปี) and everything else on the current one."""
    squashed = _norm(title)
    if kind in YEARLY_KINDS and squashed.startswith("รายงานผล") and "ประจำปี" in squashed:
        return "previous_fy"
    return "current_fy"


class Item(_Strict):
    code: str = Field(pattern=r"^O[1-9][0-9]*$")
    title: str = Field(min_length=1)
    prepare: str
    collect: str
    publish: str
    frequency: Frequency
    rule: Rule | None = None
    # other roles the source names for a stage ("นักวิเคราะห์/นิติกร", a fourth role column);
    # the stage's own role above is the one reminded and accountable
    co_roles: dict[Stage, tuple[str, ...]] = Field(default_factory=dict)
    reports_on: ReportsOn = Field(
        default="current_fy",
        description="the fiscal year a yearly item's occurrence reports on: previous_fy for "
        "an annual results report due after the year it covers (its deadline is unchanged)",
    )

    @model_validator(mode="after")
    def _reports_on_a_year(self) -> Item:
        if self.reports_on == "previous_fy" and self.frequency.kind not in YEARLY_KINDS:
            raise ValueError("reports_on: previous_fy is for yearly items only")
        return self

    @property
    def number(self) -> int:
        return int(self.code[1:])

    @model_validator(mode="after")
    def _co_roles_of_chain_stages(self) -> Item:
        for stage, more in self.co_roles.items():
            if stage is Stage.CONFIRM:
                raise ValueError(f"{self.code}: co_roles are for prepare, collect or publish")
            if self.stage_roles()[stage] in more:
                raise ValueError(f"{self.code}: {stage.value} names its own role twice")
        return self

    def stage_roles(self) -> dict[Stage, str]:
        return {
            Stage.PREPARE: self.prepare,
            Stage.COLLECT: self.collect,
            Stage.PUBLISH: self.publish,
        }


class Activity(_Strict):
    code: str = Field(pattern=r"^M[1-9][0-9]*\.[1-9][0-9]*$")
    title: str = Field(min_length=1)
    steps: tuple[str, ...] = ()
    responsible: str
    due: MonthRef  # the month it is due in (its last day, unless ``within_days`` says otherwise)
    report_quarter: int = Field(ge=1, le=4)
    rule: Rule | None = None
    starts: MonthRef | None = Field(
        default=None, description="a span's first month (ต.ค.๖๔ – ก.ย.๖๕)"
    )
    within_days: int | None = Field(
        default=None, ge=1, le=365, description="ภายใน ๓๐ วัน: due that many days after 1 October"
    )
    due_phrase: str | None = Field(default=None, description="the source's wording, if not a month")


class Measure(_Strict):
    code: str = Field(pattern=r"^M[1-9][0-9]*$")
    title: str = Field(min_length=1)
    activities: tuple[Activity, ...] = ()

    @model_validator(mode="after")
    def _activities_belong(self) -> Measure:
        for a in self.activities:
            if not a.code.startswith(self.code + "."):
                raise ValueError(f"activity {a.code} does not belong to measure {self.code}")
        return self


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text)


class Catalogue(_Strict):
    edition: str = Field(min_length=1, description="the ITA edition whose numbering this follows")
    fiscal_year: int = Field(ge=2500, le=2700, description="BE fiscal year of the source document")
    source: str | None = None
    organisation: str | None = None
    roles: tuple[Role, ...]
    items: tuple[Item, ...]
    measures: tuple[Measure, ...] = ()

    @field_validator("roles")
    @classmethod
    def _unique_roles(cls, roles: tuple[Role, ...]) -> tuple[Role, ...]:
        seen: dict[str, str] = {}
        for r in roles:
            for n in r.names():
                k = _norm(n)
                if k in seen and seen[k] != r.key:
                    raise ValueError(f"role name {n!r} is used by both {seen[k]} and {r.key}")
                seen[k] = r.key
        return roles

    @model_validator(mode="after")
    def _references(self) -> Catalogue:
        keys = {r.key for r in self.roles}
        codes: set[str] = set()
        for it in self.items:
            if it.code in codes:
                raise ValueError(f"duplicate item number {it.code}")
            codes.add(it.code)
            for stage, role in it.stage_roles().items():
                if role not in keys:
                    raise ValueError(f"{it.code}: unknown role {role!r} for {stage.value}")
            for stage, more in it.co_roles.items():
                for role in more:
                    if role not in keys:
                        raise ValueError(f"{it.code}: unknown role {role!r} for {stage.value}")
        for m in self.measures:
            if m.code in codes:
                raise ValueError(f"duplicate measure {m.code}")
            codes.add(m.code)
            for a in m.activities:
                if a.code in codes:
                    raise ValueError(f"duplicate activity {a.code}")
                codes.add(a.code)
                if a.responsible not in keys:
                    raise ValueError(f"{a.code}: unknown role {a.responsible!r}")
        if not any(r.kind == RoleKind.HEAD for r in self.roles):
            raise ValueError("the catalogue needs one role of kind 'head' (who receives digests)")
        return self

    # -- lookups -----------------------------------------------------------------------
    def role(self, key: str) -> Role:
        for r in self.roles:
            if r.key == key:
                return r
        raise KeyError(key)

    def find_role(self, name: str) -> Role | None:
        """A role by key, Thai name, abbreviation or alias (whitespace ignored)."""
        k = _norm(name)
        for r in self.roles:
            if any(_norm(n) == k for n in r.names()):
                return r
        return None

    @property
    def head_role(self) -> Role:
        return next(r for r in self.roles if r.kind == RoleKind.HEAD)

    def item(self, code: str) -> Item | None:
        code = code.strip().upper()
        return next((i for i in self.items if i.code == code), None)

    @property
    def activities(self) -> tuple[Activity, ...]:
        return tuple(a for m in self.measures for a in m.activities)

    def activity(self, code: str) -> Activity | None:
        code = code.strip().upper()
        return next((a for a in self.activities if a.code == code), None)

    def measure_of(self, activity_code: str) -> Measure | None:
        return next(
            (m for m in self.measures if any(a.code == activity_code for a in m.activities)), None
        )

    def title_of(self, code: str) -> str:
        if (it := self.item(code)) is not None:
            return it.title
        if (a := self.activity(code)) is not None:
            return a.title
        return code
