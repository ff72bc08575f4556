"""Database outages for the reliability tests, affecting only the bot under test.

PostgreSQL: :class:`BotRole` is a login role made for one test; the bot process connects as
it, to the test's own schema.  :meth:`BotRole.outage` makes the server refuse that role for a
while: ``ALTER ROLE … NOLOGIN`` blocks its new connections and ``pg_terminate_backend`` ends
the ones it has; then ``LOGIN`` again.  Other roles (the test itself, other tests) are not
touched.  The role is dropped afterwards.

SQLite: :func:`hold_write_lock` takes the database's write lock from another connection
(``BEGIN IMMEDIATE``) and keeps it for a while, as a long-running writer would;
:func:`read_only` makes the database file unwritable for a while, as a full disk, a remount
or a wrong ``chmod`` would.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.store.db import Database
from tests.support.db import POSTGRES_URL


def _admin() -> Database:
    return Database(POSTGRES_URL)


@dataclass
class BotRole:
    """A PostgreSQL role of the bot's own, with the rights it needs on ``schema``."""

    name: str
    schema: str

    @property
    def url(self) -> str:
        return make_url(POSTGRES_URL).set(username=self.name).render_as_string(hide_password=False)

    @classmethod
    async def create(cls, schema: str) -> BotRole:
        role = cls(f"bot_{uuid.uuid4().hex[:10]}", schema)
        admin = _admin()
        try:
            async with admin.engine.begin() as conn:
                for sql in (
                    f'CREATE ROLE "{role.name}" LOGIN',
                    f'GRANT ALL ON SCHEMA "{schema}" TO "{role.name}"',
                    f'GRANT ALL ON ALL TABLES IN SCHEMA "{schema}" TO "{role.name}"',
                    f'GRANT ALL ON ALL SEQUENCES IN SCHEMA "{schema}" TO "{role.name}"',
                ):
                    await conn.execute(text(sql))
        finally:
            await admin.dispose()
        return role

    async def _run(self, *sqls: str) -> list[list[Any]]:
        admin = _admin()
        out: list[list[Any]] = []
        try:
            async with admin.engine.begin() as conn:
                for sql in sqls:
                    result = await conn.execute(text(sql), {"role": self.name})
                    out.append(list(result.all()) if result.returns_rows else [])
        finally:
            await admin.dispose()
        return out

    async def backends(self) -> int:
        """How many server connections the role has now."""
        [rows] = await self._run("SELECT count(*) FROM pg_stat_activity WHERE usename = :role")
        return int(rows[0][0])

    async def terminate(self) -> int:
        """End the role's server connections now, as an administrator or a failover would
        (new ones are admitted at once); returns how many were ended."""
        [rows] = await self._run(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))"
            " FROM pg_stat_activity WHERE usename = :role"
        )
        return int(rows[0][0])

    async def refuse(self) -> None:
        """From now on the server refuses the role, and its open connections are ended."""
        await self._run(
            f'ALTER ROLE "{self.name}" NOLOGIN',
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :role",
        )

    async def admit(self) -> None:
        await self._run(f'ALTER ROLE "{self.name}" LOGIN')

    @contextlib.asynccontextmanager
    async def outage(self) -> AsyncIterator[BotRole]:
        """Refused inside the block, admitted again after it."""
        await self.refuse()
        try:
            yield self
        finally:
            await self.admit()

    async def drop(self) -> None:
        """Drop the role (its schema rights with it); ends its connections first."""
        await self._run(
            f'ALTER ROLE "{self.name}" NOLOGIN',
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :role",
            f'DROP OWNED BY "{self.name}"',
            f'DROP ROLE "{self.name}"',
        )


@contextlib.contextmanager
def hold_write_lock(path: Path, seconds: float) -> Iterator[threading.Event]:
    """Take SQLite's write lock on ``path`` in a thread and hold it for ``seconds``.

    Yields an event set once the lock is held; the block's end waits until it is released."""
    held = threading.Event()
    errors: list[BaseException] = []

    def hold() -> None:
        try:
            conn = sqlite3.connect(path, timeout=30, isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE")
                held.set()
                time.sleep(seconds)  # the other writer's long transaction
                conn.execute("ROLLBACK")
            finally:
                conn.close()
        except BaseException as exc:  # surfaced in the test's thread
            errors.append(exc)
            held.set()

    thread = threading.Thread(target=hold, name="sqlite-writer", daemon=True)
    thread.start()
    held.wait(30)
    try:
        if errors:
            raise errors[0]
        yield held
    finally:
        thread.join(seconds + 30)
        if errors:
            raise errors[0]


def can_make_read_only() -> bool:
    """Whether :func:`read_only` can work here: as root (whom ``chmod`` does not stop) it
    needs ``chattr``; otherwise ``chmod`` does."""
    return os.geteuid() != 0 or shutil.which("chattr") is not None


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """The SQLite database ``path`` (and its write-ahead log) cannot be written inside the
    block: connections opened meanwhile open it read-only, open ones fail their writes.

    As root, the files are made immutable (``chattr +i``: ``chmod`` does not stop root);
    otherwise they lose their write permission.  The shared-memory file (``-shm``) is left
    alone: SQLite maps it, and an immutable mapping kills the process (SIGBUS), which is not
    the fault under test.  Always undone on leaving the block."""
    files = [p for p in (path, path.with_name(path.name + "-wal")) if p.exists()]
    root = os.geteuid() == 0
    modes = {p: p.stat().st_mode for p in files}
    try:
        for p in files:
            if root:
                subprocess.run(["chattr", "+i", str(p)], check=True)
            else:
                p.chmod(0o444)
        yield
    finally:
        for p in files:
            if root:
                subprocess.run(["chattr", "-i", str(p)], check=False)
            else:
                p.chmod(modes[p])
