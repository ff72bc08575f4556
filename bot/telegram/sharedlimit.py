"""One rate limit for every process that sends on one database (``RATE_LIMITER=database``).

`run` and N × `dispatch` each have their own :class:`~bot.telegram.sendlimiter.SendLimiter`,
which only knows its own sends.  :class:`SharedSlots` keeps the slots in the ``send_slot``
table instead (GCRA: each key holds the time its next send may go):

* key ``*``: all sends, ``1 / RATE_GLOBAL_PER_SECOND`` apart (40 ms at 25/s);
* key ``c:<chat id>``: one private chat's sends 1.15 s apart, one group's ``61.15 / 20`` s
  apart (so never more than 20 in a minute).

A reservation is one short transaction: it updates the ``*`` row first, so reservations of
all processes are serialised on that row (it is their lock: chat rows are only written
under it), computes each send's time as the later of the next global slot and its chat's
next slot, and moves both on.  :meth:`SharedSlots.prepare` reserves the slots of a whole
claimed batch inside the dispatcher's claim transaction, so a message costs no transaction
of its own; any other send (a handler's answer) reserves its own in :meth:`acquire`.

A send never goes before its slot, and goes at most 0.1 s after it (one global gap, if
longer): a slot later than that is given up, and the rest of its batch is reserved again at
once (its unused slots taken back when nobody reserved after them).  So on average at most
25 a second leave, in any one second at most 28 (Telegram allows 30), and a chat's sends
stay over 1.1 s apart.  Each send takes its slot from its own reservation, so sends that
reserve at the same time (a late one, a handler's answer) never take each other's.
To stay punctual, a batch's first slot lies past the claim's commit (a moving average of
how long that takes), and a process slower than 40 ms a send spaces its batch's slots at
its own pace (at most 80 ms) rather than falling behind them.  A chat of the batch whose
own slot is over 0.1 s away (a person who had a message a moment ago) is left out of it,
and the dispatcher puts its row back until then: one chat's second never holds the batch.
Times are the injected clock's wall time (seconds since the epoch): processes on several
hosts need their clocks in step (NTP), since a skew eats the chat margin.  A 429
moves the ``*`` row past its ``retry_after``, so every process waits it out; rows another
process had already reserved (at most a batch) may still go.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.store.db import Database
from bot.store.models import SendSlot
from bot.telegram.sendlimiter import CHAT_MARGIN_SECONDS, ChatId

__all__ = ["SharedSlots"]

_log = logging.getLogger(__name__)

GLOBAL_KEY = "*"
#: Chat rows whose slot passed this long ago are deleted, at most every PRUNE_EVERY seconds.
PRUNE_AFTER_SECONDS = 3600.0
PRUNE_EVERY_SECONDS = 600.0
MAX_LEAD_SECONDS = 0.2
#: A slot is still used this late (or one gap, if longer): in any second, at most 1.1 × the
#: cap then goes (28 at the default 25 a second; Telegram allows 30).  Any less, and the
#: event loop's own jitter gives up slots, each given up costing a transaction.
MIN_LATE_SECONDS = 0.1
#: Below Telegram's cap this changes nothing (its two gaps, 80 ms at 25/s, are as long).
MAX_PACE_SECONDS = 0.08
#: A batch's slots spread this much wider after a send missed its slot, and drawn this much
#: closer after a batch that missed none.
PACE_WIDER = 1.5
PACE_NARROWER = 0.8
#: A chat not free within this of the batch's next slot is left out of the batch.
DEFER_AFTER_SECONDS = 0.1


@dataclass(frozen=True, slots=True)
class _Slot:
    at: float  # this process's monotonic time the send may go
    chat_next: float  # what the reservation wrote as the chat's next slot (0: no chat)
    chat_id: ChatId


def chat_key(chat_id: ChatId) -> str | None:
    if chat_id is None:
        return None
    text = str(chat_id).strip()
    return f"c:{text.lower()}"[:64]


def is_private(chat_id: ChatId) -> bool:
    try:
        return int(str(chat_id)) > 0
    except ValueError:  # "@channelusername"
        return False


class SharedSlots:
    """Send slots in the database, for every process sending on it."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        global_per_second: int = 25,
        private_per_second: int = 1,
        group_per_minute: int = 20,
        chat_margin: float = CHAT_MARGIN_SECONDS,
    ) -> None:
        self._db = db
        self._clock = clock
        self._global_gap = 1.0 / global_per_second
        #: a reserved slot not used by then is given up (a new one is reserved): one gap,
        #: and never less than MIN_LATE_SECONDS
        self.max_late = max(self._global_gap, MIN_LATE_SECONDS)
        #: a batch's slots are spaced at the process's own pace up to this (2 gaps, at least
        #: MAX_PACE_SECONDS: a process slower than a high cap's gap keeps its slots; see
        #: :meth:`_next_pace`)
        self._max_spacing = max(2 * self._global_gap, MAX_PACE_SECONDS)
        self._private_gap = (1.0 + chat_margin) / private_per_second
        self._group_gap = (60.0 + chat_margin) / group_per_minute
        #: chat key ("" for none) -> a slot reserved for it
        self._prepared: dict[str, _Slot] = {}
        #: chat key -> set when a late send's reservation, which reserves this chat's slot
        #: again with the rest of its batch, has ended (see :meth:`_again`)
        self._coming: dict[str, asyncio.Event] = {}
        #: from a reservation's lock to its first send (a moving average): its first slot is
        #: that far ahead, so it is not already past when the transaction has committed
        self._lead = 0.0
        self._base = 0.0  # the monotonic time of the last reservation's lock
        self._fresh = False  # no send since the last reservation
        #: how far apart a batch's slots are (:meth:`_next_pace`: at least the cap's gap, at
        #: most ``_max_spacing``), so that a process slower than the cap (its own work
        #: between sends, however many it has in flight) does not fall behind its own slots
        #: and give them up, each given up costing a transaction
        self._pace = self._global_gap
        self._late = False  # a send of this batch came after its slot had been given up
        self._last_sent = -math.inf
        #: sends of this process waiting for their slot (one holding a slot ahead of its
        #: own last send forbids taking the process's unused slots back)
        self._waiting = 0
        self._global_written: float | None = None  # the ``*`` slot this process wrote last
        self._pruned = -math.inf
        self.reservations = 0

    async def prepare(
        self,
        chat_ids: Sequence[ChatId],
        session: AsyncSession | None = None,
        keep: Collection[ChatId] = (),
    ) -> dict[ChatId, float]:
        """Reserve one send to each of ``chat_ids`` (distinct), in that order, in one
        transaction (``session``'s: the dispatcher's claim), so that the sends'
        :meth:`acquire` need none.  A chat whose own next slot lies more than
        :data:`DEFER_AFTER_SECONDS` past the batch's is not reserved (it would hold the rest
        of the batch back): returned, with the seconds until it is free.

        The slots reserved before and not used yet are given up (their rows were given
        back), except those of ``keep``: the chats of the sends still in flight, which the
        dispatcher started before it claimed this batch; this batch's slots follow theirs."""
        spacing = self._next_pace()
        # the last batch's unused slots (its rows given back) are taken back, not left to
        # hold their chats for a second
        kept_keys = {chat_key(c) or "" for c in keep}
        kept = {k: v for k, v in self._prepared.items() if k in kept_keys}
        given_up = {k: v.chat_next for k, v in self._prepared.items() if k and k not in kept}
        self._prepared = kept
        again = not self._waiting and not kept
        deferred: dict[ChatId, float] = {}
        if session is not None:
            got = await self._reserve(session, chat_ids, spacing, given_up, again, deferred)
        else:
            async with self._db.transaction() as s:
                got = await self._reserve(s, chat_ids, spacing, given_up, again, deferred)
        if kept:  # the next send is one of theirs, not this batch's first: it tells
            self._fresh = False  # nothing of how far ahead a first slot must be
        self._prepared.update(got)
        return deferred

    @property
    def spacing(self) -> float:
        """Seconds between the slots this process reserved last."""
        return self._pace

    def _next_pace(self) -> float:
        """The spacing of the next batch's slots: back towards the cap's own gap a little
        after every batch whose sends all kept up with their slots (:meth:`_again` widens
        it at once when one did not: the process is slower than its slots)."""
        if not self._late:
            self._pace = max(self._pace * PACE_NARROWER, self._global_gap)
        self._late = False
        return self._pace

    async def acquire(self, chat_id: ChatId) -> None:
        """Wait for this send's slot (reserved now unless :meth:`prepare` did)."""
        self._waiting += 1
        try:
            await self._acquire(chat_id)
        finally:
            self._waiting -= 1

    async def _acquire(self, chat_id: ChatId) -> None:
        key = chat_key(chat_id) or ""
        slot = self._prepared.pop(key, None)
        if slot is None and (coming := self._coming.get(key)) is not None:
            # a late send of this batch is reserving this chat's slot again: that one, not
            # a reservation of its own (the chat's row still holds the slot given up, so its
            # own would come a chat's gap later: 1.15 s)
            await coming.wait()
            slot = self._prepared.pop(key, None)
        for _ in range(3):
            if self._fresh:
                self._fresh = False
                observed = self._clock.monotonic() - self._base
                self._lead = min(MAX_LEAD_SECONDS, 0.8 * self._lead + 0.2 * observed)
            if slot is None or self._clock.monotonic() > slot.at + self.max_late:
                slot = await self._again(key, chat_id, slot)
                continue
            wait = slot.at - self._clock.monotonic()
            if wait > 0:
                await self._clock.sleep(wait)
            now = self._clock.monotonic()
            if now <= slot.at + self.max_late:
                break
        # (a process this slow three times running: its send is late, never early)
        self._last_sent = self._clock.monotonic()

    async def _again(self, key: str, chat_id: ChatId, late: _Slot | None) -> _Slot:
        """A new slot for this send; when its reserved one is late, for the rest of its batch
        too (they are later still), in the same transaction."""
        given_up = {key: late.chat_next} if late is not None else {}
        chats: list[ChatId] = [chat_id]
        ready = asyncio.Event()
        rest: dict[str, _Slot] = {}
        if late is not None:
            self._late = True
            self._pace = min(self._pace * PACE_WIDER, self._max_spacing)
            rest, self._prepared = self._prepared, {}
            given_up.update((k, v.chat_next) for k, v in rest.items())
            chats += [v.chat_id for v in rest.values()]
            self._coming.update(dict.fromkeys(rest, ready))
        try:
            async with self._db.transaction() as s:
                got = await self._reserve(
                    s, chats, self._pace, given_up=given_up, again=self._waiting <= 1
                )
            # this send's own slot, from its own reservation: while the commit was awaited,
            # another send (a handler's answer, a window's other late send) may have
            # reserved too, and each keeps what the other reserved
            mine = got.pop(key)
            self._prepared.update(got)
        finally:
            for k in rest:
                if self._coming.get(k) is ready:
                    del self._coming[k]
            ready.set()
        return mine

    async def pause(self, seconds: float) -> None:
        """A 429: no process reserves a slot before ``seconds`` from now."""
        self._prepared.clear()
        if not math.isfinite(seconds) or seconds <= 0:
            return
        until = self._clock.now().timestamp() + seconds
        async with self._db.transaction() as s:
            await s.execute(
                update(SendSlot)
                .where(SendSlot.key == GLOBAL_KEY, SendSlot.next_at < until)
                .values(next_at=until)
            )

    def _gap(self, chat_id: ChatId) -> float:
        return self._private_gap if is_private(chat_id) else self._group_gap

    async def _reserve(
        self,
        s: AsyncSession,
        chat_ids: Sequence[ChatId],
        spacing: float | None = None,
        given_up: dict[str, float] | None = None,
        again: bool = False,
        deferred: dict[ChatId, float] | None = None,
    ) -> dict[str, _Slot]:
        """One transaction: a slot for each of ``chat_ids``, in order.  ``given_up``: chats
        whose slot this process reserved and gave up unused, with the next time it wrote for
        them; still there, it binds nobody (the chat's real last send was before it).  With
        ``deferred``, a chat not free soon is left out and put there (see :meth:`prepare`)."""
        keys = {chat_key(c): c for c in chat_ids}
        cursor = await self._lock_global(s)
        now, mono = self._clock.now().timestamp(), self._clock.monotonic()
        if again and cursor == self._global_written:
            # nobody has reserved since this process's batch, whose unused slots it gives
            # up: they are free again, after its own last send
            cursor = now - (mono - self._last_sent) + self._global_gap
        chats = await self._chat_slots(s, [k for k in keys if k is not None])
        for stale, mine in (given_up or {}).items():
            if chats.get(stale) == mine:
                chats[stale] = 0.0
        # the first slot after this transaction ends, not while it is still running
        cursor = max(cursor, now + self._lead)
        at: dict[str, _Slot] = {}
        moved: dict[str, float] = {}
        for key, chat_id in keys.items():
            when = max(cursor, chats.get(key, 0.0)) if key is not None else cursor
            if deferred is not None and when - cursor > DEFER_AFTER_SECONDS:
                deferred[chat_id] = when - now
                continue
            if key is not None:
                moved[key] = when + self._gap(chat_id)
            at[key or ""] = _Slot(mono + (when - now), moved.get(key or "", 0.0), chat_id)
            cursor = when + (spacing or self._global_gap)
        if at:  # nothing reserved (every chat deferred): nothing written, so the ``*`` row
            # still proves, by being what this process wrote last, that nobody reserved since
            moved[GLOBAL_KEY] = self._global_written = cursor
            await self._upsert(s, moved.items())
        if now - self._pruned > PRUNE_EVERY_SECONDS:
            self._pruned = now
            await s.execute(
                delete(SendSlot).where(
                    SendSlot.key != GLOBAL_KEY, SendSlot.next_at < now - PRUNE_AFTER_SECONDS
                )
            )
        self._base, self._fresh = mono, True
        self.reservations += 1
        return at

    @staticmethod
    async def _chat_slots(s: AsyncSession, keys: list[str]) -> dict[str, float]:
        if not keys:
            return {}
        found = await s.execute(
            select(SendSlot.key, SendSlot.next_at).where(SendSlot.key.in_(keys))
        )
        return {str(k): float(t) for k, t in found.all()}

    @staticmethod
    async def _lock_global(s: AsyncSession) -> float:
        """The ``*`` row's slot, its row locked (PostgreSQL) or the database's write lock
        taken (SQLite) until the transaction ends."""
        for _ in range(2):
            got = await s.scalar(
                update(SendSlot)
                .where(SendSlot.key == GLOBAL_KEY)
                .values(next_at=SendSlot.next_at)
                .returning(SendSlot.next_at)
                .execution_options(synchronize_session=False)
            )
            if got is not None:
                return float(got)
            await SharedSlots._upsert(s, [(GLOBAL_KEY, 0.0)], keep=True)
        raise RuntimeError("send_slot: the global row cannot be made")

    @staticmethod
    async def _upsert(
        s: AsyncSession, rows: Iterable[tuple[str, float]], *, keep: bool = False
    ) -> None:
        ins = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
        stmt = ins(SendSlot).values([{"key": k, "next_at": t} for k, t in rows])
        if keep:
            await s.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))
        else:
            await s.execute(
                stmt.on_conflict_do_update(
                    index_elements=["key"], set_={"next_at": stmt.excluded.next_at}
                )
            )
