"""Async engines for SQLite (WAL, foreign keys, immediate write transactions) and PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import aiosqlite
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.dialects.sqlite.aiosqlite import dialect as aiosqlite_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import greenlet_spawn

T = TypeVar("T")


def is_sqlite(url: str) -> bool:
    """Tell whether a database URL points at SQLite."""
    return make_url(url).get_backend_name() == "sqlite"


@dataclass(frozen=True)
class Pools:
    """Connections per process: readers serve queries, writers the units of work; no overflow."""

    readers: int = 10
    writers: int = 5
    timeout: float = 10.0  # seconds a checkout may wait before it fails


DEFAULT_POOLS = Pools()


def _sqlite_pragmas() -> Any:
    """Build a connect hook that sets WAL, foreign keys and a busy timeout on each connection."""

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the writer emits BEGIN IMMEDIATE itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return on_connect


# sqlite3 calls that may wait: for the write lock (a statement outside a transaction, such as the
# writer's `BEGIN IMMEDIATE`) or for the disk (a commit may checkpoint the WAL), or that end the
# connection.
_MAY_WAIT = frozenset({"execute", "executemany", "executescript"})


class _WriterConnection(aiosqlite.Connection):
    """aiosqlite for the SQLite writer: inside a write transaction, calls run on the loop's thread.

    aiosqlite hands every call (cursor, execute, fetch, close: about four per statement) to its
    thread and back. Once `BEGIN IMMEDIATE` holds the write lock, nothing in the transaction waits
    for another connection (WAL: readers never block the writer), so those calls run in place;
    the BEGIN itself, the COMMIT and anything outside a transaction still go to the thread.
    """

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run `fn` in place when it cannot wait, else on aiosqlite's thread."""
        connection = self._connection
        if connection is not None and self._running and not _may_wait(connection, fn):
            return fn(*args, **kwargs)
        return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]


def _may_wait(connection: sqlite3.Connection, fn: Any) -> bool:
    """Tell whether a sqlite3 call may wait for a lock or the disk, or ends the connection."""
    name = getattr(fn, "__name__", "")
    if name in _MAY_WAIT:
        return not connection.in_transaction
    if getattr(fn, "__self__", None) is connection:  # commit, close, create_function, ...
        return name not in ("cursor", "rollback")
    return False  # a cursor's fetch or close


def _writer_connector(url: str) -> Callable[[], Any]:
    """The async creator of the SQLite writer's connections (the URL's own connect arguments)."""
    args, options = aiosqlite_dialect().create_connect_args(make_url(url))
    database, kwargs = str(args[0]), dict[str, Any](options)
    kwargs["check_same_thread"] = False  # made on aiosqlite's thread, used on the loop's too

    async def connect() -> aiosqlite.Connection:
        connection = _WriterConnection(lambda: sqlite3.connect(database, **kwargs), 64)
        connection._thread.daemon = True  # as SQLAlchemy's aiosqlite dialect does
        return await connection

    return connect


def _make_engine(url: str, *, size: int, timeout: float, writer: bool) -> AsyncEngine:
    """Create one engine of exactly `size` pooled connections."""
    options: dict[str, Any] = {"pool_size": size, "max_overflow": 0, "pool_timeout": timeout}
    if not is_sqlite(url):
        if not writer:
            # A read is one statement or a few independent ones, and reads borrow connections
            # often: no BEGIN/ROLLBACK round trips.
            options["isolation_level"] = "AUTOCOMMIT"
        return create_async_engine(url, **options)
    if not writer:
        # The reader emits no BEGIN (each statement runs in its own implicit transaction) and
        # never writes, so there is nothing to roll back when a connection goes back to the pool:
        # skipping the reset saves aiosqlite a thread hand-off per checkout.
        options["pool_reset_on_return"] = None
    if writer:
        # SQLite lets one connection write at a time. Extra writers would wait for the lock in
        # SQLite's busy handler, sleeping with back-off and overtaking each other (p99 of
        # recordPurchase at 16 connections: 1.9 s with 5 writers, 0.35 s with 1); one connection
        # makes units of work queue at the pool, in order.
        options["pool_size"] = 1
        options["async_creator"] = _writer_connector(url)
    engine = create_async_engine(url, **options)
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas())
    if writer:
        # SQLite ignores SELECT ... FOR UPDATE: writers serialise by taking the write lock up front.
        event.listen(
            engine.sync_engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE")
        )
    return engine


