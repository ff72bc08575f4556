"""Delivery: the messages to send, the files that go with them, and the send slots every
sending process shares."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.domain import OutboxPriority, OutboxStatus
from bot.store.models.base import Base, BigId


class Outbox(Base):
    """A message to deliver.  pending → sending → sent | failed, claimed by a conditional UPDATE."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_claim", "status", "priority", "next_attempt_at", "id"),
        Index("ix_outbox_chat_message", "chat_id", "telegram_message_id"),
        # an office's reminders still waiting (bot.services.supersede), asked per office
        Index("ix_outbox_office_kind", "org_id", "kind", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    text: Mapped[str] = mapped_column(Text)
    reply_markup: Mapped[dict[str, Any] | None]
    items: Mapped[list[Any] | None]
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    priority: Mapped[int] = mapped_column(Integer, default=OutboxPriority.BULK)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]


class OutboxFile(Base):
    """A file that goes with an outbox message (a digest's chart or spreadsheet)."""

    __tablename__ = "outbox_file"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(16))  # "photo" | "document"
    filename: Mapped[str] = mapped_column(String(200))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    caption: Mapped[str | None] = mapped_column(Text)
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)


class SendSlot(Base):
    """When the next Telegram send may go, shared by every process sending on this database
    (:mod:`bot.telegram.sharedlimit`): key ``*`` for all sends, ``c:<chat id>`` per chat.
    ``next_at`` is in seconds since the epoch."""

    __tablename__ = "send_slot"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_at: Mapped[float] = mapped_column(Float, nullable=False)
