"""What the command line says when something is wrong: one line that names the setting,
file or argument and says what to do, and a non-zero exit code — never a traceback.

* :func:`load_settings` builds :class:`~bot.config.Settings` or says which setting is wrong;
* :func:`open_database` opens the configured database for a command: reachable, and at
  the schema this version needs (it never creates an empty SQLite file by accident);
* :func:`explain` turns an exception that reached ``main`` into its line; it returns None
  for anything else (a bug keeps its traceback).
"""

from __future__ import annotations

import argparse
import errno
import re
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError
from pydantic_settings import SettingsError

from bot.config import Settings

if TYPE_CHECKING:
    from bot.store.db import Database

PROG = "python -m bot"
SETTINGS_HINT = "fix it in .env or the environment (config/example.env lists every setting)"
SECRET_SETTINGS = frozenset({"BOT_TOKEN", "DATABASE_URL", "WEBHOOK_SECRET"})


class CliError(Exception):
    """A mistake the user can fix, already worded: ``str()`` is the line to print."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def user_errors() -> tuple[type[Exception], ...]:
    """The services' own errors, whose text is already a line for the user."""
    from bot.catalogue.loader import CatalogueError
    from bot.holiday_table import HolidayTableError
    from bot.services.org import OrgError
    from bot.services.people import RosterError
    from bot.web import ServeError

    return (CliError, CatalogueError, HolidayTableError, OrgError, RosterError, ServeError)


# -- settings ---------------------------------------------------------------------------------


def load_settings() -> Settings:
    """``Settings()`` from the environment and ``.env``, or a :class:`CliError` naming the
    setting that is wrong."""
    try:
        return Settings()
    except ValidationError as exc:
        raise CliError(settings_problem(exc), code=2) from None
    except SettingsError as exc:  # a JSON setting that is not JSON
        m = re.search(r'field "([a-z0-9_]+)"', str(exc))
        name = m.group(1).upper() if m else "a setting"
        cause = _first_line(exc.__cause__) if exc.__cause__ else "cannot be read"
        raise CliError(f"setting {name}: not valid JSON ({cause}) — {SETTINGS_HINT}", 2) from None
    except OSError as exc:
        raise CliError(f"cannot read {exc.filename or '.env'}: {exc.strerror}", code=2) from None


def env_name(loc: tuple[Any, ...]) -> str:
    """The variable of a validation error's location: ``SCHEDULE__MONTHLY_DUE_DAY``."""
    names: list[str] = []
    model: type[BaseModel] | None = Settings
    for part in loc:
        if model is None or not isinstance(part, str) or part not in model.model_fields:
            break
        names.append(part.upper())
        annotation = model.model_fields[part].annotation
        model = (
            annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
            else None
        )
    return "__".join(names) or "a setting"


_PLAIN = {
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "int_parsing": "expected a whole number",
    "int_type": "expected a whole number",
    "float_parsing": "expected a number",
    "time_parsing": "expected a time such as 09:00",
    "json_invalid": "not valid JSON",
}


