"""Typed SQLAlchemy 2 models.  Timestamps are stored in UTC and always come back aware.

Deadlines, reminders, confirmations and sent messages are rows here; nothing the bot
must remember lives only in memory.

One module per topic (``base``, ``org``, ``work``, ``outbox``, ``logs``, ``links``); every
model is importable from here, and importing this package registers every table on
``Base.metadata`` (what Alembic's env and the migrations test compare against).
"""

from bot.store.models.base import NAMING, Base, BigId, UTCDateTime
from bot.store.models.links import EvidenceLink, LinkCheck
from bot.store.models.logs import DigestLog, JobRun
from bot.store.models.org import (
    Invite,
    OfficeDay,
    Organisation,
    OrgRole,
    Person,
    Role,
    RoleAssignment,
    StartAttempts,
    Unit,
)
from bot.store.models.outbox import Outbox, OutboxFile, SendSlot
from bot.store.models.work import (
    CatalogueVersion,
    Occurrence,
    OrgCatalogue,
    PendingPrompt,
    StageEvent,
)

__all__ = [
    "NAMING",
    "Base",
    "BigId",
    "CatalogueVersion",
    "DigestLog",
    "EvidenceLink",
    "Invite",
    "JobRun",
    "LinkCheck",
    "Occurrence",
    "OfficeDay",
    "OrgCatalogue",
    "OrgRole",
    "Organisation",
    "Outbox",
    "OutboxFile",
    "PendingPrompt",
    "Person",
    "Role",
    "RoleAssignment",
    "SendSlot",
    "StageEvent",
    "StartAttempts",
    "UTCDateTime",
    "Unit",
]
