"""Putting messages in the durable outbox (delivery is bot.services.dispatch)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import OutboxPriority, OutboxStatus
from bot.services.supersede import REMINDER, supersede_reminders
from bot.store.db import insert_ignoring_conflicts, mark_outbox_queued
from bot.store.models import Outbox, OutboxFile
from bot.textfit import CAPTION_LIMIT, fit

#: Kinds caused by a person's action, wanted at once: review requests, send back, approved →
#: publisher, a published link, a reported change (``notify``), an accepted invite (``notice``).
#: Everything else (reminders, escalations, digests, reports, unreachable notices) is bulk.
#: ``confirm`` is the person's own confirmation of their action (see bot.handlers.common).
INTERACTIVE_KINDS = frozenset({"notify", "notice", "confirm"})


def priority_of(kind: str) -> OutboxPriority:
    return OutboxPriority.INTERACTIVE if kind in INTERACTIVE_KINDS else OutboxPriority.BULK


@dataclass(frozen=True)
class Attachment:
    kind: str  # "photo" | "document"
    filename: str
    content: bytes
    caption: str | None = None


async def enqueue(
    session: AsyncSession,
    *,
    chat_id: int,
    kind: str,
    dedupe_key: str,
    text: str,
    now: datetime,
    org_id: int | None = None,
    person_id: int | None = None,
    reply_markup: dict[str, Any] | None = None,
    items: Sequence[int] | None = None,
    not_before: datetime | None = None,
    files: Sequence[Attachment] = (),
) -> int | None:
    """Add a message unless one with ``dedupe_key`` exists; returns the new row's id or None.

    The text (and each caption) is made to fit Telegram's limits here, on the one way into
    the outbox, so a message is never refused for its length: whoever composes a long
    one should split it first (see :func:`bot.textfit.split_lines`); what still does not
    fit ends in "…".

    The row's priority follows its ``kind`` (:func:`priority_of`).  When the transaction
    commits, the sender wakes (:func:`bot.store.db.mark_outbox_queued`).  A new reminder
    supersedes the chat's older waiting ones about the same stages
    (:func:`bot.services.supersede.supersede_reminders`)."""
    stmt = (
        insert_ignoring_conflicts(session, Outbox, ["dedupe_key"])
        .values(
            org_id=org_id,
            person_id=person_id,
            chat_id=chat_id,
            kind=kind,
            dedupe_key=dedupe_key,
            text=fit(text),
            reply_markup=reply_markup,
            items=list(items) if items else None,
            status=OutboxStatus.PENDING.value,
            priority=int(priority_of(kind)),
            attempts=0,
            next_attempt_at=max(now, not_before) if not_before else now,
            created_at=now,
        )
        .returning(Outbox.id)
    )
    new_id = await session.scalar(stmt)
    if new_id is not None:
        await mark_outbox_queued(session, priority_of(kind))
        if kind == REMINDER and items:
            await supersede_reminders(session, org_id=org_id, chat_id=chat_id, now=now)
        _add_files(session, int(new_id), files)
    return None if new_id is None else int(new_id)


def _add_files(session: AsyncSession, outbox_id: int, files: Sequence[Attachment]) -> None:
    """The message's files, in order, each caption made to fit."""
    for i, f in enumerate(files):
        session.add(
            OutboxFile(
                outbox_id=outbox_id,
                position=i,
                kind=f.kind,
                filename=f.filename,
                content=f.content,
                caption=fit(f.caption, CAPTION_LIMIT) if f.caption else f.caption,
            )
        )


async def queued(session: AsyncSession, *dedupe_keys: str) -> bool:
    """Whether a message with one of ``dedupe_keys`` is in the outbox (whatever its status)."""
    found = await session.scalar(
        select(Outbox.id).where(Outbox.dedupe_key.in_(dedupe_keys)).limit(1)
    )
    return found is not None


@dataclass(frozen=True)
class Message:
    """One outbox row to add with :func:`enqueue_many` (the same fields as :func:`enqueue`'s)."""

    chat_id: int
    kind: str
    dedupe_key: str
    text: str
    org_id: int | None = None
    person_id: int | None = None
    reply_markup: dict[str, Any] | None = None
    items: Sequence[int] | None = None
    not_before: datetime | None = None  # held until then (a reminder composed ahead of its slot)


async def enqueue_many(session: AsyncSession, messages: Sequence[Message], now: datetime) -> int:
    """Add many messages in one multi-row ``INSERT … ON CONFLICT (dedupe_key) DO NOTHING``
    (SQLAlchemy's "insertmanyvalues": one statement per 1,000 rows); returns how many were new.

    The same rules as :func:`enqueue`: texts fitted, priority by kind, the sender woken at
    commit, a chat's older waiting reminders superseded; a key already queued (or twice in
    ``messages``) is skipped, so a re-run after a crash adds nothing twice."""
    if not messages:
        return 0
    stmt = insert_ignoring_conflicts(session, Outbox, ["dedupe_key"]).returning(Outbox.id)
    pending, rows = OutboxStatus.PENDING.value, []
    for m in messages:
        rows.append(
            {
                "org_id": m.org_id,
                "person_id": m.person_id,
                "chat_id": m.chat_id,
                "kind": m.kind,
                "dedupe_key": m.dedupe_key,
                "text": fit(m.text),
                "reply_markup": m.reply_markup,
                "items": list(m.items) if m.items else None,
                "status": pending,
                "priority": int(priority_of(m.kind)),
                "attempts": 0,
                "next_attempt_at": max(now, m.not_before) if m.not_before else now,
                "created_at": now,
            }
        )
    conn = await session.connection()
    new = len((await conn.execute(stmt, rows)).all())
    if new:
        await mark_outbox_queued(session, min(priority_of(m.kind) for m in messages))
    # as enqueue does: a reminder supersedes the chat's older waiting ones about its stages
    for org_id, chat_id in dict.fromkeys(
        (m.org_id, m.chat_id) for m in messages if m.kind == REMINDER
    ):
        await supersede_reminders(session, org_id=org_id, chat_id=chat_id, now=now)
    return new
