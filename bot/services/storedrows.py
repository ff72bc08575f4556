"""Stored occurrences as the driver returns them, compared with a plan in database values.

A re-run of materialisation (every day but the one after a change) finds almost every
row as planned: converting its dates and timestamps to Python values, and the ORM's
loading, were most of its time.  :class:`Stored` reads the rows raw through the
connection, tells the ones as planned by comparing them with the plan's values as the
driver stores them, and converts (:class:`OccRow`) only the others.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import Row, Table, select, type_coerce
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import NullType

from bot.domain import OccStatus, Stage
from bot.schedule.workdays import DayChanges
from bot.services.yearplan import YearPlan
from bot.store.models import CatalogueVersion, Occurrence

OCCURRENCE = cast(Table, Occurrence.__table__)
CHUNK = 500  # offices in one IN (…) list
CHAIN = (Stage.PREPARE.value, Stage.COLLECT.value, Stage.PUBLISH.value)


class OccRow:
    """A stored occurrence as plain values, remembering which columns were changed."""

    __slots__ = ("_values", "_was", "edition")

    def __init__(self, values: dict[str, Any], edition: str) -> None:
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "_was", {})
        object.__setattr__(self, "edition", edition)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self._was.setdefault(name, self._values[name])
        self._values[name] = value

    def changed(self) -> dict[str, Any]:
        return {k: self._values[k] for k, was in self._was.items() if self._values[k] != was}

    def role_for(self, stage: str) -> str | None:
        col = {"confirm": "prepare_role"}.get(stage, f"{stage}_role")
        return self._values.get(col) if stage in (*CHAIN, "confirm") else None

    def due_for(self, stage: str) -> Any:
        col = {"confirm": "due_date"}.get(stage, f"{stage}_due")
        return self._values.get(col) if stage in (*CHAIN, "confirm") else None


#: The columns that, as the plan says them, leave an occurrence with nothing to change.
AS_PLANNED = (
    "catalogue_id",
    "covers_key",
    "period_start",
    "period_end",
    "due_date",
    "prepare_role",
    "collect_role",
    "publish_role",
    "prepare_due",
    "collect_due",
    "publish_due",
)


class Stored:
    """Stored occurrences read as the driver returns them, compared with the plan in
    database values, and converted to Python values only where something may change.

    A re-run (every day but the one after a change) finds almost every row as planned:
    converting its dates and timestamps, not the database, was most of its time."""

    def __init__(self, dialect: Dialect) -> None:
        self.columns = [c.key for c in OCCURRENCE.c]
        impls = [c.type.dialect_impl(dialect) for c in OCCURRENCE.c]
        self._results = [t.result_processor(dialect, None) for t in impls]
        binds = {c.key: t.bind_processor(dialect) for c, t in zip(OCCURRENCE.c, impls, strict=True)}
        self._binds = [binds[k] for k in AS_PLANNED]
        self._at = {
            k: self.columns.index(k)
            for k in (*AS_PLANNED, "code", "period_key", "status", "next_remind_at")
        }
        self._planned = itemgetter(*(self._at[k] for k in AS_PLANNED))
        self.key = cast(
            Callable[[Row[Any]], tuple[str, str]],
            itemgetter(self._at["code"], self._at["period_key"]),
        )
        self._fingerprints: dict[int, dict[tuple[str, str], tuple[Any, ...]]] = {}
        self._remind_ok: dict[tuple[int, DayChanges, Any], bool] = {}

    async def read(
        self, session: AsyncSession, org_ids: Sequence[int], years: Sequence[int]
    ) -> dict[tuple[int, int], list[Row[Any]]]:
        """The stored occurrences of those offices and years, by (office, year), in one
        query per :data:`CHUNK` offices; the last value of each row is its edition."""
        raw = [type_coerce(c, NullType()).label(c.key) for c in OCCURRENCE.c]
        out: dict[tuple[int, int], list[Row[Any]]] = defaultdict(list)
        org_at, fy_at = self.columns.index("org_id"), self.columns.index("fiscal_year")
        conn = await session.connection()  # Core rows: no ORM loading in between
        for i in range(0, len(org_ids), CHUNK):
            result = await conn.execute(
                select(*raw, CatalogueVersion.edition)
                .join(CatalogueVersion, CatalogueVersion.id == OCCURRENCE.c.catalogue_id)
                .where(
                    OCCURRENCE.c.org_id.in_(org_ids[i : i + CHUNK]),
                    OCCURRENCE.c.fiscal_year.in_(years),
                )
                .order_by(OCCURRENCE.c.id)
            )
            for row in cast(Iterable[Row[Any]], result):
                out[(row[org_at], row[fy_at])].append(row)
        return out

    def occ(self, row: Row[Any]) -> OccRow:
        values = {
            k: v if proc is None or v is None else proc(v)
            for k, v, proc in zip(self.columns, row, self._results, strict=False)
        }
        return OccRow(values, row[-1])

    def status(self, row: Row[Any]) -> str:
        return str(row[self._at["status"]])

    def as_planned(self, row: Row[Any], plan: YearPlan, templates: list[dict[str, Any]]) -> bool:
        """Whether ``row`` is as the plan says, so that reconciling it would change
        nothing: the plan's values, and a reminder (if any) on a working day."""
        fingerprints = self._fingerprints.get(id(templates))
        if fingerprints is None:
            fingerprints = self._fingerprints[id(templates)] = {
                (t["code"], t["period_key"]): tuple(
                    t[k] if proc is None or t[k] is None else proc(t[k])
                    for k, proc in zip(AS_PLANNED, self._binds, strict=True)
                )
                for t in templates
            }
        if fingerprints.get(self.key(row)) != self._planned(row):
            return False
        if self.status(row) != OccStatus.OPEN.value:
            return True
        return self._reminder_on_working_day(row, plan)

    def _reminder_on_working_day(self, row: Row[Any], plan: YearPlan) -> bool:
        key = (plan.fy, plan.changes, row[self._at["next_remind_at"]])  # the calendar's
        ok = self._remind_ok.get(key)
        if ok is None:
            value = self.occ(row).next_remind_at
            ok = value is None or plan.cal.is_working_day(value.astimezone(plan.tz).date())
            self._remind_ok[key] = ok
        return ok
