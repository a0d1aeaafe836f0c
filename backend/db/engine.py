"""Async engines for SQLite (WAL, foreign keys, immediate write transactions) and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def is_sqlite(url: str) -> bool:
    """Tell whether a database URL points at SQLite."""
    return make_url(url).get_backend_name() == "sqlite"


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


def _make_engine(url: str, *, pool_size: int, immediate: bool) -> AsyncEngine:
    """Create one engine; on SQLite, `immediate` makes every transaction take the write lock."""
    if not is_sqlite(url):
        return create_async_engine(
            url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=False
        )
    # SQLite connections are cheap; a request's loaders check out several at once.
    overflow = 0 if immediate else 2 * pool_size
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=overflow, pool_timeout=60)
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas())
    if immediate:
        # SQLite ignores SELECT ... FOR UPDATE: writers serialise by taking the write lock up front.
        event.listen(
            engine.sync_engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE")
        )
    # The reader emits no BEGIN: each read statement runs in its own implicit transaction.
    return engine


@dataclass
class Database:
    """The engines of one database: `writer` for units of work, `reader` for queries."""

    url: str
    writer: AsyncEngine
    reader: AsyncEngine

    def session_factory(self) -> async_sessionmaker[AsyncSession]:
        """Return a factory of write sessions that never expire objects on commit."""
        return async_sessionmaker(self.writer, class_=AsyncSession, expire_on_commit=False)

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()


def open_database(url: str, *, pool_size: int = 20) -> Database:
    """Open the engines for a URL; PostgreSQL shares one engine, SQLite gets a reader and a writer."""
    if not is_sqlite(url):
        engine = _make_engine(url, pool_size=pool_size, immediate=False)
        return Database(url=url, writer=engine, reader=engine)
    writer = _make_engine(url, pool_size=max(2, pool_size // 2), immediate=True)
    reader = _make_engine(url, pool_size=pool_size, immediate=False)
    return Database(url=url, writer=writer, reader=reader)
