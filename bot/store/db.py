"""The database handle: one engine, and one session per unit of work.

Repositories receive the session and never commit; :meth:`Database.transaction`
commits once, when the unit of work succeeds, or rolls everything back.
"""

from __future__ import annotations

import asyncio
import logging
import re
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, ExceptionContext
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.domain import OutboxPriority


def _sqlite_file(url: str) -> Path | None:
    for prefix in ("sqlite+aiosqlite:///", "sqlite:///"):
        if url.startswith(prefix):
            rest = url[len(prefix) :].split("?", 1)[0]
            return Path(rest) if rest and rest != ":memory:" else None
    return None


def make_engine(url: str, *, schema: str | None = None, echo: bool = False) -> AsyncEngine:
    """An async engine; SQLite gets WAL, foreign keys and write-locking transactions."""
    # a pooled connection that died (the server restarted, an outage ended its backend) is
    # noticed and replaced before use, instead of failing the next unit of work
    # (a file has no server to lose: SQLite is not pinged, which saves every unit of work a
    # round trip to the driver's thread)
    kwargs: dict[str, Any] = {"echo": echo, "pool_pre_ping": not url.startswith("sqlite")}
    if url.startswith("sqlite"):
        path = _sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 60}
    elif schema:
        kwargs["connect_args"] = {"server_settings": {"search_path": schema}}
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _tune_sqlite(engine)
    return engine


#: SQLite's answers when the database file (or its write-ahead log) cannot be written now.
_SQLITE_UNWRITABLE = re.compile(r"readonly database|disk I/O error", re.I)


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # let SQLAlchemy (below) decide when a transaction begins
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.close()

    @event.listens_for(engine.sync_engine, "handle_error")
    def _on_error(context: ExceptionContext) -> None:
        # a connection opened while the file could not be written stays read-only for good
        # (SQLite falls back to read-only when it opens): dropped, and the pool with it, so
        # the next unit of work opens the file read-write again once it can be written
        if _SQLITE_UNWRITABLE.search(str(context.original_exception)):
            context.is_disconnect = True

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # take the write lock up front: a deferred transaction that reads and then
        # writes can fail with SQLITE_BUSY when another writer got there first
        conn.exec_driver_sql("BEGIN IMMEDIATE")


log = logging.getLogger(__name__)

#: The PostgreSQL channel a commit that queued messages notifies (``python -m bot dispatch``
#: and other processes on the same database listen to it).
OUTBOX_CHANNEL = "bot_outbox"
#: ``session.info``: the most urgent priority this unit of work queued
_OUTBOX_QUEUED = "outbox_queued"
#: The ``NOTIFY`` payload of a commit that queued only bulk rows; any other payload (an
#: interactive row, or none from an older process) is urgent.
_BULK_PAYLOAD = "bulk"
_INTERACTIVE_PAYLOAD = "interactive"

#: Called after a commit that queued messages, with the most urgent priority it queued.
OutboxListener = Callable[[OutboxPriority], None]


async def mark_outbox_queued(
    session: AsyncSession, priority: OutboxPriority = OutboxPriority.BULK
) -> None:
    """This unit of work queued a message of ``priority``: when it commits, wake the senders.

    In this process, :meth:`Database.transaction` calls the :meth:`Database.on_outbox_queued`
    callbacks after the commit with the most urgent priority queued; on PostgreSQL a
    ``NOTIFY`` (which the server delivers only at commit, and not at all on rollback)
    reaches the other processes, its payload saying which.  A sender wakes for either, but
    only an interactive row makes it give back the batch in hand (a press jumps the
    morning's reminders; more reminders just wait their turn)."""
    queued: OutboxPriority | None = session.info.get(_OUTBOX_QUEUED)
    if queued is not None and queued <= priority:
        return
    session.info[_OUTBOX_QUEUED] = priority
    if session.get_bind().dialect.name == "postgresql":
        payload = _BULK_PAYLOAD if priority == OutboxPriority.BULK else _INTERACTIVE_PAYLOAD
        await session.execute(text(f"NOTIFY {OUTBOX_CHANNEL}, '{payload}'"))


def _priority_of_payload(payload: str) -> OutboxPriority:
    return OutboxPriority.BULK if payload == _BULK_PAYLOAD else OutboxPriority.INTERACTIVE


#: SQLSTATE classes that say the server cannot serve this connection now: connection
#: exceptions, invalid authorization (a login refused), insufficient resources, operator
#: intervention (a terminated backend, a shutdown).
_UNAVAILABLE_SQLSTATES = ("08", "28", "53", "57")


def unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached or used *now* (worth retrying:
    the server is down, refuses the login, ended the connection, or SQLite is locked), as
    opposed to a mistake in what was asked."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout | OSError | TimeoutError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    for cause in (exc.orig, getattr(exc.orig, "__cause__", None)):
        state = getattr(cause, "sqlstate", None)
        if isinstance(state, str) and state[:2] in _UNAVAILABLE_SQLSTATES:
            return True
        if isinstance(cause, OSError | TimeoutError):
            return True
        if cause is not None and type(cause).__name__ in (
            "ConnectionDoesNotExistError",
            "InternalClientError",  # "cannot switch to state …": the connection broke mid-use
        ):
            return True
    return False


class Database:
    def __init__(self, url: str, *, schema: str | None = None, echo: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, schema=schema, echo=echo)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self._outbox_listeners: list[OutboxListener] = []
        # SQLite: this process's units of work, one at a time, first come first served
        self._turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self._holder: asyncio.Task[Any] | None = None

    def on_outbox_queued(self, callback: OutboxListener) -> Callable[[], None]:
        """Call ``callback`` after every commit that queued a message (with the most urgent
        priority it queued); returns its remover."""
        self._outbox_listeners.append(callback)

        def remove() -> None:
            if callback in self._outbox_listeners:
                self._outbox_listeners.remove(callback)

        return remove

    async def listen_outbox(
        self, callback: OutboxListener, on_lost: Callable[[], None] | None = None
    ) -> OutboxListening | None:
        """On PostgreSQL, call ``callback`` whenever any process commits a queued message,
        with its priority (``LISTEN``, on a connection of its own: close it to stop), and
        ``on_lost`` if that connection ends otherwise (the server restarted, an outage ended
        its backend: listen again).  None elsewhere."""
        if self.dialect != "postgresql":
            return None
        conn = await self.engine.connect()
        try:
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection  # asyncpg.Connection
            await driver.add_listener(
                OUTBOX_CHANNEL, lambda *args: callback(_priority_of_payload(str(args[-1])))
            )
        except BaseException:
            await conn.invalidate()
            raise
        listening = OutboxListening(conn, driver)
        if on_lost is not None:
            driver.add_termination_listener(lambda *_: listening.closing or on_lost())
        return listening

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        """SQLite: wait for this process's turn at the write lock in an asyncio queue.

        Every transaction takes SQLite's write lock at ``BEGIN IMMEDIATE``, so they run one
        at a time anyway; but a connection that finds the lock taken polls for it with
        growing sleeps (SQLite's busy handler), and a loop that commits and begins again at
        once — a national tick — keeps winning, so a press could wait for seconds.  Queued
        here, each waits only for the units of work ahead of it.  Other processes still
        meet at the lock itself.  A task already holding its turn is not queued again."""
        task = asyncio.current_task()
        if self.dialect != "sqlite" or task is None or self._holder is task:
            yield
            return
        loop = asyncio.get_running_loop()
        lock = self._turns.get(loop)
        if lock is None:
            lock = self._turns[loop] = asyncio.Lock()
        async with lock:
            self._holder = task
            try:
                yield
            finally:
                self._holder = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits on success, rolls back on any exception."""
        async with self._turn(), self.sessionmaker() as session:
            async with session.begin():
                yield session
            queued: OutboxPriority | None = session.info.pop(_OUTBOX_QUEUED, None)
            if queued is not None:
                for callback in list(self._outbox_listeners):
                    callback(queued)

    async def dispose(self) -> None:
        await self.engine.dispose()


class OutboxListening:
    """A ``LISTEN`` for queued messages (:meth:`Database.listen_outbox`) on its connection."""

    def __init__(self, conn: AsyncConnection, driver: Any) -> None:
        self._conn = conn
        self._driver = driver  # asyncpg.Connection
        self.closing = False

    @property
    def alive(self) -> bool:
        """False once its connection has ended (closed, or lost with its server)."""
        return not self.closing and not self._driver.is_closed()

    @property
    def server_pid(self) -> int:
        """The server process of its connection (``pg_stat_activity.pid``)."""
        return int(self._driver.get_server_pid())

    async def close(self) -> None:
        """Stop listening; a connection already lost is only let go of."""
        lost = not self.alive
        self.closing = True
        if lost:
            await self._conn.invalidate()
        else:
            await self._conn.close()


def insert_ignoring_conflicts(session: AsyncSession, model: Any, index_elements: list[str]) -> Any:
    """``INSERT … ON CONFLICT (index_elements) DO NOTHING`` for SQLite and PostgreSQL."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    ins = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    return ins(model).on_conflict_do_nothing(index_elements=index_elements)
