"""``python -m bot backup --out FILE``: a consistent copy of the embedded SQLite database,
made with SQLite's online backup API, so the bot may keep running meanwhile.

The copy is one self-contained file (not in WAL mode), checked with ``integrity_check``;
it is written next to FILE and renamed over it only when complete.  PostgreSQL has its
own tool for this, ``pg_dump`` (README, Operations).
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path


class BackupError(ValueError):
    pass


@dataclass(frozen=True)
class Backup:
    path: Path
    bytes: int
    revision: str | None

    def __str__(self) -> str:
        return f"{self.path}: {self.bytes:,} bytes, schema revision {self.revision or 'none'}"


def backup_sqlite(source: Path, target: Path) -> Backup:
    if not source.is_file():
        raise BackupError(f"there is no database at {source} to back up")
    if target.exists() and target.resolve() == source.resolve():
        raise BackupError(f"--out {target} is the database itself: give another file")
    if target.is_dir():
        raise IsADirectoryError(21, "Is a directory", str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(f".{target.name}.part")
    try:
        part.unlink(missing_ok=True)
        part.touch()
    except OSError as exc:  # name the file asked for, not the temporary one
        raise OSError(exc.errno, exc.strerror, str(target)) from None
    try:
        with (
            closing(sqlite3.connect(source, timeout=60)) as src,
            closing(sqlite3.connect(part)) as dst,
        ):
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")  # one file, whatever the source's mode
            (check,) = dst.execute("PRAGMA integrity_check").fetchone()
            if check != "ok":
                raise BackupError(f"the copy failed its integrity check: {check}")
            revision = _revision(dst)
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)
    return Backup(target, target.stat().st_size, revision)


def _revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    return None if row is None else str(row[0])
