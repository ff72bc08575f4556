"""The office and its people: the organisation, units, roles, who holds them, invites,
throttled ``/start`` attempts, and the office's own days off."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.store.models.base import Base, BigId


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
