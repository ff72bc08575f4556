"""What ran: each digest or report sent, and each periodic job's last run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models.base import Base, BigId


class DigestLog(Base):
    """Each digest or report sent, so it goes out once per period even across restarts."""

    __tablename__ = "digest_log"
    __table_args__ = (UniqueConstraint("org_id", "kind", "period_key", name="uq_digest_once"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    period_key: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    summary: Mapped[dict[str, Any] | None]


class JobRun(Base):
    """Each periodic job's last run, written by the job itself (``bot.services.jobruns``),
    read by ``python -m bot health``.  One row per job the running bot has registered; the
    next time it is due is precomputed, so "late" is one comparison."""

    __tablename__ = "job_run"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    worker_id: Mapped[str | None] = mapped_column(String(100))
    every_seconds: Mapped[int | None] = mapped_column(Integer)
    next_due_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    ok: Mapped[bool | None] = mapped_column(Boolean)  # None: never finished
    error: Mapped[str | None] = mapped_column(Text)
    last_ok_at: Mapped[datetime | None]
    runs: Mapped[int] = mapped_column(Integer, default=0)
