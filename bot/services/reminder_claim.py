"""The tick's conditional claim of a batch's stages: one statement, its row count checked.

Each stage read for the batch is written only if its ``next_remind_at`` and ``version``
are still those read; the row count must be all of them, else :class:`ClaimConflict`
and the caller's transaction rolls back (a press or another worker got there first).

The statement's values are prepared (:func:`prepare_claim`) *before* the claim's
transaction opens: on SQLite that transaction holds the write lock, which every press
waits for, so it holds it only for the statement itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.reminder_compose import Claim
from bot.store.sqlite_values import stored_date, stored_ts

#: the conditional claim of one stage, as the driver runs it (bench/claimfloor.py times the same)
SQLITE_CLAIM = (
    "UPDATE occurrence SET next_remind_at = ?, last_reminded_at = ?, due_moved_from = ?, "
    "escalated_at = ? WHERE id = ? AND next_remind_at = ? AND version = ?"
)

#: the same on PostgreSQL, every stage of the batch at once (asyncpg's executemany has no
#: row count): one array a column, in :data:`PG_COLUMNS`' order
PG_CLAIM = (
    "UPDATE occurrence SET next_remind_at = v.at, last_reminded_at = v.last, "
    "due_moved_from = v.moved, escalated_at = v.esc "
    "FROM unnest($1::bigint[], $2::timestamptz[], $3::int[], $4::timestamptz[], "
    "$5::timestamptz[], $6::date[], $7::timestamptz[]) AS v(id, old, version, at, last, moved, esc) "
    "WHERE occurrence.id = v.id AND occurrence.next_remind_at = v.old "
    "AND occurrence.version = v.version"
)
PG_COLUMNS = ("id", "old", "version", "at", "last", "moved", "esc")


class ClaimConflict(Exception):
    """A stage read for the batch changed before its claim: the batch is read again."""


@dataclass(frozen=True)
class PreparedClaim:
    """A batch's claim, its values already in the form the database's statement takes."""

    count: int
    sqlite_rows: list[tuple[Any, ...]] | None = None  # SQLite: the driver's executemany rows
    pg_arrays: tuple[list[Any], ...] | None = None  # PostgreSQL: one array a column


def _memo(fn: Callable[[Any], str | None]) -> Callable[[Any], str | None]:
    """``fn`` once per distinct value: a batch's stages share a handful of slot times."""
    seen: dict[Any, str | None] = {}

    def get(value: Any) -> str | None:
        if value is None:
            return None
        out = seen.get(value)
        if out is None:
            out = seen[value] = fn(value)
        return out

    return get


def prepare_claim(dialect: str, claims: Sequence[Claim]) -> PreparedClaim:
    """The values of the claim of ``claims`` for ``dialect`` (no database needed)."""
    if dialect == "postgresql":
        arrays = tuple([getattr(c, k) for c in claims] for k in PG_COLUMNS)
        return PreparedClaim(len(claims), pg_arrays=arrays)
    # SQLite compares stored text: each value exactly as its column stores it
    # (bot.store.sqlite_values), so the driver needs no compiling and no bind processing
    ts, day = _memo(stored_ts), _memo(stored_date)
    rows: list[tuple[Any, ...]] = [
        (ts(c.at), ts(c.last), day(c.moved), ts(c.esc), c.id, ts(c.old), c.version) for c in claims
    ]
    return PreparedClaim(len(claims), sqlite_rows=rows)


async def claim(session: AsyncSession, prepared: PreparedClaim) -> None:
    """Run the prepared claim in ``session``'s transaction; :class:`ClaimConflict` unless
    every stage was taken."""
    if not prepared.count:
        return
    # both are given to the driver as they are: no compiling, no bind processing
    conn = await session.connection()
    if prepared.pg_arrays is not None:
        result = await conn.exec_driver_sql(PG_CLAIM, prepared.pg_arrays)
    else:  # SQLite's executemany sums the row counts
        result = await conn.exec_driver_sql(SQLITE_CLAIM, prepared.sqlite_rows or [])
    taken = int(result.rowcount)
    if taken != prepared.count:
        raise ClaimConflict(f"{prepared.count - taken} of {prepared.count} stages changed")
