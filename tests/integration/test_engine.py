"""Pool sizes: SQLite queues units of work at one writer connection, PostgreSQL takes the setting."""

from __future__ import annotations

import shutil
import threading

from sqlalchemy import text

from backend.db.engine import Pools, open_database


async def test_sqlite_has_one_writer_connection_whatever_the_setting(database):
    db = open_database(database.url, Pools(readers=3, writers=4))
    try:
        expected = 1 if database.writer.dialect.name == "sqlite" else 4
        assert (db.writer.pool.size(), db.reader.pool.size()) == (expected, 3)
    finally:
        await db.dispose()


async def test_sqlite_writes_wait_on_a_thread_only_for_the_lock_and_the_commit(
    tmp_path, sqlite_template
):
    # aiosqlite is SQLite's driver alone: a SQLite database whatever the suite's backends
    shutil.copy(sqlite_template, tmp_path / "rewards.db")
    database = open_database(f"sqlite+aiosqlite:///{tmp_path / 'rewards.db'}")
    loop_thread, ran = threading.get_ident(), []
    try:
        async with database.writer.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            trace = lambda sql: ran.append((sql.split()[0], threading.get_ident() == loop_thread))  # noqa: E731
            await raw.set_trace_callback(trace)
            async with conn.begin():
                await conn.execute(text("SELECT count(*) FROM member"))
            await raw.set_trace_callback(None)
    finally:
        await database.dispose()
    # BEGIN IMMEDIATE may wait for another process's write lock, COMMIT for a WAL checkpoint
    assert ran == [("BEGIN", False), ("SELECT", True), ("COMMIT", False)]
