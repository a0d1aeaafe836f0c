"""Pool sizes: SQLite queues units of work at one writer connection, PostgreSQL takes the setting."""

from __future__ import annotations

from backend.db.engine import Pools, open_database


async def test_sqlite_has_one_writer_connection_whatever_the_setting(database):
    db = open_database(database.url, Pools(readers=3, writers=4))
    try:
        expected = 1 if database.writer.dialect.name == "sqlite" else 4
        assert (db.writer.pool.size(), db.reader.pool.size()) == (expected, 3)
    finally:
        await db.dispose()
