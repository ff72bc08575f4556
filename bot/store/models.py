"""Typed SQLAlchemy 2 models.  Timestamps are stored in UTC and always come back aware.

Deadlines, reminders, confirmations and sent messages are rows here; nothing the bot
must remember lives only in memory.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bot.domain import OccStatus, OutboxPriority, OutboxStatus, Stage

# BIGINT ids, but SQLite only autoincrements an INTEGER PRIMARY KEY
BigId = BigInteger().with_variant(Integer, "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp stored as UTC on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Organisation(Base):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    tracking_since: Mapped[datetime]
    include_before_tracking: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class Unit(Base):
    __tablename__ = "unit"
    __table_args__ = (UniqueConstraint("org_id", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))


class Role(Base):
    """A role of the catalogue (a position, a unit acting as one, or the head)."""

    __tablename__ = "role"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    short: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16), default="position")


class OrgRole(Base):
    """How one office holds a role: its unit and, optionally, a group chat."""

    __tablename__ = "org_role"

    org_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True
    )
    role_key: Mapped[str] = mapped_column(ForeignKey("role.key"), primary_key=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id", ondelete="SET NULL"))
    group_chat_id: Mapped[int | None] = mapped_column(BigInteger)


class Person(Base):
    __tablename__ = "person"
    __table_args__ = (Index("ix_person_org", "org_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(8), default="th")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    inactive_reason: Mapped[str | None] = mapped_column(String(200))
    deactivated_at: Mapped[datetime | None]  # when an admin deactivated them
    # an office admin: administers this office only (deployment admins are ADMIN_TELEGRAM_IDS)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    @property
    def reachable(self) -> bool:
        return self.active and self.chat_id is not None


class RoleAssignment(Base):
    """Who holds which role, from when to when.  Reminders follow the role."""

    __tablename__ = "role_assignment"
    __table_args__ = (Index("ix_role_assignment_lookup", "org_id", "role_key", "valid_to"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    role_key: Mapped[str] = mapped_column(ForeignKey("role.key"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    valid_from: Mapped[datetime]
    valid_to: Mapped[datetime | None]

    person: Mapped[Person] = relationship(lazy="joined")


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


class Outbox(Base):
    """A message to deliver.  pending → sending → sent | failed, claimed by a conditional UPDATE."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_claim", "status", "priority", "next_attempt_at", "id"),
        Index("ix_outbox_chat_message", "chat_id", "telegram_message_id"),
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


class Invite(Base):
    __tablename__ = "invite"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role_key: Mapped[str | None] = mapped_column(ForeignKey("role.key"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    make_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))


class StartAttempts(Base):
    """Failed ``/start CODE`` attempts of one Telegram id in the current window (guessing
    invite codes is throttled per sender, across restarts and processes)."""

    __tablename__ = "start_attempts"

    telegram_user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    window_started_at: Mapped[datetime]
    failures: Mapped[int] = mapped_column(Integer, default=0)


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


class OfficeDay(Base):
    """An office's own change to the government calendar (bot.services.holidays): a day
    off added (``off``: a provincial or local day, a special day the cabinet announced,
    this year's วันพืชมงคล) or a listed day off the office works (``work``: cancelled)."""

    __tablename__ = "office_day"

    org_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # "off" | "work"
    name: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]


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


class EvidenceLink(Base):
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
    state: Mapped[str] = mapped_column(String(16), default="unchecked")  # live | dead
    reason: Mapped[str | None] = mapped_column(String(32))
    http_status: Mapped[int | None] = mapped_column(Integer)
    final_url: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[int | None] = mapped_column(BigInteger)
    body_hash: Mapped[str | None] = mapped_column(String(64))
    first_live_at: Mapped[datetime | None]
    content_changed_at: Mapped[datetime | None]
    broken_since: Mapped[datetime | None]
    recovered_at: Mapped[datetime | None]
    last_checked_at: Mapped[datetime | None]
    next_check_at: Mapped[datetime | None]
    checks: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]


class LinkCheck(Base):
    """One check of one evidence link (append-only): the record kept for the office's files."""

    __tablename__ = "link_check"
    __table_args__ = (Index("ix_link_check_link_at", "link_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("evidence_link.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    trigger: Mapped[str] = mapped_column(String(16))  # publish | retry | scheduled
    live: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(String(32))
    http_status: Mapped[int | None] = mapped_column(Integer)
    final_url: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[int | None] = mapped_column(BigInteger)
    body_hash: Mapped[str | None] = mapped_column(String(64))
    changed: Mapped[bool] = mapped_column(Boolean, default=False)
    detail: Mapped[str | None] = mapped_column(Text)
