"""The person's own confirmation of a change, queued in the outbox with the change.

A press (done, approve, send back, publish, …) commits its change and the colleague's
notice; its confirmation to the presser is a ``confirm`` outbox row in that same
transaction, keyed by the update (its callback query, or its message), so that a crash
after the commit does not lose it, and a re-delivered update neither queues it again nor
acts again (:func:`already_handled`; one update is handled by one wrapped handler).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update

from bot.services.outbox import enqueue, queued
from bot.store.models import Person

LATER = "then"  # the confirmation of work that commits after the turn (``Outcome.then``)


@dataclass(frozen=True)
class Confirmation:
    text: str
    reply_markup: dict[str, Any] | None = None
    items: tuple[int, ...] = ()
    org_id: int | None = None  # the office of the record it is about (else the person's)


def update_key(update: Update) -> str | None:
    """What names this update for good, if anything: its callback query, or its message
    (a re-delivered update has the same)."""
    if update.callback_query is not None:
        return f"q:{update.callback_query.id}"
    if update.message is not None:
        return f"m:{update.message.chat_id}:{update.message.message_id}"
    return None


def confirm_key(update_key: str, n: int | str) -> str:
    return f"confirm:{update_key}:{n}"


async def queue_confirmation(
    session: AsyncSession,
    update: Update,
    person: Person,
    c: Confirmation,
    n: int | str,
    now: datetime,
) -> bool:
    """Queue ``c`` as the ``n``-th confirmation of ``update``; False if the update names
    nothing lasting (then it is said directly, as before)."""
    key, chat = update_key(update), update.effective_chat
    if key is None or chat is None:
        return False
    await enqueue(
        session,
        chat_id=chat.id,
        kind="confirm",
        dedupe_key=confirm_key(key, n),
        text=c.text,
        now=now,
        org_id=c.org_id or person.org_id,
        person_id=person.id,
        reply_markup=c.reply_markup,
        items=c.items,
    )
    return True


async def already_handled(session: AsyncSession, update: Update) -> bool:
    """Whether this update's change has already committed (its confirmation is queued): a
    re-delivered update is then not acted on again."""
    key = update_key(update)
    return key is not None and await queued(session, confirm_key(key, 0), confirm_key(key, LATER))
