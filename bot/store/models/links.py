"""Evidence links and their checks (the proof of when each went up)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.domain import LinkState
from bot.store.models.base import Base, BigId


class _Fetched:
    """What one fetch of a URL found: each check keeps it, and the link its latest."""

    reason: Mapped[str | None] = mapped_column(String(32))
    http_status: Mapped[int | None] = mapped_column(Integer)
    final_url: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[int | None] = mapped_column(BigInteger)
    body_hash: Mapped[str | None] = mapped_column(String(64))


class EvidenceLink(_Fetched, Base):
    """An evidence URL of an office and what its checks found (bot.services.links).

    The proof of when it went up: ``first_live_at`` is the first check that found it
    live; ``content_changed_at`` the last check whose body hash differed from the one
    before.  ``next_check_at`` is precomputed (weekly; daily 1 Feb–30 Apr), so the job's
    lookup is one indexed range scan.
    """

    __tablename__ = "evidence_link"
    __table_args__ = (
        UniqueConstraint("org_id", "url_hash", name="uq_evidence_link_url"),
        Index("ix_evidence_link_next_check", "next_check_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    url_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default=LinkState.UNCHECKED)
    first_live_at: Mapped[datetime | None]
    content_changed_at: Mapped[datetime | None]
    broken_since: Mapped[datetime | None]
    recovered_at: Mapped[datetime | None]
    last_checked_at: Mapped[datetime | None]
    next_check_at: Mapped[datetime | None]
    checks: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]


class LinkCheck(_Fetched, Base):
    """One check of one evidence link (append-only): the record kept for the office's files."""

    __tablename__ = "link_check"
    __table_args__ = (Index("ix_link_check_link_at", "link_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("evidence_link.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    trigger: Mapped[str] = mapped_column(String(16))  # a LinkTrigger
    live: Mapped[bool] = mapped_column(Boolean)
    changed: Mapped[bool] = mapped_column(Boolean, default=False)
    detail: Mapped[str | None] = mapped_column(Text)
