"""Typed settings, from the environment or ``.env`` (pydantic-settings).

Nothing here is instantiated at import time: :func:`bot.cli.main` builds one
``Settings`` and passes it down.  See ``config/example.env`` for every variable.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
from datetime import date, time
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.domain import DueDate
from bot.schedule.policy import SchedulePolicy

DEFAULT_SQLITE_URL = "sqlite+aiosqlite:///data/bot.db"
DEFAULT_WEBHOOK_PORT = 8080
HEALTH_PATH = "/health"
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
SUPPORTED_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
_URL_FORMS = (
    "use sqlite+aiosqlite:///data/bot.db or postgresql+asyncpg://USER:PASSWORD@HOST:5432/DBNAME"
)


def default_worker_id() -> str:
    """This process's own sender name: ``host-pid-random``."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_nested_delimiter="__",
        extra="ignore",
    )

    bot_token: SecretStr | None = Field(default=None, description="from @BotFather")
    bot_username: str | None = Field(
        default=None, description="for invite links; default: asked of Telegram"
    )
    database_url: str = DEFAULT_SQLITE_URL
    database_schema: str | None = Field(default=None, description="PostgreSQL schema (search_path)")
    telegram_api_base_url: str = "https://api.telegram.org"
    timezone: str = "Asia/Bangkok"
    admin_telegram_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)

    catalogue_file: Path | None = Field(default=None, description="default: the shipped catalogue")
    thai_digits: bool = True
    default_language: str = "th"
    schedule: SchedulePolicy = Field(default_factory=SchedulePolicy)
    holidays_file: Path | None = Field(
        default=None, description="the government calendar's table; default data/holidays.yaml"
    )
    extra_holidays: dict[date, str] = Field(default_factory=dict)

    # delivery.  The limits hold for every process sending on the database together
    # (`database`: bot.telegram.sharedlimit); `memory` paces this process alone
    rate_limiter: Literal["database", "memory"] = "database"
    rate_global_per_second: int = Field(default=25, ge=1, le=30)
    rate_private_per_second: int = Field(default=1, ge=1, le=1)
    rate_group_per_minute: int = Field(default=20, ge=1, le=20)
    tick_seconds: int = Field(default=30, ge=1, le=60)
    # the tick composes the reminders of the slots this far ahead, each held until its slot
    # (09:00): the morning's messages wait in the outbox and only their sending is left
    reminder_compose_ahead_seconds: int = Field(default=300, ge=0, le=1800)
    dispatch_batch: int = Field(default=50, ge=1, le=1000)
    outbox_lease_seconds: int = Field(default=300, ge=0)
    # a transient failure (network, timeout, 5xx) is retried until it goes through, backing
    # off 5 s, 10 s, 20 s … up to this; it never makes a message give up
    outbox_retry_max_seconds: int = Field(default=300, ge=5)
    # a sender's name in its claims.  The default is unique to the process (host, pid and a
    # random part), so two processes never take each other's claims; what a killed one left
    # in flight comes back when its lease ends.  Set a stable id per service (one each) and
    # a restart resends what it left in flight at once.
    worker_id: str = Field(default_factory=lambda: default_worker_id())
    request_timeout_seconds: float = Field(default=10.0, gt=0)
    log_level: str = Field(
        default="INFO", description="DEBUG, INFO, WARNING…; the token is redacted"
    )
    # `python -m bot health` fails when a due message has waited longer than this
    health_outbox_max_age_seconds: int = Field(default=1800, ge=60)

    # serving: long polling, unless WEBHOOK_URL is set (bot/web.py); the HTTP server answers
    # Telegram's webhook at the URL's path and GET /health
    webhook_url: str | None = Field(
        default=None, description="https://HOST/PATH Telegram posts updates to"
    )
    webhook_secret: SecretStr | None = Field(
        default=None, description="Telegram's secret token; default: a new random one each start"
    )
    listen_address: str = "127.0.0.1"
    listen_port: int | None = Field(
        default=None, ge=0, le=65535, description="default: 8080 with WEBHOOK_URL, else no server"
    )

    # incoming updates: chats are served concurrently, each chat in order; per-sender limits
    update_workers: int = Field(default=8, ge=1, le=64)
    flood_stranger_per_minute: int = Field(default=20, ge=1)
    flood_staff_per_minute: int = Field(default=60, ge=1)

    # onboarding
    invite_ttl_days: int = Field(default=7, ge=1, le=90)
    start_failures_per_hour: int = Field(
        default=5, ge=1, description="failed /start CODE attempts per Telegram id, then refused"
    )

    # reports
    digest_weekday: int = Field(default=0, ge=0, le=6, description="0 = Monday")
    digest_time: time = time(8, 30)
    oit_window: DueDate = DueDate(month=3, day=1)
    upcoming_days: int = Field(default=14, ge=1, le=90)

    # evidence link checks (bot.links): at publish time, weekly, daily 1 Feb–30 Apr
    link_check_on_publish: bool = Field(
        default=True, description="check an evidence URL before the publisher is thanked"
    )
    link_check_timeout_seconds: float = Field(default=15.0, gt=0, le=120)
    link_check_max_bytes: int = Field(default=5_000_000, ge=1024)
    link_check_per_host_per_second: float = Field(default=1.0, gt=0, le=1)
    link_check_interval_seconds: int = Field(
        default=900, ge=60, description="how often the job looks for links due a check"
    )
    link_check_hour: int = Field(default=6, ge=0, le=23, description="local hour of the checks")
    link_check_contact: str = Field(
        default="", description="a URL or address for site owners, in the User-Agent"
    )
    # tests only: connect to loopback addresses; host names' addresses instead of DNS
    link_check_allow_loopback: bool = False
    link_check_hosts: dict[str, str] = Field(default_factory=dict)

    @field_validator("admin_telegram_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            ids = [v.strip() for v in value.replace(";", ",").split(",") if v.strip()]
            for v in ids:
                if not v.lstrip("-").isdigit():
                    raise ValueError(
                        f"{v!r} is not a Telegram user id: numbers separated by commas, "
                        "e.g. 123456789,987654321"
                    )
            return [int(v) for v in ids]
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}: use an IANA name such as Asia/Bangkok"
            ) from None
        return value

    @field_validator("database_url")
    @classmethod
    def _usable_url(cls, value: str) -> str:
        """An SQLAlchemy URL with one of the two async drivers the bot runs on."""
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(f"not a database URL; {_URL_FORMS}") from None
        backend = {"postgres": "postgresql"}.get(url.get_backend_name(), url.get_backend_name())
        if url.drivername in SUPPORTED_DRIVERS.values():
            return value
        if backend in ("postgresql", "sqlite"):
            wanted = SUPPORTED_DRIVERS[backend]
            raise ValueError(
                f"the bot needs the {wanted.split('+')[1]} driver: write {wanted}://… "
                f"instead of {url.drivername}://…"
            )
        raise ValueError(f"the bot does not run on {url.drivername}; {_URL_FORMS}")

    @field_validator("webhook_url")
    @classmethod
    def _https_url(cls, value: str | None) -> str | None:
        from urllib.parse import urlsplit

        if value is None or not value.strip():
            return None
        url = urlsplit(value.strip())
        if url.scheme != "https" or not url.hostname:
            raise ValueError(
                "Telegram posts only to an HTTPS address: https://bot.example.go.th/telegram"
            )
        if url.path.rstrip("/") == HEALTH_PATH:
            raise ValueError(f"{HEALTH_PATH} is the health endpoint: choose another path")
        return value.strip()

    @field_validator("webhook_secret")
    @classmethod
    def _secret_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not SECRET_TOKEN.fullmatch(value.get_secret_value()):
            raise ValueError("1 to 256 characters, only A-Z, a-z, 0-9, _ and - (Telegram's rule)")
        return value

    @property
    def webhook_path(self) -> str:
        """The path the HTTP server receives Telegram's updates at (WEBHOOK_URL's)."""
        from urllib.parse import urlsplit

        return (urlsplit(self.webhook_url).path if self.webhook_url else "") or "/"

    @property
    def http_port(self) -> int | None:
        """The HTTP server's port: LISTEN_PORT, 8080 in webhook mode, None: no server."""
        if self.listen_port is not None:
            return self.listen_port
        return DEFAULT_WEBHOOK_PORT if self.webhook_url else None

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def bot_api_url(self) -> str:
        return self.telegram_api_base_url.rstrip("/") + "/bot"

    @property
    def bot_file_url(self) -> str:
        return self.telegram_api_base_url.rstrip("/") + "/file/bot"

    def sqlite_path(self) -> Path | None:
        """The file of an SQLite URL (to create its folder), or None."""
        prefix = "sqlite+aiosqlite:///"
        if self.database_url.startswith(prefix):
            rest = self.database_url[len(prefix) :]
            if rest and rest != ":memory:":
                return Path(rest)
        return None