def settings_problem(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        name = env_name(tuple(err["loc"]))
        message = _PLAIN.get(err["type"]) or str(err["msg"]).removeprefix("Value error, ")
        shown = ""
        if err["type"] != "value_error" and name not in SECRET_SETTINGS:
            value = err.get("input")
            if isinstance(value, str | int | float) and len(str(value)) <= 60:
                shown = f"={value!r}"
        parts.append(f"{name}{shown}: {message}")
    return f"setting {'; '.join(parts)} — {SETTINGS_HINT}"


# -- the database -----------------------------------------------------------------------------


def safe_url(url: str) -> str:
    """The URL with its password masked."""
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


async def open_database(settings: Settings, *, create: bool = False) -> Database:
    """The configured database, checked: it answers, and (unless ``create``: ``db upgrade``
    and ``org init``, which migrate it) its schema is the one this version needs.

    A missing SQLite file is not created for a command that only reads or changes data."""
    from bot.store.db import Database
    from bot.store.migrate import current_revision, head_revision, known_revisions

    path = settings.sqlite_path()
    if path is not None and not create and not path.exists():
        raise CliError(
            f"DATABASE_URL: there is no database at {path} yet — create it with "
            f"`{PROG} org init --name NAME` (or point DATABASE_URL at yours)"
        )
    try:
        db = Database(settings.database_url, schema=settings.database_schema)
    except OSError as exc:  # the SQLite file's folder cannot be made
        raise CliError(
            f"DATABASE_URL: cannot make the folder {exc.filename} for the SQLite file {path}: "
            f"{exc.strerror} — choose a place this user may write to"
        ) from None
    try:
        current = await current_revision(db)
    except Exception as exc:
        await db.dispose()
        line = database_problem(exc, settings)
        if line is None:
            raise
        raise CliError(line) from None
    head = head_revision()
    if create or current == head:
        return db
    await db.dispose()
    where = safe_url(settings.database_url)
    if current is None:
        raise CliError(
            f"the database {where} has no tables yet — run `{PROG} db upgrade` "
            f"(or `{PROG} org init --name NAME`, which also creates the office)"
        )
    if current not in known_revisions():
        raise CliError(newer_schema(where, current))
    raise CliError(
        f"the database {where} is at schema revision {current}, this version needs {head} — "
        f"run `{PROG} db upgrade` (back it up first: see README, Operations)"
    )


async def open_migrated(settings: Settings) -> Database:
    """The configured database, created if missing and migrated to this version's schema —
    as ``run`` does on start; refused, in one line, when a newer version migrated it."""
    from bot.store.migrate import current_revision, known_revisions, upgrade

    db = await open_database(settings, create=True)
    try:
        current = await current_revision(db)
        if current is not None and current not in known_revisions():
            raise CliError(newer_schema(safe_url(settings.database_url), current))
        await upgrade(db)
    except BaseException:
        await db.dispose()
        raise
    return db


def newer_schema(where: str, revision: str) -> str:
    return (
        f"the database {where} is at schema revision {revision}, which this version of the bot "
        "does not know: a newer version migrated it — run that version (or restore a backup)"
    )


def database_problem(exc: BaseException, settings: Settings | None) -> str | None:
    """One line for a database that cannot be reached or refuses us; None if ``exc`` is
    not about reaching the database."""
    from sqlalchemy.exc import DBAPIError

    url = settings.database_url if settings else ""
    where = f"DATABASE_URL {safe_url(url)}" if url else "the database"
    host = _host_port(url)
    if isinstance(exc, socket.gaierror):
        return f"{where}: unknown host {host} — check the host name in DATABASE_URL"
    if isinstance(exc, TimeoutError):
        return f"{where}: no answer from {host} — is the database server running and reachable?"
    if isinstance(exc, OSError) and not exc.filename:
        return (
            f"{where}: cannot connect to {host} ({_first_line(exc)}) — is PostgreSQL running "
            "there? Check the host and port in DATABASE_URL"
        )
    if not isinstance(exc, DBAPIError):
        return None
    reason = _first_line(exc.orig) if exc.orig is not None else _first_line(exc)
    low = reason.lower()
    if "does not exist" in low and "database" in low:
        name = url.rsplit("/", 1)[-1].split("?")[0]
        return f"{where}: {reason} — create it (createdb {name}) or correct DATABASE_URL"
    if "password" in low or "authentication" in low or ("role" in low and "exist" in low):
        return f"{where}: {reason} — check the user and password in DATABASE_URL"
    if "unable to open database file" in low:
        path = settings.sqlite_path() if settings else None
        return (
            f"{where}: cannot open the SQLite file {path} — does its folder exist, and may "
            "this user write there?"
        )
    if "no such table" in low or ("relation" in low and "does not exist" in low):
        return f"{where}: {reason} — the database is not migrated: run `{PROG} db upgrade`"
    if "locked" in low:
        return f"{where}: {reason} — another process holds it; try again in a moment"
    return f"{where}: {reason}"


def _host_port(url: str) -> str:
    m = re.search(r"@([^/?]+)", url) or re.search(r"://([^/?@]+)", url)
    return m.group(1) if m else "the server"


# -- files and everything else ----------------------------------------------------------------

_FILE_HINTS = {
    errno.EACCES: "choose a place this user may write to",
    errno.EPERM: "choose a place this user may write to",
    errno.EROFS: "that file system is read-only: choose another place",
    errno.ENOENT: "check that the folder exists",
    errno.ENOTDIR: "a part of that path is a file, not a folder",
    errno.EEXIST: "a part of that path is a file, not a folder",
    errno.EISDIR: "that is a folder: give a file name",
    errno.ENOSPC: "the disk is full",
}


def _argument_for(path: str, args: argparse.Namespace | None) -> str | None:
    """The command-line argument that named ``path`` (or a folder holding it)."""
    if args is None:
        return None
    target = Path(path)
    for dest, value in vars(args).items():
        if not isinstance(value, str | Path) or dest in ("command", "func") or not str(value):
            continue
        given = Path(value)
        if given == target or given in target.parents or target in given.parents:
            return dest.upper() if dest == "file" else "--" + dest.replace("_", "-")
    return None


def file_problem(exc: OSError, args: argparse.Namespace | None) -> str:
    arg = _argument_for(str(exc.filename), args)
    what = f"{arg} {exc.filename}" if arg else str(exc.filename)
    hint = _FILE_HINTS.get(exc.errno or 0, "check the path")
    return f"{what}: {exc.strerror or exc} — {hint}"


def not_utf8(exc: UnicodeDecodeError, args: argparse.Namespace | None) -> str:
    from bot.catalogue.loader import not_utf8 as where_and_why

    line, why = where_and_why(exc)
    given = [getattr(args, a) for a in ("file", "catalogue") if getattr(args, a, None)]
    return f"{given[0]}:{line}: {why}" if given else f"line {line}: {why}"


def explain(
    exc: BaseException, args: argparse.Namespace | None, settings: Settings | None
) -> CliError | None:
    """The line (and exit code) for an exception that reached ``main``, or None."""
    if isinstance(exc, CliError):
        return exc
    if isinstance(exc, user_errors()):
        return CliError(str(exc))
    if isinstance(exc, UnicodeDecodeError):
        return CliError(not_utf8(exc, args))
    if isinstance(exc, OSError) and exc.filename:
        return CliError(file_problem(exc, args))
    line = database_problem(exc, settings)
    return CliError(line) if line else None


def _first_line(exc: BaseException | None) -> str:
    text = str(exc).strip() if exc is not None else ""
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]
