"""The work: catalogue versions an office adopted, each period of each item (its deadlines
and stage), its append-only history, and the free text the bot is waiting for."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.domain import OccStatus, Stage
from bot.store.models.base import Base, BigId
from bot.store.models.org import Person


class CatalogueVersion(Base):
    __tablename__ = "catalogue_version"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    edition: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    content: Mapped[str] = mapped_column(Text)  # the YAML text, re-validated on load
    created_at: Mapped[datetime]


class OrgCatalogue(Base):
    """The catalogue an office adopted for a fiscal year: the shared OIT list of an edition
    with the office's own measures (``python -m bot catalogue adopt``)."""

    __tablename__ = "org_catalogue"

    org_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True
    )
    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    catalogue_id: Mapped[int] = mapped_column(ForeignKey("catalogue_version.id"))
    adopted_at: Mapped[datetime]


class Occurrence(Base):
    """One period of one item (or one activity): its deadlines and where it stands.

    ``current_*`` and ``next_remind_at`` are precomputed from the stage and the
    deadlines, so the reminder tick is one indexed range scan.  ``catalogue_id`` is the
    catalogue version whose item it is: an item is its edition and its code, so history
    stays with it when another edition reuses the code.
    """

    __tablename__ = "occurrence"
    __table_args__ = (
        UniqueConstraint("org_id", "catalogue_id", "code", "period_key", name="uq_occurrence_key"),
        Index("ix_occurrence_org_fy", "org_id", "fiscal_year"),
        Index("ix_occurrence_next_remind", "next_remind_at"),
        Index("ix_occurrence_org_remind", "org_id", "next_remind_at"),
        Index("ix_occurrence_current_role", "org_id", "current_role", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    fiscal_year: Mapped[int] = mapped_column(Integer)
    catalogue_id: Mapped[int] = mapped_column(ForeignKey("catalogue_version.id"))
    code: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    period_key: Mapped[str] = mapped_column(String(32))
    # what it reports on, when not the period of its key: an annual results report due
    # in December of FY 2570 (key 2570) covers FY 2569; period_start/end are that span
    covers_key: Mapped[str | None] = mapped_column(String(32))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    nominal_due: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    prepare_role: Mapped[str | None] = mapped_column(String(64))
    collect_role: Mapped[str | None] = mapped_column(String(64))
    publish_role: Mapped[str | None] = mapped_column(String(64))
    prepare_due: Mapped[date | None] = mapped_column(Date)
    collect_due: Mapped[date | None] = mapped_column(Date)
    publish_due: Mapped[date | None] = mapped_column(Date)
    stage: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(20), default=OccStatus.OPEN)
    current_role: Mapped[str | None] = mapped_column(String(64))
    current_due: Mapped[date | None] = mapped_column(Date)
    next_remind_at: Mapped[datetime | None]
    last_reminded_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    stage_started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    evidence_url: Mapped[str | None] = mapped_column(Text)
    # the current stage's deadline before a re-plan moved it (a changed holiday, say):
    # the next reminder says so, then it is cleared
    due_moved_from: Mapped[date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    def role_for(self, stage: str) -> str | None:
        """The role that acts on ``stage`` (an on-change item's preparer confirms it)."""
        return self._stage_columns(stage)[0]

    def due_for(self, stage: str) -> date | None:
        return self._stage_columns(stage)[1]

    def _stage_columns(self, stage: str) -> tuple[str | None, date | None]:
        columns: dict[str, tuple[str | None, date | None]] = {
            Stage.PREPARE: (self.prepare_role, self.prepare_due),
            Stage.COLLECT: (self.collect_role, self.collect_due),
            Stage.PUBLISH: (self.publish_role, self.publish_due),
            Stage.CONFIRM: (self.prepare_role, self.due_date),
        }
        return columns.get(stage, (None, None))

    @property
    def is_open(self) -> bool:
        return self.status == OccStatus.OPEN

    @property
    def covered_key(self) -> str:
        """The key of the period it reports on (what every label names)."""
        return self.covers_key or self.period_key


class StageEvent(Base):
    """Append-only history: who did what to which stage, when, with any note and URL."""

    __tablename__ = "stage_event"
    __table_args__ = (
        Index("ix_stage_event_occurrence", "occurrence_id", "at"),
        Index("ix_stage_event_org_at", "org_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    occurrence_id: Mapped[int] = mapped_column(ForeignKey("occurrence.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(32))
    stage: Mapped[str | None] = mapped_column(String(16))
    from_stage: Mapped[str | None] = mapped_column(String(16))
    to_stage: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    evidence_url: Mapped[str | None] = mapped_column(Text)

    actor: Mapped[Person | None] = relationship(lazy="joined")


class PendingPrompt(Base):
    """The bot asked a person for free text (a reason, a URL); their next message answers it."""

    __tablename__ = "pending_prompt"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), primary_key=True
    )
    action: Mapped[str] = mapped_column(String(32))
    occurrence_id: Mapped[int] = mapped_column(ForeignKey("occurrence.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    # a URL that failed its publish-time check, waiting for "check again" or "keep it"
    url: Mapped[str | None] = mapped_column(Text)