def _sqlite_batch_reader(url: str, *, timeout: float) -> Engine:
    """A synchronous pysqlite connection for batches of reads run on the event loop's thread."""
    engine = create_engine(
        make_url(url).set(drivername="sqlite+pysqlite"),
        pool_size=1,  # batches run one at a time, each to its end: one connection serves them
        max_overflow=0,
        pool_timeout=timeout,
        pool_reset_on_return=None,  # autocommit reads: no transaction is ever left open
        connect_args={"check_same_thread": False},  # on whichever thread runs the loop
    )
    event.listen(engine, "connect", _sqlite_pragmas())
    return engine


def _read_on(engine: Engine, reads: Callable[[Connection], T]) -> T:
    """Run `reads` on a connection of `engine`'s pool, given back at once."""
    with engine.connect() as conn:
        return reads(conn)


@dataclass
class Database:
    """The engines of one database: `writer` for units of work, `reader` for queries.

    `read()` runs a batch of synchronous Core reads on one reader connection. On SQLite that
    is `batch_reader`'s pysqlite connection, used in place on the event loop's thread: a batch
    is a few indexed lookups (tens of microseconds each, and in WAL mode a reader never waits
    for the writer), cheaper than a hand-off to a worker thread and back (a wake-up each way
    and the GIL passed twice: the dashboard's instructions −4.7 %, and no reader thread
    competing with the loop for the GIL). Longer reads (segment previews, reports) borrow
    `reader`, aiosqlite's threads. On PostgreSQL `read()` takes the `reader` pool's sync side in
    one greenlet for the checkout, the batch and the return (`AsyncConnection` would start one
    for each, and one per statement without a batch).
    """

    url: str
    writer: AsyncEngine
    reader: AsyncEngine
    batch_reader: Engine | None = None

    def session_factory(self) -> async_sessionmaker[AsyncSession]:
        """Return a factory of write sessions that never expire objects on commit."""
        return async_sessionmaker(self.writer, class_=AsyncSession, expire_on_commit=False)

    async def read(self, reads: Callable[[Connection], T]) -> T:
        """Run `reads` on one borrowed reader connection and give it back at once.

        `reads` is synchronous, so it cannot wait for anything else while it holds the
        connection: a burst can never leave every connection held by a waiter.
        """
        if self.batch_reader is None:
            return await greenlet_spawn(_read_on, self.reader.sync_engine, reads)
        return _read_on(self.batch_reader, reads)

    @property
    def engines(self) -> tuple[Engine, ...]:
        """Every synchronous engine statements go through (for event listeners)."""
        extra = (self.batch_reader,) if self.batch_reader is not None else ()
        return (self.writer.sync_engine, self.reader.sync_engine, *extra)

    def read_connections_out(self) -> int:
        """How many reader connections are borrowed right now, in either reader pool."""
        pools = [self.reader.sync_engine.pool, *(e.pool for e in self.engines[2:])]
        return sum(pool.checkedout() for pool in pools)  # type: ignore[attr-defined]

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.writer.dispose()
        await self.reader.dispose()
        if self.batch_reader is not None:
            self.batch_reader.dispose()


def open_database(url: str, pools: Pools = DEFAULT_POOLS) -> Database:
    """Open a writers' pool and a readers' pool on a URL, so reads never starve units of work.

    SQLite also gets one pysqlite connection for `read()`'s batches, which run one at a time.
    """
    database = Database(
        url=url,
        writer=_make_engine(url, size=pools.writers, timeout=pools.timeout, writer=True),
        reader=_make_engine(url, size=pools.readers, timeout=pools.timeout, writer=False),
    )
    if is_sqlite(url):
        database.batch_reader = _sqlite_batch_reader(url, timeout=pools.timeout)
    return database
